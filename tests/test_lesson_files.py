"""Lesson files: the built-in lessons, the format's sentences for mistakes, the CLI, a teacher's
folder (CNN_LESSONS_DIR), and the address a shared link uses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnn import lesson as links
from cnn.lessons import LessonFileError, load_library, parse_lesson, parse_upload
from cnn.lessons import address as addresses
from cnn.lessons.library import BUILT_IN_DIR
from conftest import REPO

GOOD = """---
title: A small lesson
minutes: 15
level: beginner
summary: Two steps.
---

## Train

?page=train&dataset=mnist&arch=single_conv&epochs=2

Press Start.

> Question: How many weights has a 3 x 3 filter?
> - [ ] 3
> - [x] 9
> Nine: three rows of three.

## Measure

> Question: How many pixels wide is the first layer's feature map?
>
> 28 - 3 + 1.

reveal: feature_map_size
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cnn", *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def test_the_cli_lists_six_lessons_of_four_steps_three_measured_on_the_run():
    done = cli("lessons", "--json")
    assert done.returncode == 0, done.stderr
    plans = json.loads(done.stdout)
    assert len(plans) >= 6
    assert all(len(p["steps"]) >= 4 and 15 <= p["minutes"] <= 25 for p in plans)
    measured = [p for p in plans if any(s["reveal"] for s in p["steps"])]
    assert len(measured) >= 3
    for step in (s for p in plans for s in p["steps"]):
        assert set(step) == {"title", "page", "question", "choices", "answer", "reveal"}
        if step["choices"]:
            assert 0 <= step["answer"] < len(step["choices"])
        else:
            assert step["answer"] is None
    reveals = {s["reveal"] for p in plans for s in p["steps"]} - {None}
    assert {"shift_flip", "test_accuracy", "receptive_field"} <= reveals
    assert {p["key"] for p in plans} == {p.stem for p in BUILT_IN_DIR.glob("*.md")}


def test_a_good_file_reads_as_written():
    plan = parse_lesson(GOOD, "small")
    first, second = plan.steps
    assert (plan.title, plan.minutes, plan.level) == ("A small lesson", 15, "beginner")
    assert first.page == "train" and first.setup.arch == "single_conv"
    assert first.setup.settings == {"epochs": 2}
    assert first.text == "Press Start."
    assert first.question.choices == ["3", "9"] and first.question.answer == 1
    assert first.question.explanation == "Nine: three rows of three."
    assert second.page is None and second.question.reveal == "feature_map_size"
    assert second.question.choices == [] and second.question.explanation == "28 - 3 + 1."


MISTAKES = [
    ("title: x", "", 1, "front matter between two '---' lines"),
    ("title: A small lesson\n", "", 5, "the front matter has no 'title'"),
    ("minutes: 15", "minutes: soon", 3, "minutes = 'soon' must be a whole number"),
    ("level: beginner", "level: expert", 4, "level = 'expert' must be one of"),
    ("level: beginner", "level: beginner\nauthor: me", 5, "'author' is not a front-matter"),
    ("epochs=2", "epochs=5000", 10, "Epochs (epochs) = 5000 is out of range"),
    ("?page=train", "?page=nowhere", 10, "page=nowhere was ignored"),
    ("> - [ ] 3", "> - [x] 3", 16, "mark exactly one choice right"),
    ("> - [ ] 3\n> - [x] 9", "> - [x] 9", 14, "at least two choices"),
    ("> - [ ] 3", "- [ ] 3", 15, "must be inside the question's blockquote"),
    ("reveal: feature_map_size", "reveal: magic", 25, "reveal: magic is not one CNN Lab"),
    ("> Question: How many pixels", "How many pixels", 25, "a reveal needs a question"),
    ("## Measure", "## ", 19, "needs a title"),
]


@pytest.mark.parametrize(("old", "new", "line", "words"), MISTAKES)
def test_a_mistake_is_one_sentence_naming_its_line(old, new, line, words):
    text = GOOD.replace(old, new, 1) if old != "title: x" else GOOD.replace("---\n", "", 1)
    with pytest.raises(LessonFileError) as caught:
        parse_lesson(text, "small")
    message = str(caught.value)
    assert message.startswith(f"Line {line}: ") and words in message, message
    assert message.count(". ") <= 2 and "\n" not in message


def test_a_file_without_steps_or_text_is_refused():
    with pytest.raises(LessonFileError, match="no steps"):
        parse_lesson(GOOD.split("## Train")[0], "small")
    with pytest.raises(LessonFileError, match="not a text file"):
        parse_upload("x.md", b"\xff\xfe\x00")


