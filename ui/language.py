"""The language a session reads: the link's `?lang=`, else the sidebar's choice, else the
browser's language when it is one CNN Lab speaks, else English (cnn.i18n).

Importing this module makes `cnn.i18n.tr` ask the session; the router calls `resolve()` at the
top of every run, before any text is made, and `picker_ui()` in the sidebar.
"""

from __future__ import annotations

import json

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cnn import i18n
from cnn.i18n import tr

LANG = "lang"  # session-state key of the language, and the link's parameter
PICKER = "lang_picker"  # the sidebar's select box


def _from_session() -> str | None:
    if get_script_run_ctx(suppress_warning=True) is None:  # a training thread, a test's Python
        return None
    return st.session_state.get(LANG)


i18n.use(_from_session)


def resolve() -> str:
    """The language of this run, settled before anything is drawn."""
    asked = i18n.code_of(st.query_params.get(LANG))
    if asked is not None:
        st.session_state[LANG] = asked
    elif LANG not in st.session_state:
        st.session_state[LANG] = i18n.code_of(st.context.locale) or i18n.DEFAULT
    return st.session_state[LANG]


def current() -> str:
    """The session's language code ("en", "zh", "es")."""
    return st.session_state.get(LANG, i18n.DEFAULT)


def _picked() -> None:
    code = st.session_state[PICKER]
    st.session_state[LANG] = code
    if code == i18n.DEFAULT:
        st.query_params.pop(LANG, None)
    else:
        st.query_params[LANG] = code


def picker_ui() -> None:
    """The sidebar's language choice, each language written in itself."""
    st.session_state[PICKER] = current()
    st.selectbox(
        tr("Language"),
        list(i18n.LANGUAGES),
        key=PICKER,
        format_func=lambda code: i18n.LANGUAGES[code][2],
        on_change=_picked,
    )


# Streamlit's file uploader writes "Upload" and "200MB per file" itself, in English only: in
# another language the page draws its own words over them (CSS generated content, which a
# screen reader reads as the button's name too)
UPLOADER = '[data-testid="stFileUploaderDropzone"]'
UPLOADER_STYLE = (
    "{upl} button [data-testid='stMarkdownContainer'] p {{ font-size: 0; }}"
    " {upl} button [data-testid='stMarkdownContainer'] p::after {{ content: {button};"
    " font-size: 1rem; }}"
    " [data-testid='stFileUploaderDropzoneInstructions'] span {{ font-size: 0; }}"
    " [data-testid='stFileUploaderDropzoneInstructions'] span::after {{ content: {limit};"
    " font-size: 0.875rem; }}"
)


def _css_text(text: str) -> str:
    """`text` as a CSS string (its characters as they are: CSS does not read JSON's \\u escapes)."""
    return json.dumps(text, ensure_ascii=False).replace("<", "\\3c ")


def mark_page() -> None:
    """Tell the browser (and a screen reader) the page's language, `<html lang>`, and say
    Streamlit's own uploader texts in it."""
    lang = {"zh": "zh-CN"}.get(current(), current())
    st.html(
        f"<script>document.documentElement.lang = {json.dumps(lang)};</script>",
        unsafe_allow_javascript=True,
    )
    if current() != i18n.DEFAULT:
        limit = tr("At most {size} MB a file").format(
            size=i18n.number(st.get_option("server.maxUploadSize"))
        )
        style = UPLOADER_STYLE.format(
            upl=UPLOADER, button=_css_text(tr("Upload")), limit=_css_text(limit)
        )
        st.html(f"<style>{style}</style>")
