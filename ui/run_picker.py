"""Which trained model a page works on: the run picker, the run a fresh session starts on,
and the stop (with a link to Train) when there is none."""

from __future__ import annotations

import streamlit as st

from cnn import artifacts
from cnn.i18n import N_, tr
from ui import state

TRAIN_PAGE = "app_pages/train.py"


def runs_or_stop_ui() -> list[artifacts.RunInfo]:
    """All runs (shipped and the user's); with none, a link to Train and the page stops."""
    runs = artifacts.list_runs()
    if not runs:
        st.info(tr("There is no trained model yet: train one first."))
        st.page_link(TRAIN_PAGE, label=tr("Train a model"), icon=":material/model_training:")
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


def _active_option(runs: list[artifacts.RunInfo], shared: list | None):
    """The picker's option for the active run (a training or another page may have changed
    it): a server run, a class run (`shared`, from `ui.class_runs.choices`), or the default.
    A class run no longer there falls back to the default model with one sentence."""
    active = state.active_run()
    if active is not None and shared is not None:
        # imported here (and below): cnn.classroom costs 0.4 s; pages without `shared` skip it
        from ui import class_runs

        if class_runs.is_class_run(active):
            found = class_runs.choice_for(active, shared)
            if found is not None:
                return found
            fallback = default_run(runs) or runs[0]
            state.set_active_run(fallback.path)
            class_runs.tell(
                tr(
                    "The class run you had picked is no longer there (the teacher removed it, "
                    "or you left the class): back to {title}."
                ).format(title=fallback.title)
            )
            st.rerun()  # from the top, so the sidebar names the model in use too
    paths = [str(r.path) for r in runs]
    return runs[paths.index(str(active))] if str(active) in paths else default_run(runs)


def _run_info(option) -> artifacts.RunInfo:
    """The run of a picker option: a server run as listed, a class run from its folder."""
    if isinstance(option, artifacts.RunInfo):
        return option
    return artifacts.read_run_info(option.folder, shipped=False)


def run_picker_ui(
    runs: list[artifacts.RunInfo],
    label: str = N_("Model"),
    locked: bool = False,
    shared: list | None = None,
) -> artifacts.RunInfo:
    """A selectbox over runs (shipped first, broken ones marked) that follows the active run;
    with `shared` (`ui.class_runs.choices()`: Predict's), the class's shared runs after them.

    Picking a run makes it the active model at once (in the widget's callback, before the
    page and the sidebar draw); a picked class run is unpacked from the class database then.
    With no active run it starts on the newest digit model, since a class starts by drawing.
    """
    key = f"run-picker-{label}"  # `label` is English (a msgid): the key is the same in any language
    label = tr(label)
    st.session_state[key] = _active_option(runs, shared)
    if locked:  # a lesson fixes the model: say which, offer no choice
        st.caption(
            tr("{label}: **{title}**").format(label=label, title=st.session_state[key].title)
        )
        return _run_info(st.session_state[key])

    def adopt() -> None:
        picked = st.session_state[key]
        if isinstance(picked, artifacts.RunInfo):
            state.set_active_run(picked.path)
        else:
            from ui import class_runs

            class_runs.pick(picked)

    options = [*runs, *(shared or [])]
    picked = st.selectbox(
        label, options, format_func=lambda option: option.title, key=key, on_change=adopt
    )
    if shared is not None:
        from ui import class_runs

        class_runs.told_ui()
    return _run_info(picked)
