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


def mark_page() -> None:
    """Tell the browser (and a screen reader) the page's language: `<html lang>`."""
    lang = {"zh": "zh-CN"}.get(current(), current())
    st.html(
        f"<script>document.documentElement.lang = {json.dumps(lang)};</script>",
        unsafe_allow_javascript=True,
    )
