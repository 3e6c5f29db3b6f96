"""Translated lessons (issue 32): every built-in lesson has a Chinese and a Spanish file with the
same steps, links, reveals, choices and answers as its English file, so translations cannot
drift; the library reads the session's language and falls back to English, saying so; a link
with lang=zh opens the Chinese lesson in the app."""

from __future__ import annotations

import html
import re

import pytest
from helpers import APP, TIMEOUT_S
from streamlit.testing.v1 import AppTest
from test_lesson_files import GOOD

from cnn import i18n
from cnn.lessons import load_library, read_lesson_file
from cnn.lessons.library import BUILT_IN_DIR

KEYS = sorted(p.stem for p in BUILT_IN_DIR.glob("*.md"))
TRANSLATED = ("zh", "es")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _words(plan) -> list[str]:
    """Every text a student reads of a lesson: title, summary, steps' titles, texts, questions,
    choices and explanations."""
    texts = [plan.title, plan.summary]
    for step in plan.steps:
        texts += [step.title, step.text]
        if step.question is not None:
            q = step.question
            texts += [q.text, q.explanation, *q.choices]
    return [t for t in texts if t]


@pytest.mark.parametrize("code", TRANSLATED)
@pytest.mark.parametrize("key", KEYS)
def test_each_translation_keeps_its_english_files_steps_setups_and_answers(key, code):
    english = read_lesson_file(BUILT_IN_DIR / f"{key}.md")
    path = BUILT_IN_DIR / code / f"{key}.md"
    assert path.is_file(), f"{path} is missing"
    translated = read_lesson_file(path)
    assert translated.key == english.key
    assert (translated.minutes, translated.level) == (english.minutes, english.level)
    assert len(translated.steps) == len(english.steps)
    for number, (mine, theirs) in enumerate(zip(translated.steps, english.steps, strict=True)):
        where = (key, code, number + 1)
        assert mine.query == theirs.query, where  # the same setup, character for character
        assert mine.page == theirs.page, where
        assert (mine.question is None) == (theirs.question is None), where
        if theirs.question is None:
            continue
        q, e = mine.question, theirs.question
        assert (q.reveal, q.answer, len(q.choices)) == (e.reveal, e.answer, len(e.choices)), where
        if e.explanation:
            assert q.explanation, where
    # written in its language: no English sentence copied over, Chinese in Chinese
    english_words = set(_words(english))
    for text in _words(translated):
        if len(text) > 20:
            assert text not in english_words, (key, code, text)
        if code == "zh" and len(text) > 8:  # not a choice such as "-0.7"
            assert CJK.search(text), (key, code, text)


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_library_reads_the_language_asked_for_in_the_same_order(code):
    english, translated = load_library("en"), load_library(code)
    assert list(translated.lessons) == list(english.lessons)
    assert translated.untranslated == [] and translated.problems == []
    for key, plan in translated.lessons.items():
        assert plan.title == read_lesson_file(BUILT_IN_DIR / code / f"{key}.md").title
        assert plan.title != english.lessons[key].title


def test_a_missing_translation_is_english_and_a_drifted_one_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_LESSONS_DIR", str(tmp_path))
    (tmp_path / "shapes.md").write_text(GOOD)
    (tmp_path / "two.md").write_text(GOOD)
    (tmp_path / "zh").mkdir()
    drifted = GOOD.replace("- [ ] 3\n", "- [ ] 3\n> - [ ] 27\n").replace("A small", "一节小")
    (tmp_path / "zh" / "two.md").write_text(drifted)
    library = load_library("zh")
    assert library.lessons["shapes"].title == "A small lesson"  # no zh file: English
    assert library.lessons["two"].title == "A small lesson"  # drifted: English
    assert sorted(library.untranslated) == ["shapes", "two"]
    assert library.problems == [  # in the language of this test's Python: English
        "zh/two.md: its step 1 differs from the English file in its link, question, reveal, "
        "choices or answer."
    ]
    (tmp_path / "zh" / "two.md").write_text(GOOD.replace("A small lesson", "一节小课"))
    library = load_library("zh")
    assert library.lessons["two"].title == "一节小课" and library.untranslated == ["shapes"]
    assert load_library("en").untranslated == []


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update(params)
    return at.run()


def test_lang_zh_opens_the_chinese_lesson_and_keeps_lang_in_the_link(offline):
    plan = load_library("zh").lessons["how-sure"]
    at = open_link({"lesson": "how-sure", "step": "2", "lang": "zh"})
    assert not at.exception
    shown = " ".join([m.value for m in at.markdown] + [e.label for e in at.expander])
    assert f"**{plan.title}** · 第 2 步，共 4 步" in shown
    assert f"2. {plan.steps[1].title}" in shown and plan.steps[1].question.text in shown
    assert [r.options for r in at.radio][0] == plan.steps[1].question.choices
    assert at.query_params["lang"] == "zh" and at.query_params["lesson"] == "how-sure"
    assert [b.label for b in at.button if b.key == "lesson-next"] == ["下一步"]


def test_the_lessons_page_in_spanish_names_the_lessons_shown_in_english(
    offline, monkeypatch, tmp_path
):
    monkeypatch.setenv("CNN_LESSONS_DIR", str(tmp_path))
    (tmp_path / "shapes.md").write_text(GOOD)
    at = open_link({"page": "lessons", "lang": "es"})
    assert not at.exception
    assert at.title[0].value == "Lecciones"
    shown = " ".join(m.value for m in at.markdown)
    for plan in load_library("es").lessons.values():
        if plan.key != "shapes":
            assert f'<h2 class="card-title">{html.escape(plan.title)}</h2>' in shown
    assert [i.value for i in at.info] == [
        "Todavía sin traducir al español, así que se muestra en inglés: A small lesson."
    ]
    assert i18n.language() == "en"  # the test's own Python is untouched
