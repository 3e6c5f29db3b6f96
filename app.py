"""CNN Lab: the router. Page setup, navigation and the sidebar every page shares.

Run with `streamlit run app.py`. This file imports no TensorFlow, so the home page shows in
about two seconds; pages that need Keras import it themselves.
"""

import streamlit as st

from cnn import settings
from cnn.errors import SettingError
from cnn.i18n import N_, tr
from ui import a11y, language, lesson, lesson_steps, presenter, run_picker, runtime, sidebar

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
language.resolve()  # before any text: ?lang=, the sidebar's choice or the browser's language

PAGES = {  # a page's name (its file in app_pages/, and a lesson link's page=) -> the page
    name: st.Page(
        f"app_pages/{name}.py", title=tr(title), icon=f":material/{icon}:", default=name == "home"
    )
    for name, title, icon in [
        ("home", N_("Home"), "home"),
        ("lessons", N_("Lessons"), "school"),
        ("train", N_("Train"), "model_training"),
        ("predict", N_("Predict"), "draw"),
        ("inside", N_("Look inside"), "visibility"),
        ("open_box", N_("Open the box"), "view_in_ar"),
        ("probe", N_("Probe"), "science"),
        ("models", N_("Models"), "leaderboard"),
        ("data", N_("Data"), "photo_library"),
        ("make", N_("Make a dataset"), "draw_abstract"),
        ("class_board", N_("Class"), "groups"),
    ]
}
page = st.navigation(list(PAGES.values()))

try:  # a server started with a variable it cannot use says which, on every page
    settings.current()
except SettingError as err:
    st.error(str(err))
    st.stop()

lesson.read_link_once(PAGES)  # a lesson link, once a session
run_picker.ensure_active_run()
sidebar.sidebar_ui()  # a function: this module's globals outlive the run, so they hold nothing
presenter.style()
a11y.style()
language.mark_page()
lesson.problems_ui()
lesson_steps.step_bar_ui(PAGES, page.url_path == "lessons")  # a lesson under way: its step

runtime.light_keras_clear_session()
page.run()
