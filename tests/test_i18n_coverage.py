"""No text on a page escapes the catalogs (issue 32): a string written straight into a
Streamlit call that shows it (a title, a caption, a button's label, a help text, a chart's
title) fails here, naming its file and line; wrap it in `tr(...)` (cnn.i18n)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
SHOWN = {  # Streamlit calls whose first argument is read by a person
    "title", "header", "subheader", "caption", "markdown", "write", "info", "warning", "error",
    "success", "toast", "button", "checkbox", "radio", "selectbox", "multiselect", "slider",
    "select_slider", "text_input", "text_area", "number_input", "toggle", "expander", "popover",
    "metric", "download_button", "file_uploader", "page_link", "form_submit_button",
    "link_button", "camera_input", "status", "spinner", "tabs", "segmented_control", "pills",
}  # fmt: skip
SHOWN_KEYWORDS = {"label", "help", "placeholder", "caption", "title", "xaxis_title",
                  "yaxis_title", "text_alt", "alt"}  # fmt: skip
WORD = re.compile(r"[A-Za-z]{2,}")
NAMES = {"CNN", "Lab", "MNIST", "Fashion", "Grad", "CAM", "ReLU", "Keras", "TensorFlow", "ok"}


def _words(node: ast.AST) -> list[str]:
    """The English words of a literal string or an f-string's literal parts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = " ".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    else:
        return []
    if text.lstrip().startswith("<") or ":material/" in text:  # HTML/CSS, an icon's name
        return []
    return [w for w in WORD.findall(text) if w not in NAMES]


def _untranslated(node: ast.Call) -> list[ast.AST]:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    found = []
    if name in SHOWN and node.args:
        first = node.args[0]
        items = (
            first.elts if isinstance(first, ast.List | ast.Tuple) and name == "tabs" else [first]
        )
        found += [item for item in items if _words(item)]
    found += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS and _words(k.value)]
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shown_text_goes_through_the_catalog(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = [
        f"{path.name}:{item.lineno}: {' '.join(_words(item))[:60]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for item in _untranslated(node)
    ]
    assert not bare, "texts not in the catalogs (wrap them in tr()):\n" + "\n".join(bare)
