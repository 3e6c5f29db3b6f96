"""Every page in Chinese and Spanish leaves no English behind (issue 32), through AppTest: each
page opened with `?lang=zh` or `?lang=es` (Predict also after a drawing) is read element by
element (titles, text, captions, labels, help, options, alerts, screen-reader descriptions),
and a text fails when it still holds a sentence of the English catalog or English words
("the", "your", "with"...). Names (datasets, architectures, runs), numbers and code are not
English text and pass."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from helpers import APP, TIMEOUT_S, drawn_one
from streamlit.testing.v1 import AppTest

from cnn import i18n
from ui import state

PAGES = ["home", "lessons", "train", "predict", "inside", "open_box", "probe", "models", "data",
         "make", "class_board"]  # fmt: skip
ENGLISH = r"the|and|of|to|is|are|with|your|this|that|for|from|what|which|you|it|on|in|by|was|not"
ENGLISH_WORDS = {  # words only English uses, per language checked
    "zh": re.compile(rf"\b({ENGLISH}|has|have)\b", re.IGNORECASE),
    "es": re.compile(rf"\b({ENGLISH})\b", re.IGNORECASE),
}
# a widget's value is what was chosen or typed (an option's key, a nickname), not a text shown
CHOSEN = {"radio", "selectbox", "multiselect", "select_slider", "text_input", "text_area",
          "number_input", "slider", "checkbox", "toggle", "button_group"}  # fmt: skip
SKIPPED = {"code", "json", "arrow_data_frame", "table", "plotly_chart", "vega_lite_chart"}
PLACEHOLDER = re.compile(r"\{[^{}]*\}|\*\*|`")


class _Text(HTMLParser):
    """The words of an HTML snippet, without its styles and scripts."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _plain(text: str) -> str:
    """A text's words: an HTML snippet without its tags, styles and scripts."""
    if "<" not in text:
        return text
    parser = _Text()
    parser.feed(text)
    return " ".join(parser.parts)


def _texts(at: AppTest) -> list[str]:
    """Every text a person reads on the page as AppTest holds it."""
    found: list[str] = []

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind in SKIPPED:
            return
        for name in ("value", "label", "help", "placeholder", "body", "caption"):
            shown = name != "value" or kind not in CHOSEN | {"html"}
            value = getattr(node, name, None) if shown else None
            if isinstance(value, str):
                found.append(_plain(value))
        if kind == "html":
            found.append(_plain(getattr(node.proto, "body", "")))
        for option in getattr(node, "options", None) or []:
            found.append(str(option))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return [t for t in found if t.strip()]


def _english_sentences() -> list[str]:
    """The catalog's English pieces of three words or more that its translations change."""
    with i18n.catalog_path("zh").open("rb") as f:
        catalog = read_po(f)
    pieces = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            for piece in PLACEHOLDER.split(text or ""):
                if len(piece.split()) >= 3:
                    pieces.add(piece.strip())
    return sorted(pieces, key=len, reverse=True)


@pytest.fixture(scope="module")
def english() -> list[str]:
    return _english_sentences()


def _open(page: str, lang: str, run) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = lang
    at.run()
    at.session_state[state.ACTIVE_RUN] = str(run)
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


def _leaks(texts: list[str], lang: str, english: list[str]) -> list[str]:
    leaks = []
    for text in texts:
        plain = PLACEHOLDER.sub("", text)
        sentence = next((e for e in english if e in plain), None)
        word = ENGLISH_WORDS[lang].search(plain)
        if sentence or word:
            leaks.append(f"{(sentence or word.group(0))!r} in {text[:90]!r}")
    return leaks


@pytest.mark.parametrize("lang", ["zh", "es"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_speaks_the_language_chosen(trained, english, monkeypatch, page, lang):
    # AppTest formats a widget's options in the test's thread, outside any script run, when it
    # sets a value on a rerun; there the language is CNN_LANG's (cnn.i18n), as in the CLI
    monkeypatch.setenv(i18n.LANG_ENV, lang)
    at = _open(page, lang, trained)
    assert not at.exception, at.exception
    texts = _texts(at)
    if page == "predict":
        at.session_state[state.CANVAS_KEY] = drawn_one()
        at.run()
        assert not at.exception, at.exception
        texts += _texts(at)
    leaks = _leaks(texts, lang, english)
    assert not leaks, f"English on {page} in {lang}:\n" + "\n".join(sorted(set(leaks))[:40])
