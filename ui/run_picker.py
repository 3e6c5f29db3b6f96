"""Which trained model a page works on: the run picker, the run a fresh session starts on,
and the stop (with a link to Train) when there is none."""

from __future__ import annotations

import streamlit as st

from cnn import artifacts
from ui import state


def runs_or_stop_ui() -> list[artifacts.RunInfo]:
    """All runs (shipped and the user's); with none, a link to Train and the page stops."""
    runs = artifacts.list_runs()
    if not runs:
        st.info("There is no trained model yet: train one first.")
        st.page_link("app_pages/train.py", label="Train a model", icon=":material/model_training:")
        st.stop()
    return runs


def _is_digit_model(info: artifacts.RunInfo) -> bool:
    return info.record is not None and info.record.preprocessing.method == "digits"


def default_run(runs: list[artifacts.RunInfo]) -> artifacts.RunInfo | None:
    """The run a fresh session starts on: the newest digit model (a class starts by drawing)."""
    good = [r for r in runs if r.ok]
    return next((r for r in good if _is_digit_model(r)), good[0] if good else None)


def ensure_active_run() -> None:
    """Give a fresh session (or one whose run was deleted) the default run as its active model."""
    active = state.active_run()
    if active is None or not (active / artifacts.RECORD_FILE).is_file():
        run = default_run(artifacts.list_runs())
        if run is not None:
            state.set_active_run(run.path)


def run_picker_ui(
    runs: list[artifacts.RunInfo], label: str = "Model", locked: bool = False
) -> artifacts.RunInfo:
    """A selectbox over runs (shipped first, broken ones marked) that follows the active run.

    Picking a run makes it the active model at once (in the widget's callback, before the
    page and the sidebar draw). With no active run it starts on the newest digit model,
    since a class starts by drawing.
    """
    key = f"run-picker-{label}"
    paths = [str(r.path) for r in runs]
    active = str(state.active_run() or "")
    # the active run, as this rerun's object (a training or another page may have changed it)
    st.session_state[key] = runs[paths.index(active)] if active in paths else default_run(runs)
    if locked:  # a lesson fixes the model: say which, offer no choice
        st.caption(f"{label}: **{st.session_state[key].title}**")
        return st.session_state[key]

    def adopt() -> None:
        state.set_active_run(st.session_state[key].path)

    return st.selectbox(label, runs, format_func=lambda info: info.title, key=key, on_change=adopt)
