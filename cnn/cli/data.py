"""`datasets` and `archs`: what can be trained on, and with which architectures."""

from __future__ import annotations

from dataclasses import asdict

from cnn import architectures, datasets
from cnn.cli import print_json
from cnn.i18n import number, tr, trn

PARAMS_INPUT = (28, 28, 1)  # `archs` reports parameter counts for the MNIST input


def cmd_datasets(args) -> int:
    rows = [asdict(a) for a in datasets.list_datasets()]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            mark = tr("yes") if r["available"] else tr("no")
            classes = trn("{n} class", "{n} classes", r["classes"])
            print(f"{r['key']:<14} {mark:<3} {classes:>11}  {r['source']}  {r['detail']}")
    return 0


def cmd_archs(args) -> int:
    rows = []
    for key, arch in architectures.REGISTRY.items():
        spec = arch.spec(PARAMS_INPUT, 10)
        params = architectures.count_params(spec, PARAMS_INPUT, 10)
        rows.append(
            {"key": key, "title": arch.title, "description": arch.description, "params": params}
        )
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['key']:<20} {number(r['params']):>10}  {tr(r['description'])}")
    return 0


def register(sub, common) -> None:
    """Add `datasets` and `archs`."""
    p = sub.add_parser(
        "datasets", parents=[common], help=tr("list datasets and where they come from")
    )
    p.set_defaults(run=cmd_datasets, needs_tensorflow=False)
    p = sub.add_parser("archs", parents=[common], help=tr("list architectures"))
    p.set_defaults(run=cmd_archs, needs_tensorflow=False)
