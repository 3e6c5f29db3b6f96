"""Class: students join with a code and share their models and drawings; the teacher's board
(unlocked by the teacher key) shows the whole class. Kept in the class database (CNN_DB_URL)."""

import streamlit as st

from cnn.i18n import tr
from ui import class_teacher, class_views

st.title(tr("Class"))
store = class_views.store_or_stop_ui()
student_tab, teacher_tab = st.tabs([tr("I am a student"), tr("I am the teacher")])

with student_tab:
    joined = class_views.member()
    if joined is None:
        class_views.join_ui(store)
    else:
        class_views.student_ui(store, joined)

with teacher_tab:
    opened = class_teacher.teacher()
    if opened is None:
        class_teacher.create_or_unlock_ui(store)
    else:
        class_teacher.board_ui(store, *opened)
