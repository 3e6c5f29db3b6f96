"""Download buttons for a run's exports (Keras, TensorFlow Lite, training script, model card).

Each export is built by `cnn.export` the first time someone clicks its button (the TensorFlow
Lite file is converted and checked against Keras, a few seconds), into a server-wide folder
keyed by the run and its model file's time; from then on every rerun, and every other
student, gets the download button at once. A file lands in that folder only after its check
passed (written beside it first, then renamed), with a sentence saying what was checked; an
export that fails shows the engine's sentence instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import streamlit as st

from cnn import artifacts, export
from cnn.errors import CnnError
from cnn.i18n import N_, language, tr

EXPORTS_ROOT = Path(tempfile.gettempdir()) / "cnn_lab_exports"  # one folder per run version
NOTE_SUFFIX = ".checked.txt"  # beside each export: the sentence saying what was checked
# (written in the language of whoever prepared it; others read the English one when kept)
HELP = {  # what each export is, shown as the button's tooltip before it is prepared
    "keras": N_("the model with its weights, reloaded here with safe_mode to check it."),
    "tflite": N_("for phones and boards; run back with LiteRT and compared with Keras first."),
    "script": N_("a plain Keras script that trains this network again, without CNN Lab."),
    "card": N_("what the model learned from, how well it does per class, and its limits."),
}
MIMES = {"keras": "application/octet-stream", "tflite": "application/octet-stream",
         "script": "text/x-python", "card": "text/markdown"}  # fmt: skip


def _export_path(run_info: artifacts.RunInfo, fmt: str) -> Path:
    """Where this run version's export of `fmt` is kept (a new model file: a new folder)."""
    try:
        version = int((run_info.path / artifacts.MODEL_FILE).stat().st_mtime_ns)
    except OSError:
        version = 0  # the export itself then says the run is broken
    folder = EXPORTS_ROOT / f"{run_info.name}-{version}"
    return folder / export.file_name(run_info.name, fmt)


def _note_path(path: Path, code: str) -> Path:
    """Where the sentence of what was checked is kept, in the language `code`."""
    return path.with_name(path.name + ("" if code == "en" else f".{code}") + NOTE_SUFFIX)


def _note(path: Path) -> str:
    """What was checked, in the reader's language when it was written in it, else in the
    language it was prepared in."""
    kept = [_note_path(path, code) for code in (language(), "en")]
    kept += sorted(path.parent.glob(path.name + ".*" + NOTE_SUFFIX))
    return next((n.read_text(encoding="utf-8") for n in kept if n.is_file()), "")


def _build(run_info: artifacts.RunInfo, fmt: str, path: Path) -> None:
    """Export into a fresh folder beside `path`, then rename file and note into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as staging:
        exported = export.export_run(run_info.path, fmt, staging)
        note = exported.path.with_name(exported.path.name + NOTE_SUFFIX)
        note.write_text(exported.note, encoding="utf-8")
        os.replace(note, _note_path(path, language()))
        os.replace(exported.path, path)


def export_button_ui(run_info: artifacts.RunInfo, fmt: str) -> None:
    """One format: a button that prepares it, then its download button (or a sentence)."""
    path = _export_path(run_info, fmt)
    title = tr(export.FORMATS[fmt])
    if not path.is_file():
        clicked = st.button(
            title,
            key=f"export-{fmt}-{run_info.name}",
            icon=":material/build:",
            help=tr("Prepare the {title} file: {what}").format(title=title, what=tr(HELP[fmt])),
            width="stretch",
        )
        if not clicked:
            return
        try:
            with st.spinner(tr("Preparing the {title}...").format(title=title)):
                _build(run_info, fmt, path)
        except CnnError as err:
            st.error(str(err))
            return
        st.rerun()  # draw the download button in the button's place
    st.download_button(
        title,
        path.read_bytes(),
        file_name=path.name,
        mime=MIMES[fmt],
        on_click="ignore",
        icon=":material/download:",
        key=f"download-{fmt}-{run_info.name}",
        width="stretch",
    )
    st.caption(_note(path))


def export_buttons_ui(run_info: artifacts.RunInfo) -> None:
    """Exports of one run, side by side: each prepared on click, checked, then downloadable."""
    st.markdown(
        tr(
            "**Export**: click a format to prepare it, then again to download it "
            "(every file is checked before it is offered)."
        )
    )
    for fmt, column in zip(export.FORMATS, st.columns(len(export.FORMATS)), strict=True):
        with column:
            export_button_ui(run_info, fmt)
