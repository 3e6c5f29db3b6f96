"""Command line: `python -m cnn <command> [--json]`.

Every command prints a readable table by default and exactly one JSON document with `--json`
(one JSON line per file for `predict`). Errors are one sentence on stderr and a non-zero
exit status, never a traceback; TensorFlow's own start-up logging is kept off the terminal.

Each module of this package adds its commands with `register(subparsers, common)`.

Example:
    python -m cnn train --dataset mnist --arch modern_cnn --epochs 1 --json
    python -m cnn predict --model artifacts/<run> digit.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from cnn import settings
from cnn.errors import CnnError
from cnn.i18n import tr


class CliError(CnnError):
    """An error shown to the user as one sentence."""


def print_json(doc: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(doc, ensure_ascii=False))


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr closed for the moment of the import.

    TensorFlow 2.21 writes absl and oneDNN lines to file descriptor 2 while it loads, before
    any setting can silence them (TF_CPP_MIN_LOG_LEVEL no longer does). The CLI owns its
    process, so it points descriptor 2 at /dev/null for the import and restores it; an
    import error still raises (and prints) after the restore.
    """
    if "tensorflow" in sys.modules:
        return
    settings.quiet_tensorflow_log()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command registered."""
    from cnn.cli import (
        backprop,
        classroom,
        confidence,
        data,
        explain,
        export,
        lessons,
        probes,
        runs,
        saliency,
        surgery,
        timelapse,
        training,
        visualize,
    )

    parser = argparse.ArgumentParser(
        prog="python -m cnn",
        description=tr("CNN Lab: train, evaluate and inspect image classifiers."),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=tr("print one JSON document"))
    common.set_defaults(needs_tensorflow=True)
    for module in (data, training, runs, confidence, explain, saliency, export, probes, timelapse):
        module.register(sub, common)
    classroom.register(sub, common)
    lessons.register(sub, common)
    backprop.register(sub, common)
    visualize.register(sub, common)
    surgery.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.needs_tensorflow:
            import_tensorflow_quietly()
        return args.run(args)
    except CnnError as err:
        print(tr("error: {sentence}").format(sentence=err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(tr("error: interrupted."), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) stopped reading: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
