"""The lessons on offer: a card per lesson with Start and a link for students, the files left
out with their sentence, the lessons not yet in the session's language, and the upload of a
teacher's own file (this session only)."""

from __future__ import annotations

import html

import streamlit as st

from cnn import i18n
from cnn.i18n import N_, tr, trn
from cnn.lessons import LessonFileError, LessonPlan, parse_upload
from ui import lesson, lesson_library, lesson_share

LEVEL_ICONS = {"beginner": ":material/counter_1:", "intermediate": ":material/counter_2:",
               "advanced": ":material/counter_3:"}  # fmt: skip
LEVEL_NAMES = {"beginner": N_("beginner"), "intermediate": N_("intermediate"),
               "advanced": N_("advanced")}  # fmt: skip
SOURCE_NAMES = {"your folder": N_("your folder"), "uploaded": N_("uploaded")}


def about(plan: LessonPlan) -> str:
    """One line: minutes, level, steps, how many answers are measured on the student's run."""
    measured = sum(1 for s in plan.steps if s.question and s.question.reveal)
    parts = [tr("{n} min").format(n=i18n.number(plan.minutes)),
             tr(LEVEL_NAMES.get(plan.level, plan.level)),
             trn("{n} step", "{n} steps", len(plan.steps)),
             trn("{n} measured on your own model", "{n} measured on your own model", measured)]
    if plan.source != "built-in":
        parts.append(tr(SOURCE_NAMES.get(plan.source, plan.source)))
    return " · ".join(parts)  # fmt: skip


def start_button(plan: LessonPlan, key: str) -> None:
    """Start the lesson at its first step (the router opens it)."""
    st.button(tr("Start"), key=f"start-{key}-{plan.key}", icon=":material/play_arrow:",
              type="primary", on_click=lesson.start_lesson, args=(plan.key, 0))  # fmt: skip


def lesson_card_ui(plan: LessonPlan) -> None:
    """A lesson's card: title, what it takes, summary, Start, its steps, a link for students."""
    with st.container(border=True, height="stretch"):
        # room for a Start button of the longer languages ("Empezar")
        title, start = st.columns([3, 2], vertical_alignment="center")
        # an h2 under the page's h1 (a teacher's title, escaped), drawn as before (ui/a11y.py)
        title.markdown(f'<h2 class="card-title">{html.escape(plan.title)}</h2>',
                       unsafe_allow_html=True)  # fmt: skip
        with start:
            start_button(plan, "card")
        st.caption(about(plan))
        st.markdown(plan.summary)
        steps, share = st.columns([2, 3])
        with steps.expander(tr("Steps")):
            for number, step in enumerate(plan.steps, start=1):
                st.markdown(f"{number}. {step.title}")
        with share.popover(tr("Link for students"), icon=":material/qr_code_2:", width="stretch"):
            student_link_ui(plan, 0, f"card-{plan.key}")


def student_link_ui(plan: LessonPlan, index: int, key: str) -> None:
    """The link that opens step `index` of `plan` on a student's computer, with its QR code."""
    st.markdown(tr("Opens **{title}** at step {step} on every student's computer.").format(
        title=plan.title, step=index + 1))  # fmt: skip
    if plan.source == "uploaded":
        st.caption(tr("This lesson was uploaded in your session only: students cannot open it."))
    lock = st.checkbox(tr("Lock the controls the lesson does not need"), key=f"lock-{key}")
    params = {"lesson": plan.key, "step": str(index + 1), **({"lock": "1"} if lock else {})}
    if i18n.language() != i18n.DEFAULT:  # students open it in the teacher's language
        params["lang"] = i18n.language()
    lesson_share.link_ui(params, path="/")


def problems_ui() -> None:
    """One sentence per lesson file left out (the others are listed)."""
    for problem in lesson_library.library().problems:
        st.warning(problem, icon=":material/error:")


def untranslated_ui() -> None:
    """One sentence naming the lessons shown in English for want of a translation."""
    library = lesson_library.library()
    if library.language == i18n.DEFAULT or not library.untranslated:
        return
    titles = [library.lessons[k].title for k in library.untranslated if k in library.lessons]
    if not titles:
        return
    st.info(trn("Not yet translated into this language, so shown in English: {titles}.",
                "Not yet translated into this language, so shown in English: {titles}.",
                len(titles)).format(titles=", ".join(titles)),
            icon=":material/translate:")  # fmt: skip


def upload_ui() -> None:
    """Upload a lesson file: checked, then offered in this session only."""
    upload = st.file_uploader(tr("Try your own lesson file (Markdown, see docs/LESSONS.md)"),
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
    st.success(tr("**{title}** is listed first, for this session only: no one else sees it.")
               .format(title=plan.title))  # fmt: skip
