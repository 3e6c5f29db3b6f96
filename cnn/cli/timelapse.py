"""`timelapse`: how a run's predictions formed while it trained (see `cnn.timelapse`)."""

from __future__ import annotations

import numpy as np

from cnn import artifacts, timelapse
from cnn.cli import CliError, print_json
from cnn.i18n import tr, trn


def cmd_timelapse(args) -> int:
    run = artifacts.read_run_info(args.model)  # the record and the arrays: no model, no TF
    if not run.ok:
        raise CliError(tr("Run {name} is broken: {error}").format(name=run.name, error=run.error))
    lapse = timelapse.load(run.path)
    if lapse is None or run.record.timelapse is None:
        raise CliError(
            tr(
                "Run {name} has no time-lapse: it was trained without one (retrain it with the "
                "time-lapse on, the default)."
            ).format(name=run.name)
        )
    class_names = run.record.class_names
    doc = lapse.to_json(run.record.timelapse, class_names)
    if args.json:
        print_json(doc)
        return 0
    labels = [probe["label"] for probe in doc["probes"]]
    snapshots = trn("{n} snapshot", "{n} snapshots", len(doc["frames"]))
    probes = trn("{n} probe", "{n} probes", len(labels))
    said = tr("{snapshots} of {probes}: {labels}")
    print(said.format(snapshots=snapshots, probes=probes, labels=", ".join(labels)))
    for frame in doc["frames"]:
        reads = [class_names[i] for i in np.argmax(frame["probabilities"], axis=-1)]
        loss = "-" if frame["loss"] is None else f"{frame['loss']:.3f}"
        print(f"epoch {frame['epoch']:>6.2f}  loss {loss:>6}  reads: {' '.join(reads)}")
    return 0


def register(sub, common) -> None:
    """Add `timelapse`."""
    p = sub.add_parser(
        "timelapse", parents=[common], help=tr("snapshots taken while a run trained")
    )
    p.add_argument("--model", required=True, help=tr("run folder"))
    p.set_defaults(run=cmd_timelapse, needs_tensorflow=False)
