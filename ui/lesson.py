"""Lesson links in the app: read a link once per session, keep the address bar in sync with
the setup on screen, and give the teacher a link to copy (see `cnn.lesson`)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from cnn import artifacts
from cnn import lesson as links
from cnn.lesson import Lesson
from ui import presenter, state

LESSON = "lesson"  # session key: the Lesson this session was opened with
LOCK = "lesson-lock"  # widget key: whether the copied link hides the controls


def current() -> Lesson:
    """The lesson this session was opened with (an empty one without a link)."""
    return st.session_state.get(LESSON) or Lesson()


def read_link_once(pages: dict[str, object]) -> None:
    """On a session's first run: read the link, switch on presenter mode, open its page.

    Args:
        pages: page name ("train", ...) -> the st.Page the router knows.
    """
    if LESSON in st.session_state:
        return
    lesson = links.parse(st.query_params.to_dict())
    st.session_state[LESSON] = lesson
    if lesson.present:
        st.session_state[presenter.PRESENTER] = True
    if lesson.run:
        named = [r for r in artifacts.list_runs() if r.ok and r.name == lesson.run]
        if named:
            state.set_active_run(named[0].path)
        else:
            lesson.problems.append(f"The link's run {lesson.run} is not on this server; ignored.")
    target = pages.get(lesson.page) if lesson.page else None
    if target is not None:
        st.switch_page(target, query_params=st.query_params.to_dict())


def problems_ui() -> None:
    """The link's ignored parameters, each a sentence (shown on the first run only)."""
    lesson = current()
    for problem in lesson.problems:
        st.warning(problem, icon=":material/link_off:")
    lesson.problems = []


def locked() -> bool:
    """Whether this session's lesson hides the controls it does not need."""
    return current().lock


def sync_and_share_ui(setup: Lesson) -> None:
    """Keep the address bar equal to the setup on screen, and offer it as a lesson link."""
    params = links.encode(setup)
    st.query_params.from_dict(params)
    if locked():
        return
    with st.popover("Lesson link", icon=":material/link:"):
        st.markdown("Every student who opens this link gets exactly this setup.")
        lock = st.checkbox("Hide the controls the lesson does not need", key=LOCK)
        shared = {**params, "lock": "1"} if lock else params
        if st.context.url:  # the browser's address; a client that sends none gets the query
            here = urlsplit(st.context.url)
            st.code(f"{here.scheme}://{here.netloc}{here.path}?{urlencode(shared)}", language=None)
            st.caption("Copy it with the button at the right of the box.")
        else:
            st.code(f"?{urlencode(shared)}", language=None)
            st.caption("Your browser did not say the app's address: add this to the end of it.")
