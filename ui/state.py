"""Every `st.session_state` key CNN Lab uses, in one place, with small accessors.

Session state is per browser session, so everything here is private to one student: the
active model, the training job, its events, the runs this session created (the only ones
it may delete) and the canvas generation (bumped to clear the drawing).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

ACTIVE_RUN = "active_run"  # str path of the run Predict and Models open first
TRAINING_JOB = "training_job"  # this session's cnn.training.TrainingJob (one at a time)
TRAINING_EVENTS = "training_events"  # TrainingEvents drained from that job so far
SESSION_RUNS = "session_runs"  # str paths of runs trained in this session (deletable)
CANVAS_GENERATION = "canvas_generation"  # part of the canvas widget key; bumping it clears
SAMPLE_SEED = "sample_seed"  # picks the random test image on Predict
DATA_SEED = "data_seed"  # picks the sample grid on Data
CURRENT_INPUT = "current_input"  # the input Predict last prepared (other pages probe it)
SEEN = "seen"  # names of one-time things this session has already shown
LATEST_SNAPSHOT = "latest_snapshot"  # the newest time-lapse snapshot of this session's job
OWN_DATASET = "own_dataset"  # str path of a dataset folder this session made in the browser
CANVAS_KEY = "canvas"  # widget key of the first canvas (tests inject drawings under it)
SAVED_DRAWING = "saved_drawing"  # the canvas's last value {data, paths}, kept off-page
RESTORED_DRAWING = "restored_drawing"  # (canvas key, value) the canvas got when mounted
SESSION_ID = "session_id"  # random id naming this session's private upload folder
UPLOADS_ROOT = Path(tempfile.gettempdir()) / "cnn_lab_sessions"  # one subfolder per session


def active_run() -> Path | None:
    """The run the session works with, or None before one is chosen or trained."""
    path = st.session_state.get(ACTIVE_RUN)
    return Path(path) if path else None


def set_active_run(path: str | Path) -> None:
    """Make a run the active model."""
    st.session_state[ACTIVE_RUN] = str(path)


def training_job() -> Any:
    """This session's TrainingJob, or None."""
    return st.session_state.get(TRAINING_JOB)


def start_training_job(job: Any) -> None:
    """Keep a freshly started job and forget the events of the previous one."""
    st.session_state[TRAINING_JOB] = job
    st.session_state[TRAINING_EVENTS] = []
    st.session_state[LATEST_SNAPSHOT] = None


def latest_snapshot() -> dict | None:
    """The newest time-lapse snapshot of this session's training (see cnn.timelapse)."""
    return st.session_state.get(LATEST_SNAPSHOT)


def keep_events(new: list) -> None:
    """Add drained events to this session's list; of the snapshots keep only the newest."""
    snapshots = [e for e in new if e.kind == "snapshot"]
    if snapshots:
        st.session_state[LATEST_SNAPSHOT] = snapshots[-1].snapshot
    training_events().extend(e for e in new if e.kind != "snapshot")


def training_events() -> list:
    """The events of the current job drained so far (a list the page appends to)."""
    return st.session_state.setdefault(TRAINING_EVENTS, [])


def session_runs() -> set[str]:
    """Paths of the runs this session trained: the only runs it may delete."""
    return st.session_state.setdefault(SESSION_RUNS, set())


def remember_session_run(path: str | Path) -> bool:
    """Record a run trained in this session; True the first time it is seen."""
    runs = session_runs()
    if str(path) in runs:
        return False
    runs.add(str(path))
    return True


def adopt_trained_run(result: Any) -> None:
    """Make a saved training result this session's own run (once), and the active model when
    it finished (a stopped run is kept, but a student picks it on purpose)."""
    if result is None or result.run_dir is None or not remember_session_run(result.run_dir):
        return
    if result.state == "finished":
        set_active_run(result.run_dir)


def generation(name: str) -> int:
    """A counter that is part of a widget's key: a new generation is a fresh widget."""
    return st.session_state.get(f"generation-{name}", 0)


