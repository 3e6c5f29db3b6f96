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

from cnn.errors import CnnError


class CliError(CnnError):
    """An error shown to the user as one sentence."""


def print_json(doc: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(doc, ensure_ascii=False))


def quiet_tensorflow() -> None:
    """Keep TensorFlow's, oneDNN's and absl's start-up lines off the terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command registered."""
    from cnn.cli import data, runs, training

    parser = argparse.ArgumentParser(
        prog="python -m cnn", description="CNN Lab: train, evaluate and inspect image classifiers."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    for module in (data, training, runs):
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CnnError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
