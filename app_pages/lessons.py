"""Lessons: guided lessons on the real pages; each asks the student to predict what their own
network will do, then measures it. The presenter's view shows the step under way large, with
the link (and QR code) that puts every student on it.

Imports no TensorFlow (a reveal loads the run when the student asks for it).
"""

import streamlit as st

from cnn.i18n import tr
from ui import lesson, lesson_catalog, lesson_library, lesson_steps, presenter

under_way = lesson.running()
plan = lesson_library.find(under_way[0]) if under_way else None
if plan is not None:
    index = under_way[1]
    lesson_steps.step_ui(plan, index, large=presenter.on())
    with st.expander(tr("Put every student on this step"), icon=":material/qr_code_2:",
                     expanded=presenter.on()):  # fmt: skip
        lesson_catalog.student_link_ui(plan, index, "under-way")
    st.divider()

st.title(tr("Lessons"))
st.markdown(
    tr("Each lesson is a few steps on the real pages. You predict what your own network will "
       "do, then CNN Lab measures it on your run. A step bar above the page leads the way.")
)  # fmt: skip
lesson_catalog.problems_ui()
lesson_catalog.untranslated_ui()
plans = lesson_library.all_lessons()
if not plans:
    st.info(tr("No lessons are available on this server."))
for number, shown in enumerate(plans):
    if number % 2 == 0:
        row = st.columns(2)
    with row[number % 2]:
        lesson_catalog.lesson_card_ui(shown)
st.header(tr("Your own lesson"))
st.markdown(
    tr("A lesson is one Markdown file: front matter, one `## ` heading per step, a lesson link "
       "per step, questions as blockquotes. Teachers can also give the server a folder of "
       "them with `CNN_LESSONS_DIR`, and a translation of a lesson as `zh/<key>.md` or "
       "`es/<key>.md` beside it.")
)  # fmt: skip
lesson_catalog.upload_ui()
