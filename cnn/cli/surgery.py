"""`surgery`: knock out channels or set first-layer filters on a copy of a run, and measure it.

The run itself is never written: the edited copy is saved as a new run (under --out, else
the user runs folder) whose run.json says what was changed; test accuracy is measured before
and after on the same test images.

Example:
    python -m cnn surgery --model artifacts/<run> --zero conv1:3 --zero conv1:5 \
        --set-filter conv1:0=sobel_x --out runs --json
"""

from __future__ import annotations

from cnn.cli import CliError, print_json
from cnn.cli.runs import load_run
from cnn.i18n import tr


def cmd_surgery(args) -> int:
    from cnn.surgery import SurgeryError, operate, parse_change

    load_run(args.model)  # a sentence when the folder is not a run
    try:
        changes = [parse_change("zero", z) for z in args.zero or []]
        changes += [parse_change("set_filter", s) for s in args.set_filter or []]
        result = operate(args.model, changes, args.out, args.max_test)
    except SurgeryError as err:
        raise CliError(str(err)) from err
    if args.json:
        print_json(result.to_dict())
    else:
        doc = result.to_dict()
        print(tr("saved {folder}").format(folder=doc["run_dir"]))
        print(
            tr("test accuracy on {n} images: {before} -> {after}").format(
                n=doc["test_images"],
                before=f"{doc['test_accuracy_before']:.4f}",
                after=f"{doc['test_accuracy_after']:.4f}",
            )
        )
        for row in doc["per_class"]:
            print(f"  {row['name']:<20} {row['before']:.4f} -> {row['after']:.4f} ({row['n']})")
    return 0


def register(sub, common) -> None:
    """Add `surgery`."""
    from cnn.surgery import PRESETS

    s = sub.add_parser(
        "surgery", parents=[common], help=tr("zero channels or set filters on a copy of a run")
    )
    s.add_argument("--model", required=True, help=tr("run folder (it is copied, never changed)"))
    s.add_argument(
        "--zero",
        action="append",
        metavar="LAYER:CHANNEL",
        help=tr("knock a channel out (repeatable)"),
    )
    s.add_argument(
        "--set-filter",
        action="append",
        metavar="LAYER:CHANNEL=PRESET|v,v,...",
        help=tr("set a first-layer filter: a preset ({presets}) or its numbers").format(
            presets=", ".join(PRESETS)
        ),
    )
    s.add_argument("--out", help=tr("folder for the new run (default: the user runs folder)"))
    s.add_argument(
        "--max-test", type=int, default=None, help=tr("measure on at most this many test images")
    )
    s.set_defaults(run=cmd_surgery)
