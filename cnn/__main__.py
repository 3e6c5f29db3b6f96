"""Command line: `python -m cnn {datasets,archs,train,evaluate,predict} [--json]`.

Every subcommand prints a readable table by default and exactly one JSON document with
`--json` (one JSON line per file for `predict`). Errors are one sentence on stderr and a
non-zero exit status, never a traceback.

Example:
    python -m cnn train --dataset mnist --arch modern_cnn --epochs 1 --json
    python -m cnn predict --model artifacts/mnist-modern_cnn digit.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ banner off stderr

from cnn import architectures, artifacts, datasets, preprocess  # noqa: E402
from cnn.training import TrainConfig, TrainingError, TrainingEvent  # noqa: E402

PARAMS_INPUT = (28, 28, 1)  # `archs` reports parameter counts for the MNIST input
TOP_K = 3  # classes listed per prediction


class CliError(Exception):
    """An error shown to the user as one sentence."""


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False))


def cmd_datasets(args) -> int:
    rows = [vars(a) for a in datasets.list_datasets()]
    if args.json:
        _print_json(rows)
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
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['key']:<20} {r['params']:>10,}  {r['description']}")
    return 0


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
        val = (
            f" val_loss {event.val_loss:.4f} val_acc {event.val_accuracy:.4f}"
            if event.val_accuracy is not None
            else ""
        )
        print(
            f"\repoch {event.epoch}/{event.epochs} loss {event.loss:.4f} "
            f"acc {event.accuracy:.4f}{val} ({event.elapsed:.1f}s)",
            file=sys.stderr,
            flush=True,
        )
    elif event.message:
        print(event.message, file=sys.stderr, flush=True)


def cmd_train(args) -> int:
    from cnn.training import train

    spec = None
    if args.spec:
        try:
            spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise CliError(f"Cannot read the spec file {args.spec}: {err}.") from err
        # a run's run.json holds its spec: retrain exactly that architecture
        spec = spec.get("spec", spec) if isinstance(spec, dict) else spec
    config = TrainConfig(
        dataset=args.dataset,
        data=args.data,
        arch="custom" if spec else args.arch,
        spec=spec,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        lr_schedule=args.lr_schedule,
        label_smoothing=args.label_smoothing,
        validation_fraction=args.validation_fraction,
        augment=args.augment,
        image_size=args.image_size,
        max_samples=args.max_samples,
        seed=args.seed,
        strategy=args.strategy,
    )
    out = Path(args.out) if args.out else artifacts.user_runs_dir()
    result = train(config, events=_progress_printer, out_dir=out)
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
    }
    if args.json:
        _print_json(doc)
    else:
        print(f"{result.message} Test accuracy {result.test_accuracy:.4f}. Saved {result.run_dir}")
    return 0


def _load(run_dir: str):
    try:
        return artifacts.load_run(run_dir)
    except artifacts.ArtifactError as err:
        raise CliError(str(err)) from err


def cmd_evaluate(args) -> int:
    from cnn.evaluate import evaluate

    run = _load(args.model)
    pre = run.preprocessing
    key = args.dataset or ("folder" if args.data else run.record["dataset"]["key"])
    data = datasets.load(key, args.data)
    if list(data.class_names) != run.class_names:
        raise CliError(
            f"The data's classes {data.class_names} do not match the model's {run.class_names}."
        )
    # a plain folder has no official test split: evaluate every image in it
    split = data.test if key != "folder" else data.train.concat(data.test)
    batches = datasets.make_pipeline(split, tuple(pre["image_size"]), pre["channels"], 256)
    result = evaluate(run.model, batches, run.class_names)
    doc = result.to_dict()
    doc.pop("misclassified", None)
    if args.json:
        _print_json(doc)
    else:
        print(f"accuracy {result.accuracy:.4f} on {result.n} images")
        for row in doc["per_class"]:
            acc = "-" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
            print(f"  {row['name']:<20} {acc} ({row['n']})")
    return 0


def cmd_predict(args) -> int:
    from cnn.inspect import Inspector

    run = _load(args.model)
    inspector = Inspector(run.model)
    failed = False
    for file in args.files:
        try:
            image = preprocess.load_image(file)
            steps = preprocess.prepare_upload(image, run.preprocessing)
            probs = inspector.run(steps.input, gradcam=False).probabilities
            order = probs.argsort()[::-1]
            top = [[run.class_names[i], round(float(probs[i]), 6)] for i in order[:TOP_K]]
            doc = {"file": file, "label": top[0][0], "probability": top[0][1], "top": top}
        except preprocess.PreprocessError as err:
            failed = True
            doc = {"file": file, "error": str(err)}
        if args.json:
            _print_json(doc)
        elif "error" in doc:
            print(f"{file}: error: {doc['error']}")
        else:
            print(f"{file}: {doc['label']} ({doc['probability']:.1%})")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cnn", description="CNN Lab: train, evaluate and inspect image classifiers."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")

    sub.add_parser("datasets", parents=[common], help="list datasets and where they come from")
    sub.add_parser("archs", parents=[common], help="list architectures")

    t = sub.add_parser("train", parents=[common], help="train a model and save the run")
    defaults = TrainConfig()
    t.add_argument("--dataset", default=defaults.dataset, choices=list(datasets.REGISTRY))
    t.add_argument("--data", help="data directory, or a folder/.zip of class subfolders")
    t.add_argument("--arch", default=defaults.arch, choices=list(architectures.REGISTRY))
    t.add_argument("--spec", help="JSON file with an architecture spec, or a run's run.json")
    t.add_argument("--epochs", type=int, default=defaults.epochs)
    t.add_argument("--batch-size", type=int, default=defaults.batch_size)
    t.add_argument("--optimizer", default=defaults.optimizer)
    t.add_argument("--lr", type=float, default=defaults.learning_rate)
    t.add_argument("--lr-schedule", default=defaults.lr_schedule)
    t.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    t.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    t.add_argument("--image-size", type=int)
    t.add_argument("--augment", action="store_true")
    t.add_argument("--max-samples", type=int)
    t.add_argument("--seed", type=int, default=defaults.seed)
    t.add_argument("--strategy", default=defaults.strategy)
    t.add_argument("--out", help="folder for the run (default: $CNN_RUNS_DIR or ~/.cnn_lab/runs)")

    e = sub.add_parser("evaluate", parents=[common], help="evaluate a saved run")
    e.add_argument("--model", required=True, help="run folder")
    e.add_argument("--dataset", choices=list(datasets.REGISTRY))
    e.add_argument("--data", help="folder of class subfolders named like the model's classes")

    p = sub.add_parser("predict", parents=[common], help="classify image files")
    p.add_argument("--model", required=True, help="run folder")
    p.add_argument("files", nargs="+")
    return parser


COMMANDS = {
    "datasets": cmd_datasets,
    "archs": cmd_archs,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (
        CliError,
        TrainingError,
        datasets.DatasetError,
        artifacts.ArtifactError,
        architectures.SpecError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
