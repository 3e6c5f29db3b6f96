"""`timelapse`: how a run's predictions formed while it trained (see `cnn.timelapse`)."""

from __future__ import annotations

import numpy as np

from cnn import artifacts, timelapse
from cnn.cli import CliError, print_json


def cmd_timelapse(args) -> int:
    run = artifacts.read_run_info(args.model)  # the record and the arrays: no model, no TF
    if not run.ok:
        raise CliError(f"Run {run.name} is broken: {run.error}")
    lapse = timelapse.load(run.path)
    if lapse is None or run.record.timelapse is None:
        raise CliError(
            f"Run {run.name} has no time-lapse: it was trained without one "
            "(retrain it with the time-lapse on, the default)."
        )
    class_names = run.record.class_names
    doc = lapse.to_json(run.record.timelapse, class_names)
    if args.json:
        print_json(doc)
        return 0
    labels = [probe["label"] for probe in doc["probes"]]
    print(f"{len(doc['frames'])} snapshots of {len(labels)} probes: {', '.join(labels)}")
    for frame in doc["frames"]:
        reads = [class_names[i] for i in np.argmax(frame["probabilities"], axis=-1)]
        loss = "-" if frame["loss"] is None else f"{frame['loss']:.3f}"
        print(f"epoch {frame['epoch']:>6.2f}  loss {loss:>6}  reads: {' '.join(reads)}")
    return 0


def register(sub, common) -> None:
    """Add `timelapse`."""
    p = sub.add_parser("timelapse", parents=[common], help="snapshots taken while a run trained")
    p.add_argument("--model", required=True, help="run folder")
    p.set_defaults(run=cmd_timelapse, needs_tensorflow=False)
