"""The Train page's live view of a training: queue, progress, the learning rate (changeable
while it runs), curves, what it reads now, and the end of the training (drawn inside the
polling fragment, so no rerun can hide it)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cnn import artifacts, datasets, i18n
from cnn.i18n import N_, tr, trn
from cnn.training import TrainConfig, TrainingError, TrainingJob, training_backend
from cnn.training.config import SETTINGS
from cnn.training.events import latest_try
from ui import charts, glossary, runtime, state

PREDICT_PAGE = "app_pages/predict.py"  # where a finished run is tried
POLL_S = 1.0  # seconds between redraws while a training runs
START = "start-training"  # the flag the Start button raises
RATE_KEY = "live-lr"  # session state: the rate box of the running job (its id follows)
RATE_PROBLEM = "live-lr-problem"  # session state: why the last rate asked for was refused
RATE_EXPLAIN = N_(
    "The learning rate is how big a step the model takes after each batch of pictures. "
    "Change it while it trains: the next batch uses it, and the charts mark where."
)
STATES = {  # a job's state -> its word on the page
    "created": N_("created"),
    "queued": N_("queued"),
    "running": N_("running"),
    "finished": N_("finished"),
    "stopped": N_("stopped"),
    "failed": N_("failed"),
}
ENDED = {  # a result's state -> the toast's sentence
    "finished": N_("Training finished."),
    "stopped": N_("Training stopped."),
    "failed": N_("Training failed."),
}


def _apply_rate(key: str) -> None:
    """Apply now's callback: this session's job uses the box's rate from its next batch on."""
    job = state.training_job()
    st.session_state.pop(RATE_PROBLEM, None)
    if job is None or job.done:
        return
    try:
        job.set_learning_rate(st.session_state[key])
    except TrainingError as err:
        st.session_state[RATE_PROBLEM] = str(err)


def _rate_ui(job: TrainingJob, events: list) -> None:
    """The learning rate now, a box to change it and Apply now (while the job runs)."""
    now = next((e.learning_rate for e in reversed(events)
                if e.kind in ("batch", "epoch", "lr") and e.learning_rate is not None),
               None)  # fmt: skip
    progress = [e for e in events if e.kind in ("batch", "epoch")]
    if job.done or job.stopping or now is None or not progress or progress[-1].progress >= 1:
        return  # nothing left that a new rate could change
    key = f"{RATE_KEY}-{id(job)}"
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.number_input(
            tr("Learning rate"),
            0.0,
            1.0,
            float(job.config.learning_rate),
            format="%.5f",
            key=key,
            width=180,
            help=tr(SETTINGS["learning_rate"].help),
        )
        st.button(tr("Apply now"), key=f"{key}-apply", on_click=_apply_rate, args=(key,))
        st.markdown(tr("In use now: **{rate}**").format(rate=f"{now:.3g}"))
    st.caption(tr(RATE_EXPLAIN))
    if problem := st.session_state.get(RATE_PROBLEM):
        st.error(problem)


def _progress_ui(job: TrainingJob, events: list) -> None:
    progress = [e for e in events if e.kind in ("batch", "epoch")]
    if not progress:
        return
    last = progress[-1]
    if job.stopping and not job.done:
        text = tr("Stopping after this batch (epoch {epoch}/{epochs})...").format(
            epoch=last.epoch, epochs=last.epochs
        )
    else:
        text = tr("Epoch {epoch}/{epochs} · batch {step}/{steps}").format(
            epoch=last.epoch, epochs=last.epochs, step=last.step, steps=last.steps
        )
        if last.eta is not None and not job.done:
            text += " · " + tr("{seconds} s left").format(seconds=i18n.number(round(last.eta)))
        if last.samples_per_s:
            speed = i18n.number(round(last.samples_per_s))
            text += " · " + tr("{speed} images/s").format(speed=speed)
    st.progress(last.progress, text=text)
    _rate_ui(job, events)
    st.plotly_chart(charts.training_curves(events), key="live-curves")
    with st.container(horizontal=True):  # side by side under the chart: no question cut
        glossary.explain_ui("accuracy")
        glossary.explain_ui("overfitting")


def model_download_ui(model: Any, label: str) -> None:
    """A download button for a trained model as a .keras file (written to a temporary file)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / artifacts.MODEL_FILE
        model.save(path)
        st.download_button(
            label,
            path.read_bytes(),
            file_name=artifacts.MODEL_FILE,
            mime="application/octet-stream",
            on_click="ignore",
        )


def _restart_ui(events: list) -> list:
    """The sentence of a training a cluster started again (it lost the worker); returns the
    events of the latest try, the only ones the progress and curves show."""
    restarts = [e.message for e in events if e.kind == "restarted"]
    if restarts:
        st.warning(restarts[-1], icon=":material/restart_alt:")
    return latest_try(events)


def _joined(*sentences: str) -> str:
    """Sentences one after another, as the language writes them (Chinese: no space between)."""
    return ("" if i18n.language() == "zh" else " ").join(s for s in sentences if s)


def _ended(result) -> str:
    """How the training ended, in the reader's language: the training thread writes its
    sentence in the server's, so a plain finish is said again here."""
    if result.state == "finished" and not result.warning:
        return trn("Finished {n} epoch.", "Finished {n} epochs.", result.epochs_run)
    return tr(result.message)


