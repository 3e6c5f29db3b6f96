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
from cnn.i18n import N_, tr
from cnn.i18n import number as i18n_number

FORMATS = {  # format -> what it is, for people (short: four buttons share a row)
    "keras": N_("Keras model"),
    "tflite": "TensorFlow Lite",
    "script": N_("Training script"),
    "card": N_("Model card"),
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
    return tr("Reloaded with safe_mode=True: {params} parameters.").format(
        params=i18n_number(reloaded.count_params())
    )


def _tflite(run: artifacts.Run, path: Path) -> str:
    from cnn.export import inputs, tflite

    reference = inputs.reference_inputs(run)
    result = tflite.check(run.model, reference.images)
    if not result.agrees:
        raise ExportError(
            tr(
                "The TensorFlow Lite file disagrees with the Keras model on {source} (largest "
                "probability difference {difference}), so it is not offered."
            ).format(source=reference.source, difference=f"{result.max_difference:.1e}")
        )
    path.write_bytes(result.content)
    return tr(
        "Run back with LiteRT on {source}: same top class on every one, largest probability "
        "difference {difference}."
    ).format(source=reference.source, difference=f"{result.max_difference:.1e}")


def _script(run: artifacts.Run, path: Path) -> str:
    from cnn.export.script import script_source

    path.write_text(script_source(run.record, path.name), encoding="utf-8")
    return tr("Builds the same {params}-parameter network with Keras alone.").format(
        params=i18n_number(run.model.count_params())
    )


def _card(run: artifacts.Run, path: Path) -> str:
    from cnn.export.card import model_card

    path.write_text(model_card(run.record), encoding="utf-8")
    return tr("Data, architecture, settings, test and per-class accuracy, known limits.")


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
        raise ExportError(
            tr("Unknown export format {format}: choose one of {formats}.").format(
                format=repr(fmt), formats=", ".join(FORMATS)
            )
        )
    run = artifacts.load_run(run_dir)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / file_name(run.info.name, fmt)
        note = WRITERS[fmt](run, path)
    except OSError as err:
        raise ExportError(
            tr("Could not write the export into {folder}: {why}.").format(
                folder=out, why=err.strerror
            )
        ) from err
    return Exported(fmt, path, note)
