"""`datasets` and `archs`: what can be trained on, and with which architectures."""

from __future__ import annotations

from dataclasses import asdict

from cnn import architectures, datasets
from cnn.cli import print_json

PARAMS_INPUT = (28, 28, 1)  # `archs` reports parameter counts for the MNIST input


def cmd_datasets(args) -> int:
    rows = [asdict(a) for a in datasets.list_datasets()]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            mark = "yes" if r["available"] else "no "
            print(f"{r['key']:<14} {mark} {r['classes']:>3} classes  {r['source']}  {r['detail']}")
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
            print(f"{r['key']:<20} {r['params']:>10,}  {r['description']}")
    return 0


def register(sub, common) -> None:
    """Add `datasets` and `archs`."""
    p = sub.add_parser("datasets", parents=[common], help="list datasets and where they come from")
    p.set_defaults(run=cmd_datasets, needs_tensorflow=False)
    p = sub.add_parser("archs", parents=[common], help="list architectures")
    p.set_defaults(run=cmd_archs, needs_tensorflow=False)