def _end_ui(job: TrainingJob) -> None:
    """How the training ended, impossible to miss: a banner (and a toast, once)."""
    result = job.result
    if job.state == "failed" or result is None:
        st.error(tr(job.error) if job.error else tr("The training ended without a result."))
        return
    if result.save_error:
        st.error(result.save_error)
        if result.model is not None:  # a Ray run that could not be saved here has none
            model_download_ui(result.model, tr("Download the trained model (.keras)"))
    score = (
        tr("Test accuracy: **{accuracy}**.").format(accuracy=i18n.percent(result.test_accuracy, 1))
        if result.test_accuracy
        else ""
    )
    seconds = tr("({seconds} s in all)").format(seconds=i18n.number(round(result.seconds)))
    text = _joined(_ended(result), score, seconds)
    if result.state == "finished" and not result.warning:
        st.success(text, icon=":material/celebration:")
    elif result.state == "finished":
        st.warning(text)
    else:
        kept = tr("The run was saved but not made the active model: pick it on Predict to try it.")
        st.warning(_joined(text, kept))
    if state.first_time(f"toast-{id(job)}"):
        ended = tr(ENDED.get(result.state, result.state))
        st.toast(_joined(ended, score.replace("**", "")), icon=":material/flag:")
    if result.run_dir and result.state == "finished":
        st.page_link(PREDICT_PAGE, label=tr("Try it on Predict"), icon=":material/draw:")


def drawing_probe(canvas, info: datasets.DatasetInfo, input_shape: tuple) -> list | None:
    """The student's last drawing on Predict as a time-lapse probe for a new training, prepared
    as the new model will prepare inputs; None without a drawing or when it cannot be read."""
    if canvas is None:
        return None
    from cnn import preprocess
    from cnn.training import preprocessing_for

    try:
        steps = preprocess.prepare_drawing(canvas, preprocessing_for(info, tuple(input_shape)))
    except preprocess.PreprocessError:
        return None
    return [("your drawing", steps.input)]


def start_training(
    config: TrainConfig,
    probes: list | None,
    asked_at: float | None = None,
    train_images: int | None = None,
) -> str | None:
    """Check the settings and start this session's job; a sentence when they cannot work.

    `asked_at` (time.monotonic() of the Start click) is its place in the queue: under load a
    page can take seconds to get here, and a later click must not overtake it.
    `train_images` (the training split's size) lets the queue estimate its time at once."""
    try:
        config.validate()
        runner, slots = training_backend()  # this server's thread, or a Ray cluster
    except TrainingError as err:
        return str(err)
    job = TrainingJob(
        config,
        artifacts.user_runs_dir(),
        slots=slots,
        runner=runner,
        extra_probes=probes,
        asked_at=asked_at,
        train_images=train_images,
    ).start()
    runtime.light_keras_clear_session()  # Keras is loaded now: before this run ends
    state.start_training_job(job)
    return None


def stop_training() -> None:
    """Stop button callback: this session's job stops after its current batch."""
    job = state.training_job()
    if job is not None:
        job.stop()


def live_snapshot_ui(snapshot: dict | None, class_names) -> None:
    """The newest time-lapse snapshot while a training runs: how each probe is read now, and
    the first layer's filters as they form."""
    if snapshot is None:
        return
    from cnn.filters import filter_images
    from ui import pictures
    from ui.timelapse import snapshot_picture

    st.markdown(
        tr("**What it reads now** (epoch {epoch})").format(epoch=i18n.number(snapshot["epoch"], 2))
    )
    images, captions = snapshot_picture(snapshot, snapshot["probe_images"], class_names)
    st.image(images, caption=captions, width=96, alt=list(captions))  # the answer, ✓ or ✗
    if snapshot["filters"] is not None:
        st.image(
            pictures.filter_mosaic(filter_images(snapshot["filters"])),
            caption=tr("First-layer filters now (each scaled on its own)"),
            alt=tr("The first layer's filters as they are now, one small square each"),
        )


def live_training_view(class_names) -> None:
    """Poll this session's job every second while it runs; rerun the whole page once when it
    ends. The job is read from session state on every run (never held by the fragment), so
    a closed tab's job and its model can be freed."""
    job = state.training_job()
    if job is None:
        return
    polling = not job.done
    del job

    @st.fragment(run_every=POLL_S if polling else None)
    def view() -> None:
        job = state.training_job()
        state.keep_events(job.drain())
        events = state.training_events()
        position, wait = job.queue_position, job.wait_seconds
        if position:
            if wait is None:
                line = tr("Waiting for a free training slot: you are number {position} in line.")
            else:
                line = tr(
                    "Waiting for a free training slot: you are number {position} in line, so "
                    "about {seconds} s to go."
                )
            shared = tr("Every student's training shares this server.")
            seconds = i18n.number(round(wait or 0))
            st.info(_joined(line.format(position=position, seconds=seconds), shared))
        statuses = [e.message for e in events if e.kind == "status" and e.message]
        if job.done:
            state.adopt_trained_run(job.result)  # before any rerun, so the sidebar shows it
            _end_ui(job)  # above the curves: on a projector the end is never below the fold
            _progress_ui(job, _restart_ui(events))
            if polling:
                st.rerun()  # once: the page stops polling
            return
        said = tr("State: **{state}**").format(state=tr(STATES.get(job.state, job.state)))
        st.caption(said + (f" · {tr(statuses[-1])}" if statuses else ""))
        _progress_ui(job, _restart_ui(events))
        live_snapshot_ui(state.latest_snapshot(), class_names)

    view()