def next_generation(name: str) -> None:
    """Reset the widgets keyed with `generation(name)` (a cleared chart selection, say)."""
    st.session_state[f"generation-{name}"] = generation(name) + 1


def raise_flag(name: str) -> None:
    """Mark that something was asked for, and when (a button callback: it runs first thing
    in the rerun the click starts); `take_flag` answers once."""
    st.session_state[f"flag-{name}"] = time.monotonic()


def take_flag(name: str) -> float | None:
    """When `name` was asked for (time.monotonic()) if it was since the last time, clearing
    it; None otherwise."""
    return st.session_state.pop(f"flag-{name}", None)


def first_time(name: str) -> bool:
    """True the first time this session asks about `name` (a toast shown once, say)."""
    seen = st.session_state.setdefault(SEEN, set())
    if name in seen:
        return False
    seen.add(name)
    return True


def canvas_key() -> str:
    """The canvas widget key; a new key gives an empty canvas."""
    generation = st.session_state.get(CANVAS_GENERATION, 0)
    return CANVAS_KEY if generation == 0 else f"{CANVAS_KEY}-{generation}"


def clear_canvas() -> None:
    """Empty the canvas (used as a button or radio callback); the kept drawing goes too."""
    st.session_state[CANVAS_GENERATION] = st.session_state.get(CANVAS_GENERATION, 0) + 1
    st.session_state.pop(SAVED_DRAWING, None)
    st.session_state.pop(RESTORED_DRAWING, None)


def new_sample() -> None:
    """Pick another random test image on Predict (used as a button callback)."""
    st.session_state[SAMPLE_SEED] = st.session_state.get(SAMPLE_SEED, 0) + 1


@dataclass(frozen=True)
class CurrentInput:
    """The input Predict prepared last: for which run, what the model got, where it came from.

    Attributes:
        run: str path of the run it was prepared for.
        steps: the cnn.preprocess.Steps (steps.input is exactly the model input).
        source: "Draw", "Upload" or "Samples".
        label: the true class index when known (a test sample), else None.
    """

    run: str
    steps: Any
    source: str
    label: int | None = None


def set_current_input(current: CurrentInput) -> None:
    """Remember the input Predict shows, for the pages that look further into it."""
    st.session_state[CURRENT_INPUT] = current


def current_input(run: str | Path) -> CurrentInput | None:
    """The input Predict last prepared for `run`, or None (nothing yet, or another model)."""
    current = st.session_state.get(CURRENT_INPUT)
    return current if current is not None and current.run == str(run) else None


def latest_drawing() -> np.ndarray | None:
    """The canvas (RGB) of the drawing Predict last read, for any model, or None."""
    current = st.session_state.get(CURRENT_INPUT)
    if current is None or current.source != "Draw":
        return None
    return current.steps.steps[0][1]


def set_own_dataset(path: str | Path | None) -> None:
    """Remember (or forget, with None) a dataset folder this session made in the browser."""
    st.session_state[OWN_DATASET] = None if path is None else str(path)


def own_dataset() -> Path | None:
    """The dataset folder this session made in the browser, or None."""
    path = st.session_state.get(OWN_DATASET)
    return Path(path) if path and Path(path).is_dir() else None


def data_seed() -> int:
    """The seed of the Data page's sample grid."""
    return st.session_state.get(DATA_SEED, 0)


def new_data_samples() -> None:
    """Pick other samples on Data (used as a button callback)."""
    st.session_state[DATA_SEED] = data_seed() + 1


def session_folder() -> Path:
    """This browser session's private folder (named by a random id, never by user text)."""
    return UPLOADS_ROOT / st.session_state.setdefault(SESSION_ID, uuid.uuid4().hex)


def save_upload(data: bytes, suffix: str) -> Path:
    """Store an uploaded file in this session's private folder and return its path.

    The name is the content's hash, never the name the user gave the file, so no user
    text ever becomes part of a path and no session can reach another's uploads.
    """
    folder = session_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return path
