"""The catalogs (issue 32): every text in the code has an entry in every language, none empty,
none stale; `tr`, `trn` and the number formats answer in the language asked for; a link's
lang= is read and kept."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cnn import i18n
from cnn import lesson as links

ROOT = Path(__file__).resolve().parents[1]
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]
# The README's extract command ("Adding a language"), exactly.
EXTRACT = ["extract", "-F", "babel.cfg", "--no-default-keywords", "-k", "tr", "-k", "trn:1,2",
           "-k", "N_", "--no-location", "--sort-output", "--project", "CNN Lab",
           "--copyright-holder", "CNN Lab"]  # fmt: skip
TRANSLATED = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*(?:![rs])?(?::[^{}]*)?\}")


def _catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The catalog `pybabel extract` makes of the code as it is now."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([*PYBABEL, "-q", *EXTRACT, "-o", str(pot), "."], cwd=ROOT, check=True)
    return pot


def test_the_template_holds_every_text_of_the_code(extracted):
    now = {m.id for m in _catalog(extracted) if m.id}
    kept = {m.id for m in _catalog(ROOT / "locale" / "messages.pot") if m.id}
    assert not now - kept, f"texts with no catalog entry (run pybabel extract): {now - kept}"
    assert not kept - now, f"catalog entries no code uses any more: {kept - now}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_language_is_up_to_date(extracted, code):
    """`pybabel update` would change nothing: no text missing, none left over."""
    folder = i18n.LANGUAGES[code][1]
    checked = subprocess.run(
        [*PYBABEL, "update", "--check", "-i", str(extracted), "-d", "locale", "-l", folder,
         "--no-fuzzy-matching", "--ignore-obsolete", "--ignore-pot-creation-date"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_entry_is_translated_with_its_placeholders(code):
    catalog = _catalog(i18n.catalog_path(code), i18n.LANGUAGES[code][0])
    empty, fuzzy, broken = [], [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            empty.append(ids[0])
        if message.fuzzy:
            fuzzy.append(ids[0])
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])) - {"{n}"})
        for text in strings:
            if text and sorted(set(PLACEHOLDER.findall(text)) - {"{n}"}) != wanted:
                broken.append((ids[0], text))
    assert not empty, f"{len(empty)} untranslated in {code}, e.g. {empty[:5]}"
    assert not fuzzy, f"fuzzy entries in {code}: {fuzzy[:5]}"
    assert not broken, f"placeholders differ from the English in {code}: {broken[:5]}"


def _in(code: str, monkeypatch) -> None:
    monkeypatch.setattr(i18n, "_resolver", lambda: code)


def test_tr_answers_in_the_language_asked_for(monkeypatch):
    _in("zh", monkeypatch)
    assert i18n.tr("Predict") == "预测"
    _in("es", monkeypatch)
    assert i18n.tr("Predict") == "Predecir"
    _in("en", monkeypatch)
    assert i18n.tr("Predict") == "Predict"
    assert i18n.tr("a text no catalog has") == "a text no catalog has"


def test_numbers_are_written_for_the_language(monkeypatch):
    _in("es", monkeypatch)
    assert i18n.percent(0.9123, 1) == "91,2\xa0%"
    assert i18n.number(12345.678, 2) == "12.345,68"
    _in("zh", monkeypatch)
    assert i18n.percent(0.9123, 1) == "91.2%"
    _in("en", monkeypatch)
    assert i18n.number(12345.678, 2) == "12,345.68"


def test_counts_take_the_languages_plural(monkeypatch):
    _in("en", monkeypatch)
    assert i18n.trn("{n} student", "{n} students", 1) == "1 student"
    assert i18n.trn("{n} student", "{n} students", 1200) == "1,200 students"
    _in("es", monkeypatch)  # three forms: one, many (a million), other
    assert i18n.trn("{n} student", "{n} students", 1) == "1 estudiante"
    assert i18n.trn("{n} student", "{n} students", 1200) == "1.200 estudiantes"
    assert i18n.trn("{n} student", "{n} students", 1_000_000) == "1.000.000 estudiantes"
    _in("zh", monkeypatch)
    assert i18n.trn("{n} student", "{n} students", 2).startswith("2")


def test_the_cli_reads_cnn_lang(monkeypatch):
    monkeypatch.setattr(i18n, "_resolver", None)
    monkeypatch.setenv(i18n.LANG_ENV, "es-ES")
    assert i18n.language() == "es"
    monkeypatch.setenv(i18n.LANG_ENV, "fr")
    assert i18n.language() == "en"


def test_a_links_lang_is_read_kept_and_refused_with_a_sentence():
    lesson = links.parse({"page": "train", "lang": "zh-CN"})
    assert lesson.lang == "zh" and not lesson.problems
    assert links.encode(lesson)["lang"] == "zh"
    bad = links.parse({"lang": "klingon"})
    assert bad.lang is None and "lang=klingon" in bad.problems[0]


def test_a_thread_speaks_the_language_it_was_given(monkeypatch):
    """A student's training thread writes its messages in that student's language, whatever
    the other threads (and CNN_LANG) speak."""
    import threading

    monkeypatch.setattr(i18n, "_resolver", None)
    monkeypatch.delenv(i18n.LANG_ENV, raising=False)
    heard = {}

    def training(code):
        with i18n.speaking(code):
            heard[code] = i18n.tr("Predict")

    threads = [threading.Thread(target=training, args=(code,)) for code in ("zh", "es")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert heard == {"zh": "预测", "es": "Predecir"}
    assert i18n.tr("Predict") == "Predict"  # this thread was given none


def test_a_cached_figure_is_built_again_in_each_readers_language():
    """The Models page keeps its figures for every session (st.cache_resource): a figure first
    built for an English reader must not be shown to a Chinese one (it was, before 2026-12-07)."""
    from cnn import artifacts
    from ui import models_view

    shipped = Path(__file__).resolve().parent.parent / "artifacts"
    run = next(p for p in sorted(shipped.iterdir()) if (p / "run.json").is_file())
    info = artifacts.read_run_info(run)
    with i18n.speaking("en"):
        english = [t.name for t in models_view.record_figure(info, "reliability").data]
    with i18n.speaking("zh"):
        chinese = [t.name for t in models_view.record_figure(info, "reliability").data]
    assert english[0] == "perfectly honest"
    assert chinese[0] == "完全诚实"
