"""The lessons on offer: a card per lesson with Start and a link for students, the files left
out with their sentence, and the upload of a teacher's own file (this session only)."""

from __future__ import annotations

import streamlit as st

from cnn.lessons import LessonFileError, LessonPlan, parse_upload
from ui import lesson, lesson_library, lesson_share

LEVEL_ICONS = {"beginner": ":material/counter_1:", "intermediate": ":material/counter_2:",
               "advanced": ":material/counter_3:"}  # fmt: skip


def about(plan: LessonPlan) -> str:
    """One line: minutes, level, steps, how many answers are measured on the student's run."""
    measured = sum(1 for s in plan.steps if s.question and s.question.reveal)
    where = "" if plan.source == "built-in" else f" · {plan.source}"
    return (f"{plan.minutes} min · {plan.level} · {len(plan.steps)} steps · {measured} "
            f"measured on your own model{where}")  # fmt: skip


def start_button(plan: LessonPlan, key: str) -> None:
    """Start the lesson at its first step (the router opens it)."""
    st.button("Start", key=f"start-{key}-{plan.key}", icon=":material/play_arrow:",
              type="primary", on_click=lesson.start_lesson, args=(plan.key, 0))  # fmt: skip


def lesson_card_ui(plan: LessonPlan) -> None:
    """A lesson's card: title, what it takes, summary, Start, its steps, a link for students."""
    with st.container(border=True, height="stretch"):
        title, start = st.columns([3, 1], vertical_alignment="center")
        title.markdown(f"#### {plan.title}")
        with start:
            start_button(plan, "card")
        st.caption(about(plan))
        st.markdown(plan.summary)
        steps, share = st.columns(2)
        with steps.expander("Steps"):
            for number, step in enumerate(plan.steps, start=1):
                st.markdown(f"{number}. {step.title}")
        with share.popover("Link for students", icon=":material/qr_code_2:", width="stretch"):
            student_link_ui(plan, 0, f"card-{plan.key}")


def student_link_ui(plan: LessonPlan, index: int, key: str) -> None:
    """The link that opens step `index` of `plan` on a student's computer, with its QR code."""
    st.markdown(f"Opens **{plan.title}** at step {index + 1} on every student's computer.")
    if plan.source == "uploaded":
        st.caption("This lesson was uploaded in your session only: students cannot open it.")
    lock = st.checkbox("Lock the controls the lesson does not need", key=f"lock-{key}")
    params = {"lesson": plan.key, "step": str(index + 1), **({"lock": "1"} if lock else {})}
    lesson_share.link_ui(params, path="/")


def problems_ui() -> None:
    """One sentence per lesson file left out (the others are listed)."""
    for problem in lesson_library.library().problems:
        st.warning(problem, icon=":material/error:")


def upload_ui() -> None:
    """Upload a lesson file: checked, then offered in this session only."""
    upload = st.file_uploader("Try your own lesson file (Markdown, see docs/LESSONS.md)",
                              type=["md"], key="lesson-upload")  # fmt: skip
    if upload is None:
        return
    try:
        plan = parse_upload(upload.name, upload.getvalue())
    except LessonFileError as err:
        st.error(f"{upload.name}: {err}")
        return
    if lesson_library.uploads().get(plan.key) != plan:  # new: list it above, from the top
        lesson_library.uploads()[plan.key] = plan
        st.rerun()
    st.success(f"**{plan.title}** is listed first, for this session only: no one else sees it.")
