"""Lesson links in the app: read a link once per session, keep the address bar in sync with
the setup on screen, and give the teacher a link to copy (see `cnn.lesson`).

A link's `lesson=KEY&step=N` starts a lesson (cnn.lessons) at that step: this module keeps
which lesson runs and which step to open next; ui/lesson_steps.py opens it and draws it.
A link's `class=CODE` is kept in `st.session_state["class_code"]` for the Class page."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from cnn import artifacts
from cnn import lesson as links
from cnn.i18n import tr
from cnn.lesson import Lesson
from ui import language, lesson_library, lesson_share, presenter, state

LESSON = "lesson"  # session key: the Lesson this page is set up with (the link's, or a step's)
LINK = "lesson-link"  # session key: the Lesson of the link this session was opened with
LOCK = "lesson-lock"  # widget key: whether the copied link hides the controls
RUNNING = "lesson-running"  # session key: (lesson key, step index) of the lesson under way
GO = "lesson-go"  # session key: the step index to open on this run (set by Start/Back/Next)
CLASS_CODE = "class_code"  # session key the Class page reads: a link's class=CODE


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
    st.session_state[LESSON] = st.session_state[LINK] = lesson
    if lesson.present:
        st.session_state[presenter.PRESENTER] = True
    if lesson.class_code:
        st.session_state[CLASS_CODE] = lesson.class_code
    if lesson.lesson_key and _start_linked_lesson(lesson):
        return  # the step's own setup opens its page (ui/lesson_steps.py)
    adopt_run(lesson)
    target = pages.get(lesson.page) if lesson.page else None
    if target is not None:
        st.switch_page(target, query_params=st.query_params.to_dict())


def adopt_run(lesson: Lesson) -> None:
    """Make a link's run= the active model, or say that this server has no such run."""
    if lesson.run:
        named = [r for r in artifacts.list_runs() if r.ok and r.name == lesson.run]
        if named:
            state.set_active_run(named[0].path)
        else:
            lesson.problems.append(tr("The link's run {run} is not on this server; ignored.")
                                   .format(run=lesson.run))  # fmt: skip


def _start_linked_lesson(lesson: Lesson) -> bool:
    """A link's lesson=KEY&step=N: start that lesson there (True), or say why not (False)."""
    plan = lesson_library.find(lesson.lesson_key)
    if plan is None:
        lesson.problems.append(tr("The link's lesson {key} is not on this server; the Lessons "
                                  "page lists those that are.").format(key=lesson.lesson_key))
        return False
    index = (lesson.step or 1) - 1
    if index >= len(plan.steps):
        lesson.problems.append(tr("The link's step={step} was ignored: {title} has {count} "
                                  "steps. It opens at step 1.").format(
            step=lesson.step, title=plan.title, count=len(plan.steps)))  # fmt: skip
        index = 0
    start_lesson(plan.key, index)
    return True


def start_lesson(key: str, index: int = 0) -> None:
    """Run the lesson `key` from step `index` (0-based); the router opens the step."""
    st.session_state[RUNNING] = (key, index)
    st.session_state[GO] = index


def running() -> tuple[str, int] | None:
    """(lesson key, step index) of the lesson under way in this session, or None."""
    return st.session_state.get(RUNNING)


def problems_ui() -> None:
    """The link's ignored parameters, each a sentence (shown on the first run only)."""
    lesson = current()
    if GO in st.session_state:  # a lesson step opens on another page first: shown there
        return
    for problem in lesson.problems:
        st.warning(problem, icon=":material/link_off:")
    lesson.problems = []


def locked() -> bool:
    """Whether this session's lesson hides the controls it does not need."""
    return current().lock


def sync_and_share_ui(setup: Lesson) -> None:
    """Keep the address bar equal to the setup on screen, and offer it as a lesson link."""
    under_way = running()
    if under_way is not None:  # the address says the lesson and step too
        setup = replace(setup, lesson_key=under_way[0], step=under_way[1] + 1)
    setup = replace(setup, class_code=current().class_code, lang=language.current())
    params = links.encode(setup)
    st.query_params.from_dict(params)
    if locked():
        return
    with st.popover(tr("Lesson link"), icon=":material/link:"):
        st.markdown(tr("Every student who opens this link gets exactly this setup."))
        lock = st.checkbox(tr("Hide the controls the lesson does not need"), key=LOCK)
        shared = {**params, "lock": "1"} if lock else params
        lesson_share.link_ui(shared)
