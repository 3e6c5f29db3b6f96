"""`calibrate`: fit a saved run's temperature and its "unlike my training data" threshold again.

A training does this itself (`cnn.training.confidence`). This command does it for a run
trained before CNN Lab measured confidence, or on data the run's machine lacked: it rebuilds
the run's own validation split (the same seed and share, so still images it never trained
on), fits the temperature there, measures the expected calibration error before and after on
the test split, fits the training features' class means and covariance, chooses the
threshold at 5% false alarms on the test split and measures how many foreign images it
flags. The run's run.json is rewritten with the figures (and familiarity.npz written).

With `--tta mirror` the run is from then on read with each image's mirror image too (test-time
augmentation, as `train --tta mirror` does): the test figures, the kept test images
(errors.npz), the temperature and the flag are all measured again that way and rewritten.

    python -m cnn calibrate --model artifacts/<run> --json
    python -m cnn calibrate --model artifacts/<run> --tta mirror --json
"""

from __future__ import annotations

from dataclasses import asdict, replace

from cnn import artifacts
from cnn.cli import CliError, print_json
from cnn.cli.runs import load_run
from cnn.i18n import tr
from cnn.training.config import SETTINGS


def cmd_calibrate(args) -> int:
    from cnn.training.confidence import measure_confidence
    from cnn.training.loop import prepare, tested

    run = load_run(args.model)
    record = run.record
    if record.dataset.key == "folder" and not record.config.data:
        raise CliError(
            tr("This run's images were an upload that is not kept: none to calibrate on.")
        )
    config = replace(record.config, spec=record.spec.to_dict())
    if args.tta is not None:  # the schema's sentence for a bad value (main() prints it)
        config = replace(config, tta=SETTINGS["tta"].parse(args.tta))
        config.validate()  # a TrainingError: main() prints its sentence
    prepared = prepare(config)
    if list(prepared.data.class_names) != list(run.class_names):
        raise CliError(tr("The data's classes are not the run's: it cannot be calibrated on them."))
    pre = record.preprocessing
    shape = (*pre.image_size, pre.channels)
    prepared = replace(prepared, input_shape=shape)
    result, test_record, errors = tested(prepared, run.model)
    record.calibration, record.ood, gaussian = measure_confidence(
        prepared, run.model, result.logits, result.labels
    )
    if args.tta is not None:  # the run is read another way from now on: its test figures too
        record.config.tta, record.test = args.tta, test_record
        artifacts.save_errors(run.info.path, errors)
    artifacts.save_gaussian(run.info.path, gaussian)  # None: an earlier check's file goes
    artifacts.write_record(run.info.path, record)
    doc = {
        "run": run.info.path.name,
        "test_accuracy": result.accuracy,
        "tta": config.tta,
        "calibration": None if record.calibration is None else _brief(asdict(record.calibration)),
        "ood": asdict(record.ood),
    }
    if args.json:
        print_json(doc)
    else:
        for key, value in doc.items():
            print(f"{key}: {value}")
    return 0


def _brief(calibration: dict) -> dict:
    """The calibration without its diagrams' bins (they are in run.json)."""
    return {k: v for k, v in calibration.items() if not k.startswith("reliability")}


def register(sub, common) -> None:
    """Add `calibrate`."""
    c = sub.add_parser(
        "calibrate", parents=[common], help=tr("fit a saved run's temperature and unfamiliar check")
    )
    c.add_argument("--model", required=True, help=tr("run folder (its run.json is rewritten)"))
    c.add_argument(
        "--tta",
        metavar="{" + ",".join(SETTINGS["tta"].choices) + "}",
        help=tr("{setting} from now on; default: as the run was trained").format(
            setting=SETTINGS["tta"].help
        ),
    )
    c.set_defaults(run=cmd_calibrate)
