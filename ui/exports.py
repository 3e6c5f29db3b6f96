"""Download buttons for a run's exports (Keras, TensorFlow Lite, training script, model card).

Each export is built by `cnn.export` the first time someone clicks "Prepare" (the TensorFlow
Lite file is converted and checked against Keras, a few seconds), then kept per server by
`st.cache_data` keyed by the run and its model file's time, so the next click, and every
other student, gets it at once. An export that fails its check shows the engine's sentence.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cnn import artifacts, export
from cnn.errors import CnnError

MAX_CACHED_EXPORTS = 16  # export files kept in memory per server (a .tflite is 0.1-3 MB)
MIMES = {"keras": "application/octet-stream", "tflite": "application/octet-stream",
         "script": "text/x-python", "card": "text/markdown"}  # fmt: skip
_built: set[tuple[str, float, str]] = set()  # (run, model time, format) built on this server
_built_lock = threading.Lock()


@dataclass(frozen=True)
class ExportFile:
    """A built export: what the browser downloads, and what was checked."""

    file_name: str
    data: bytes
    note: str


@st.cache_data(max_entries=MAX_CACHED_EXPORTS, show_spinner=False)
def _build(run_path: str, model_mtime: float, fmt: str) -> ExportFile:
    """One export of a run, written to a temporary folder and read back (raises CnnError)."""
    with tempfile.TemporaryDirectory() as folder:
        exported = export.export_run(run_path, fmt, folder)
        return ExportFile(exported.path.name, exported.path.read_bytes(), exported.note)


def _model_mtime(run_path: Path) -> float:
    try:
        return (run_path / artifacts.MODEL_FILE).stat().st_mtime
    except OSError:
        return 0.0  # the export itself then says the run is broken


def export_button_ui(run_info: artifacts.RunInfo, fmt: str) -> None:
    """A "Prepare" button for one format, then its download button (or a sentence)."""
    key = (str(run_info.path), _model_mtime(run_info.path), fmt)
    with _built_lock:
        ready = key in _built
    if not ready and not st.button(
        f"Prepare {export.FORMATS[fmt]}", key=f"export-{fmt}-{run_info.name}", width="stretch"
    ):
        return
    try:
        with st.spinner(f"Preparing the {export.FORMATS[fmt]}..."):
            built = _build(*key)
    except CnnError as err:
        st.error(str(err))
        return
    with _built_lock:
        _built.add(key)
    st.download_button(
        f"Download {export.FORMATS[fmt]}",
        built.data,
        file_name=built.file_name,
        mime=MIMES[fmt],
        on_click="ignore",
        icon=":material/download:",
        key=f"download-{fmt}-{run_info.name}",
        width="stretch",
    )
    st.caption(built.note)


def export_buttons_ui(run_info: artifacts.RunInfo) -> None:
    """Exports of one run, side by side: each prepared on click, checked, then downloadable."""
    st.markdown("**Export** (every file is checked before it is offered)")
    for fmt, column in zip(export.FORMATS, st.columns(len(export.FORMATS)), strict=True):
        with column:
            export_button_ui(run_info, fmt)
