"""Exports of a run, each verified before it is offered.

- "keras": the run's model.keras, copied and reloaded with `safe_mode=True`;
- "tflite": TensorFlow Lite from TensorFlow's converter, run back with the LiteRT interpreter
  and compared with Keras on real test images (refused with a sentence when they disagree);
- "script": a standalone Keras training script (no CNN Lab import) that builds the same
  network and trains it on the same data with the same settings;
- "card": a model card in Markdown.

Example:
    >>> exported = export_run("artifacts/<run>", "tflite", "exports/")
    >>> exported.path, exported.note
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cnn import artifacts
from cnn.errors import ExportError

FORMATS = {  # format -> what it is, for people (short: four buttons share a row)
    "keras": "Keras model",
    "tflite": "TensorFlow Lite",
    "script": "Training script",
    "card": "Model card",
}
SUFFIXES = {"keras": ".keras", "tflite": ".tflite", "script": "_train.py", "card": "_card.md"}

__all__ = ["FORMATS", "ExportError", "Exported", "export_run", "file_name"]


@dataclass
class Exported:
    """A written export: its format, its file, and what was checked (a sentence)."""

    format: str
    path: Path
    note: str


def file_name(run_name: str, fmt: str) -> str:
    """The export's file name: the run's folder name and the format's suffix."""
    return f"{run_name}{SUFFIXES[fmt]}"


def _keras(run: artifacts.Run, path: Path) -> str:
    shutil.copyfile(run.info.path / artifacts.MODEL_FILE, path)
    reloaded = artifacts.load_model_file(path)
    return f"Reloaded with safe_mode=True: {reloaded.count_params():,} parameters."


def _tflite(run: artifacts.Run, path: Path) -> str:
    from cnn.export import inputs, tflite

    reference = inputs.reference_inputs(run)
    result = tflite.check(run.model, reference.images)
    if not result.agrees:
        raise ExportError(
            f"The TensorFlow Lite file disagrees with the Keras model on {reference.source} "
            f"(largest probability difference {result.max_difference:.1e}), so it is not offered."
        )
    path.write_bytes(result.content)
    return (
        f"Run back with LiteRT on {reference.source}: same top class on every one, largest "
        f"probability difference {result.max_difference:.1e}."
    )


def _script(run: artifacts.Run, path: Path) -> str:
    from cnn.export.script import script_source

    path.write_text(script_source(run.record, path.name), encoding="utf-8")
    return f"Builds the same {run.model.count_params():,}-parameter network with Keras alone."


def _card(run: artifacts.Run, path: Path) -> str:
    from cnn.export.card import model_card

    path.write_text(model_card(run.record), encoding="utf-8")
    return "Data, architecture, settings, test and per-class accuracy, known limits."


WRITERS = {"keras": _keras, "tflite": _tflite, "script": _script, "card": _card}


def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path) -> Exported:
    """Write one export of a run into `out_dir`, after checking it.

    Args:
        run_dir: the run folder.
        fmt: a key of FORMATS.
        out_dir: the folder the file goes to (made when missing).

    Returns:
        The Exported file with a sentence saying what was checked.

    Raises:
        ExportError: an unknown format, or an export that failed its check.
        ArtifactError: the run cannot be loaded.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    run = artifacts.load_run(run_dir)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / file_name(run.info.name, fmt)
        note = WRITERS[fmt](run, path)
    except OSError as err:
        raise ExportError(f"Could not write the export into {out}: {err.strerror}.") from err
    return Exported(fmt, path, note)
