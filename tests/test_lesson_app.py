"""Lessons in the app (AppTest): every step of every built-in lesson opens on its page, a
teacher's folder and an upload appear as written, answers stay, a locked link locks the
dataset, a class code is kept, Home offers lessons."""

from __future__ import annotations

import pytest
from helpers import APP, TIMEOUT_S
from streamlit.testing.v1 import AppTest
from test_lesson_files import GOOD

from cnn.lessons import load_library
from ui import lesson as lesson_ui
from ui import lesson_questions

CARD_TITLE = '<h2 class="card-title">A small lesson</h2>'  # a lesson card's title (an h2)


def open_link(params: dict[str, str]) -> AppTest:
    """A fresh session opened on a link."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update(params)
    return at.run()


def shown_text(at: AppTest) -> str:
    """Every Markdown text and expander label on the page (a step's title is its label)."""
    return " ".join([m.value for m in at.markdown] + [e.label for e in at.expander])


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


@pytest.mark.parametrize("key", sorted(load_library().lessons))
def test_every_step_of_a_built_in_lesson_opens_with_its_title(offline, key):
    plan = load_library().lessons[key]
    at = open_link({"lesson": key, "step": "1"})
    for number, step in enumerate(plan.steps, start=1):
        assert not at.exception, (key, number, at.exception)
        shown = shown_text(at)
        assert f"step {number} of {len(plan.steps)}" in shown, (key, number)
        assert f"{number}. {step.title}" in shown, (key, number)
        assert at.session_state[lesson_ui.RUNNING] == (key, number - 1)
        if step.question is not None:
            assert step.question.text.split("\n")[0][:40] in shown
        if number < len(plan.steps):
            at = click(at, "Next")
    at = click(at, "Done")
    assert lesson_ui.RUNNING not in at.session_state and "lesson" not in at.query_params


def test_a_step_link_opens_its_page_with_the_steps_setup(offline):
    at = open_link({"lesson": "pooling-and-shift", "step": "4"})
    assert not at.exception and not at.warning
    assert at.query_params["lesson"] == "pooling-and-shift" and at.query_params["step"] == "4"
    assert at.query_params["arch"] == "single_conv" and "spec" in at.query_params
    arch = next(s for s in at.selectbox if s.label == "Architecture")
    assert arch.value == "single_conv"
    assert any("Custom" in c.value for c in at.caption)  # the edited net: no pooling


def test_a_bad_lesson_link_is_a_sentence(offline):
    at = open_link({"lesson": "no-such-lesson", "step": "2"})
    assert not at.exception
    assert any("lesson no-such-lesson is not on this server" in w.value for w in at.warning)
    at = open_link({"lesson": "how-sure", "step": "40"})
    assert any("step=40 was ignored: How sure is it? has 4 steps" in w.value for w in at.warning)
    assert "step 1 of 4" in shown_text(at)


def test_a_teachers_lesson_appears_with_its_steps_and_choices(offline, monkeypatch, tmp_path):
    (tmp_path / "small.md").write_text(GOOD)
    monkeypatch.setenv("CNN_LESSONS_DIR", str(tmp_path))
    at = open_link({"page": "lessons"})
    assert not at.exception
    shown = shown_text(at)
    assert CARD_TITLE in shown and "1. Train" in shown and "2. Measure" in shown
    start = [b for b in at.button if b.label == "Start" and b.key.endswith("-small")]
    at = start[0].click().run()
    assert not at.exception and "1. Train" in shown_text(at)
    answer = next(r for r in at.radio if r.label == "Your answer")
    assert answer.options == ["3", "9"]
    answer.set_value(1).run()
    at = click(at, "Check my answer")
    assert any(s.value == "Right: 9" for s in at.success)
    assert "Nine: three rows of three." in shown_text(at)
    kept = at.session_state[lesson_questions.ANSWERS]["small/0"]
    assert kept.choice == 1
    at = click(at, "Next")
    at = click(at, "Back")  # the answer stays
    assert any(s.value == "Right: 9" for s in at.success) and not [
        r for r in at.radio if r.label == "Your answer"
    ]


def test_an_uploaded_lesson_is_offered_in_this_session_only(offline):
    at = open_link({"page": "lessons"})
    at.file_uploader(key="lesson-upload").set_value(("Mine.md", GOOD.encode(), "text/markdown"))
    at.run()
    assert any("for this session only" in s.value for s in at.success)
    assert CARD_TITLE in shown_text(at)
    other = open_link({"page": "lessons"})
    assert CARD_TITLE not in shown_text(other)
    bad = GOOD.replace("level: beginner", "level: guru").encode()
    at.file_uploader(key="lesson-upload").set_value(("bad.md", bad, "text/markdown"))
    at.run()
    assert any(e.value.startswith("bad.md: Line 4: level = 'guru'") for e in at.error)


def test_a_locked_link_leaves_no_dataset_picker_a_student_can_change(offline):
    for link in ({"page": "train", "lock": "1"},
                 {"page": "data", "lock": "1"},
                 {"lesson": "overfitting", "step": "1", "lock": "1"}):  # fmt: skip
        at = open_link(link)
        assert not at.exception
        pickers = [s for s in at.selectbox if s.label == "Dataset"]
        assert pickers and all(p.disabled for p in pickers), link
    at = open_link({"page": "train"})
    assert not next(s for s in at.selectbox if s.label == "Dataset").disabled


def test_a_step_that_locks_locks_its_page_only(offline, monkeypatch, tmp_path):
    locking = GOOD.replace("epochs=2", "epochs=2&lock=1").replace(
        "## Measure", "## Measure\n\n?page=train&dataset=fashion_mnist"
    )
    (tmp_path / "locking.md").write_text(locking)
    monkeypatch.setenv("CNN_LESSONS_DIR", str(tmp_path))
    at = open_link({"lesson": "locking", "step": "1"})
    assert next(s for s in at.selectbox if s.label == "Dataset").disabled
    at = click(at, "Next")
    picker = next(s for s in at.selectbox if s.label == "Dataset")
    assert not picker.disabled and picker.value.key == "fashion_mnist"


def test_a_class_code_in_a_link_is_kept_for_the_class_page(offline):
    at = open_link({"page": "home", "class": "7KQ2"})
    assert not at.exception and at.session_state[lesson_ui.CLASS_CODE] == "7KQ2"
    at = open_link({"class": "<script>"})
    assert lesson_ui.CLASS_CODE not in at.session_state
    assert any("class=<script> was ignored" in w.value for w in at.warning)


def test_home_opens_with_start_a_lesson(offline):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert at.header[0].value == "Start a lesson"
    at = next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception and "step 1 of" in shown_text(at)


def test_the_presenter_shows_the_step_large_with_the_link_for_every_student(offline):
    at = open_link({"lesson": "pooling-and-shift", "step": "3", "present": "1"})
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception
    assert at.title[0].value == "3. Move your digit"
    link = next(c.value for c in at.code if "lesson=pooling-and-shift" in c.value)
    assert link == "?lesson=pooling-and-shift&step=3"  # AppTest's browser says no address
