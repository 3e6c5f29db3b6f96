"""`export`: write a run as a Keras file, TensorFlow Lite, a training script or a model card."""

from __future__ import annotations

from cnn import export
from cnn.cli import CliError, print_json
from cnn.i18n import tr


def cmd_export(args) -> int:
    try:
        exported = export.export_run(args.model, args.format, args.out)
    except export.ExportError as err:
        raise CliError(str(err)) from err
    if args.json:
        print_json({"format": exported.format, "path": str(exported.path)})
    else:
        print(f"{exported.path}\n{exported.note}")
    return 0


def register(sub, common) -> None:
    """Add `export`."""
    e = sub.add_parser(
        "export", parents=[common], help=tr("export a run, checked before it is written")
    )
    e.add_argument("--model", required=True, help=tr("run folder"))
    e.add_argument("--format", required=True, choices=list(export.FORMATS),
                   help="; ".join(f"{k}: {tr(v)}" for k, v in export.FORMATS.items()))  # fmt: skip
    e.add_argument("--out", default=".", help=tr("folder the file goes to (default: here)"))
    e.set_defaults(run=cmd_export)
