"""`train`: train a model and save its run. Options mirror `TrainConfig` field by field, built
from its schema (`cnn.training.config.SETTINGS`: type, choices, help, default), and a value out
of range is refused with the schema's sentence before anything loads."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from cnn import artifacts, datasets
from cnn.cli import CliError, print_json
from cnn.i18n import percent, tr
from cnn.training import config as settings
from cnn.training.config import TrainConfig
from cnn.training.events import TrainingEvent

# TrainConfig fields that are options of their own (not generated)
OWN_OPTIONS = ("dataset", "data", "arch", "spec")
FLAGS = {"teachers": "--teacher"}  # --teacher: repeatable; other flags are the schema's keys


def _progress_printer(event: TrainingEvent) -> None:
    """Training progress on stderr: status lines, a batch line overwritten in place, epochs."""
    if event.kind == "batch":
        eta = f" eta {event.eta:.0f}s" if event.eta is not None else ""
        speed = f" {event.samples_per_s:.0f} img/s" if event.samples_per_s else ""
        print(
            f"\repoch {event.epoch}/{event.epochs} batch {event.step}/{event.steps} "
            f"loss {event.loss:.4f}{speed}{eta}   ",
            end="",
            file=sys.stderr,
            flush=True,
        )
    elif event.kind == "epoch":
        val = ""
        if event.val_accuracy is not None:
            val = f" val_loss {event.val_loss:.4f} val_acc {event.val_accuracy:.4f}"
        print(
            f"\repoch {event.epoch}/{event.epochs} loss {event.loss:.4f} "
            f"acc {event.accuracy:.4f}{val} ({event.elapsed:.1f}s)",
            file=sys.stderr,
            flush=True,
        )
    elif event.kind == "snapshot":
        pass  # the time-lapse is saved with the run (`python -m cnn timelapse`)
    elif event.kind == "status" and event.message:
        print(event.message, file=sys.stderr, flush=True)
    elif event.kind == "restarted":  # on a line of its own, after the batch line
        print(f"\n{event.message}", file=sys.stderr, flush=True)


def _read_spec(path: str) -> dict:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CliError(
            tr("Cannot read the spec file {path}: {error}.").format(path=path, error=err)
        ) from err
    # a run's run.json holds its spec: retrain exactly that architecture
    return spec.get("spec", spec) if isinstance(spec, dict) else spec


def config_from_args(args) -> TrainConfig:
    """The TrainConfig the options describe: the preset (if any), then every option given.

    Raises:
        TrainingError: an option's value is out of its range (the schema's sentence), before
            any data is loaded.
    """
    given = {
        name: _read(about, getattr(args, name))
        for name, about in settings.SETTINGS.items()
        if name not in OWN_OPTIONS and getattr(args, name, None) is not None
    }
    args.dataset = settings.SETTINGS["dataset"].parse(args.dataset)
    if args.arch is not None:
        args.arch = settings.SETTINGS["arch"].parse(args.arch)
    values: dict = {}
    if args.preset:
        # the preset adapts to the data's size and kind (a made folder may hold drawings),
        # so the data is looked at first
        data = datasets.load(args.dataset, args.data)
        values.update(settings.preset_settings(args.preset, data.info.kind, len(data.train)))
    values.update(given)
    spec = _read_spec(args.spec) if args.spec else None
    arch = "custom" if spec else args.arch or values.pop("arch", TrainConfig.arch)
    values.pop("arch", None)
    return TrainConfig(dataset=args.dataset, data=args.data, arch=arch, spec=spec, **values)


def _read(about: settings.Setting, given):
    """An option's value: text as the schema reads it (the one sentence for a bad value, as a
    lesson link gets it), switches and repeated options as given."""
    return about.parse(given) if isinstance(given, str) else about.check(given)


def cmd_train(args) -> int:
    from cnn.training import train

    config = config_from_args(args)
    out = Path(args.out) if args.out else artifacts.user_runs_dir()
    runner = train
    # stdout holds the one document: what libraries print meanwhile goes to stderr (Ray's
    # driver prints its notes about a lost worker on stdout, whatever log_to_driver says)
    with contextlib.redirect_stdout(sys.stderr):
        if args.ray:
            from cnn.training.ray_backend import RayRunner

            runner = RayRunner(args.ray)
        result = runner(config, events=_progress_printer, out_dir=out)
    print(file=sys.stderr)
    if result.state == "failed":
        raise CliError(result.message)
    if result.save_error:
        raise CliError(result.save_error)
    doc = {
        "run_dir": str(result.run_dir),
        "test_accuracy": result.test_accuracy,
        "epochs_run": result.epochs_run,
        "seconds": round(result.seconds, 2),
        "state": result.state,
        "message": result.message,
    }
    if args.json:
        print_json(doc)
    else:
        done = tr("Test accuracy {accuracy}. Saved {run}").format(
            accuracy=f"{result.test_accuracy:.4f}", run=result.run_dir
        )
        print(f"{result.message} {done}")
        note = near_chance_note(result.test_accuracy, _class_count(result))
        if note:
            print(note, file=sys.stderr)
    return 0


CHANCE_MARGIN = 0.1  # test accuracy within this of guessing gets a sentence


def near_chance_note(accuracy: float | None, classes: int | None) -> str | None:
    """A sentence when a training scored barely better than guessing one class in k."""
    if accuracy is None or not classes or accuracy >= 1 / classes + CHANCE_MARGIN:
        return None
    return tr(
        "That is close to guessing ({share} for {classes} classes): the model has barely "
        "learned yet. Train longer or on more images, for example with --preset Quick."
    ).format(share=percent(1 / classes), classes=classes)


def _class_count(result) -> int | None:
    """How many classes the run has (its record, or its run.json when trained elsewhere)."""
    record = result.record
    if record is None and result.run_dir is not None:
        record = artifacts.read_run_info(result.run_dir).record
    return len(record.class_names) if record is not None else None


def _help(about: settings.Setting) -> str:
    """An option's help: the schema's, what is allowed and the default (% escaped for argparse)."""
    limited = about.choices or about.low is not None or about.high is not None
    must = " " + tr("Must be {allowed}.").format(allowed=about.allowed()) if limited else ""
    default = (
        "" if about.default is None else " " + tr("Default {value}.").format(value=about.default)
    )
    return f"{tr(about.help)}{must}{default}".replace("%", "%%")


def _add_config_options(parser) -> None:
    """One option per TrainConfig field, read from the schema (defaults None: only what is
    given overrides the preset); `--augment` is short for `--augmentation standard`."""
    for name, about in settings.SETTINGS.items():
        if name in OWN_OPTIONS:
            continue
        flag = FLAGS.get(name, "--" + about.key.replace("_", "-"))
        if about.kind is bool:  # on by default (timelapse): the option switches it off
            no = "--no-" + about.key.replace("_", "-")
            parser.add_argument(no, dest=name, action="store_false", default=None,
                                help=_help(about))  # fmt: skip
        elif about.kind is list:
            metavar = "LAYER" if name == "freeze" else "RUN"
            parser.add_argument(flag, dest=name, action="append", metavar=metavar,
                                help=_help(about) + " " + tr("Repeat for more."))  # fmt: skip
        else:
            # read as text and checked by the schema (config_from_args), not by argparse, so
            # a bad value or choice gets the sentence a lesson link gets
            choices = "{" + ",".join(about.choices) + "}" if about.choices else None
            parser.add_argument(flag, dest=name, metavar=choices, help=_help(about))
    parser.add_argument("--augment", dest="augmentation", action="store_const", const="standard",
                        help=tr("short for --augmentation standard"))  # fmt: skip


def register(sub, common) -> None:
    """Add `train`."""
    t = sub.add_parser("train", parents=[common], help=tr("train a model and save the run"))
    schema = settings.SETTINGS
    t.add_argument("--dataset", default=TrainConfig.dataset, help=_help(schema["dataset"]),
                   metavar="{" + ",".join(schema["dataset"].choices) + "}")  # fmt: skip
    t.add_argument("--data", help=_help(schema["data"]))
    t.add_argument("--arch", metavar="{" + ",".join(schema["arch"].choices) + "}",
                   help=tr("default: the preset's, else {arch}").format(
                       arch=TrainConfig.arch))  # fmt: skip
    t.add_argument("--spec", help=tr("JSON file with an architecture spec, or a run's run.json"))
    t.add_argument("--preset", choices=list(settings.PRESETS),
                   help=tr("a classroom preset; options given as well override it"))  # fmt: skip
    _add_config_options(t)
    t.add_argument(
        "--out", help=tr("folder for the run (default: $CNN_RUNS_DIR or ~/.cnn_lab/runs)")
    )
    t.add_argument("--ray", metavar="ADDRESS",
                   help=tr("train as a task on this Ray cluster ('auto': the one `ray start "
                           "--head` started here; needs requirements-cluster.txt)"))  # fmt: skip
    t.set_defaults(run=cmd_train)