def test_a_teachers_folder_adds_its_lessons_and_a_bad_file_leaves_the_others(tmp_path):
    (tmp_path / "Shapes Lesson.md").write_text(GOOD)
    (tmp_path / "broken.md").write_text(GOOD.replace("reveal: feature_map_size", "reveal: x"))
    done = cli("lessons", "--json", env={"CNN_LESSONS_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: broken.md: Line 25: reveal: x is not one CNN Lab can measure: use one of "
        "test_accuracy, overfit_gap, receptive_field, feature_map_size, parameters, "
        "shift_flip, attack_steps, confidence."
    )
    plans = {p["key"]: p for p in json.loads(done.stdout)}
    assert len(plans) == len(list(BUILT_IN_DIR.glob("*.md"))) + 1
    mine = plans["shapes-lesson"]
    assert mine["source"] == "your folder" and [s["title"] for s in mine["steps"]] == [
        "Train", "Measure"
    ]  # fmt: skip
    assert mine["steps"][0]["choices"] == ["3", "9"] and mine["steps"][0]["answer"] == 1


def test_lessons_check_says_good_or_the_sentence(tmp_path):
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("minutes: 15", "minutes: 0"))
    done = cli("lessons", "check", str(good))
    assert done.returncode == 0 and "good.md is a good lesson" in done.stdout
    done = cli("lessons", "check", str(bad))
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip() == (
        "error: bad.md: Line 3: minutes = 0 must be a whole number from 1 to 180."
    )
    assert cli("lessons", "check", str(tmp_path / "none.md")).returncode != 0


def test_the_complete_example_in_the_docs_is_a_good_lesson():
    text = (REPO / "docs" / "LESSONS.md").read_text(encoding="utf-8")
    example = re.search(r"```markdown\n(.*?)```", text, re.S).group(1)
    plan = parse_lesson(example, "example")
    assert len(plan.steps) >= 3 and any(s.question and s.question.reveal for s in plan.steps)


def test_a_missing_teachers_folder_is_a_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_LESSONS_DIR", str(tmp_path / "nowhere"))
    library = load_library()
    assert library.lessons and library.problems == [
        f"The lessons folder {tmp_path / 'nowhere'} (CNN_LESSONS_DIR) does not exist or is "
        "not a folder."
    ]


def test_a_link_opens_a_lesson_step_and_a_class_and_refuses_bad_ones():
    read = links.parse({"lesson": "pooling-and-shift", "step": "3", "class": "7KQ2", "lock": "1"})
    assert (read.lesson_key, read.step, read.class_code, read.problems) == (
        "pooling-and-shift", 3, "7KQ2", []
    )  # fmt: skip
    assert links.parse(links.encode(read)) == read
    bad = links.parse({"lesson": "../etc", "step": "0", "class": "drop table;"})
    assert (bad.lesson_key, bad.step, bad.class_code) == (None, None, None)
    assert bad.problems == [
        "The link's lesson=../etc was ignored: it must be a lesson's key (lower-case letters, "
        "digits and dashes).",
        "The link's step=0 was ignored: it must be a step number from 1 to 999.",
        "The link's class=drop table; was ignored: it must be a class code of 2 to 16 letters "
        "or digits.",
    ]


def test_a_shared_link_never_points_at_localhost(monkeypatch):
    keep = addresses.share_base("http://10.1.2.3:8501/train", None, 8501)
    assert keep == addresses.ShareBase("http://10.1.2.3:8501", None)
    told = addresses.share_base("http://localhost:8501/train", "lab.school.example", 80)
    assert told.base == "http://lab.school.example" and "browser.serverAddress" in told.note
    lan = addresses.lan_address()
    found = addresses.share_base("http://127.0.0.1:8611/train", "localhost", 8611)
    if lan is None:
        assert found.base is None and "no address on a network" in found.note
    else:
        assert not lan.startswith("127.") and found.base == f"http://{lan}:8611"
        assert lan in found.note and "local network" in found.note
    monkeypatch.setattr(addresses, "lan_address", lambda: None)  # a computer on no network
    alone = addresses.share_base("http://localhost:8611/", None, 8611)
    assert alone.base is None and "only this computer can open" in alone.note


def test_every_built_in_step_sets_up_a_known_page():
    for path in BUILT_IN_DIR.glob("*.md"):
        plan = parse_lesson(path.read_text(encoding="utf-8"), path.stem)
        pages = [s.page for s in plan.steps if s.page]
        assert pages and set(pages) <= set(links.PAGES), path.name
        assert Path(path).stem == plan.key
