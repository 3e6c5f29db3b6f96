"""A lesson under way: open its steps on the real pages and draw the step bar above them.

Opening a step sets its page up as a lesson link would (`cnn.lesson.Lesson`: dataset,
architecture, run, input source, settings, lock), keeping the lock, presenter mode and class
code of the link the session came with, forgets the widgets the step sets so that its values
show, and switches to its page. The step bar (step k of n, Back, Next) and the step's text
and question are drawn by the router above every page while the lesson runs.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from cnn import i18n
from cnn import lesson as links
from cnn.i18n import tr
from cnn.lesson import Lesson
from cnn.lessons import LessonPlan
from ui import language, lesson, lesson_library, lesson_questions, train_form

WIDGETS_OF = {  # a step's setting -> the session keys of the widgets it sets (or their prefix)
    "dataset": (train_form.TRAIN_DATASET,),
    "arch": ("arch-",),
    "source": ("source-",),
}


def _forget_widgets(setup: Lesson) -> None:
    """Drop the state of the widgets the step sets, so they start on the step's values."""
    prefixes = [p for name, keys in WIDGETS_OF.items() if getattr(setup, name) for p in keys]
    if setup.arch:
        prefixes.append(f"{setup.arch}-")  # its layer editor
    for key in [k for k in st.session_state if isinstance(k, str)]:
        if any(key == p or (p.endswith("-") and key.startswith(p)) for p in prefixes):
            del st.session_state[key]


def open_step(plan: LessonPlan, index: int, pages: dict[str, object]) -> None:
    """Set step `index` of `plan` up and switch to its page (a step without a link stays on
    the page the student is on)."""
    step = plan.steps[index]
    came_with = st.session_state.get(lesson.LINK) or Lesson()  # the session's own link
    now = lesson.current()
    # the link's sentences not shown yet (a step opened from a link) go with it to its page
    setup = replace(step.setup or now, problems=list(now.problems))
    setup = replace(setup, lock=came_with.lock or bool(step.setup and step.setup.lock),
                    present=came_with.present, class_code=came_with.class_code,
                    lang=language.current(),
                    lesson_key=plan.key, step=index + 1)  # fmt: skip
    st.session_state[lesson.LESSON] = setup
    st.session_state[lesson.RUNNING] = (plan.key, index)
    _forget_widgets(setup)
    lesson.adopt_run(setup)
    target = pages.get(step.page) if step.page else None
    if target is not None:
        st.switch_page(target, query_params=links.encode(setup))
    st.query_params.from_dict(links.encode(setup))


def _go(index: int) -> None:
    st.session_state[lesson.GO] = index


def _end() -> None:
    st.session_state.pop(lesson.RUNNING, None)
    for name in ("lesson", "step"):  # a reload does not start it again
        if name in st.query_params:
            del st.query_params[name]


def step_bar_ui(pages: dict[str, object], on_lessons_page: bool) -> None:
    """Above every page while a lesson runs: open the step asked for, then the bar and the
    step (on the Lessons page the bar only: the page shows the step itself)."""
    under_way = lesson.running()
    if under_way is None:
        return
    plan = lesson_library.find(under_way[0])
    if plan is None:  # an upload of a session that no longer has it, or a file since removed
        st.session_state.pop(lesson.RUNNING, None)
        return
    go = st.session_state.pop(lesson.GO, None)
    if go is not None and 0 <= go < len(plan.steps):
        open_step(plan, go, pages)
        under_way = (plan.key, go)
    index = under_way[1]
    with st.container(border=True, key="lesson-step-bar"):
        _bar_ui(plan, index)
        if not on_lessons_page:
            step_ui(plan, index)


def _bar_ui(plan: LessonPlan, index: int) -> None:
    """Lesson title, step k of n, Back, Next and End in one row."""
    count = len(plan.steps)
    # wide enough for "Siguiente" with its icon (Spanish labels are ~25% longer)
    where, back, forward, end = st.columns([4.5, 1.5, 1.8, 1.4], vertical_alignment="center")
    where.markdown(":material/school: " + tr("**{title}** · step {step} of {count}").format(
        title=plan.title, step=i18n.number(index + 1), count=i18n.number(count)))  # fmt: skip
    back.button(tr("Back"), icon=":material/arrow_back:", disabled=index == 0, width="stretch",
                on_click=_go, args=(index - 1,), key="lesson-back")  # fmt: skip
    last = index + 1 >= count
    forward.button(tr("Done") if last else tr("Next"), icon=":material/arrow_forward:",
                   type="primary", width="stretch", on_click=_end if last else _go,
                   args=() if last else (index + 1,), key="lesson-next")  # fmt: skip
    end.button(
        tr("End"),
        icon=":material/close:",
        width="stretch",
        on_click=_end,
        key="lesson-end",
        help=tr("Leave the lesson; your answers stay in this session."),
    )


def step_ui(plan: LessonPlan, index: int, large: bool = False) -> None:
    """A step's title, text and question: above a page in an expander the student can fold
    to see the page whole; `large` on the Lessons page in presenter mode (no folding)."""
    step = plan.steps[index]
    if large:
        st.title(f"{index + 1}. {step.title}")
        st.markdown(step.text)
        if step.question is not None:
            lesson_questions.question_ui(plan, index)
        return
    with st.expander(f"**{index + 1}. {step.title}**", expanded=True):
        if step.question is None:
            st.markdown(step.text)
            return
        text_col, question_col = st.columns(2, gap="medium")
        text_col.markdown(step.text)
        with question_col:
            lesson_questions.question_ui(plan, index)
