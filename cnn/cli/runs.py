"""`evaluate` and `predict`: use a saved run on a dataset or on image files."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from cnn import artifacts, calibration, datasets, i18n, ood, preprocess
from cnn.cli import CliError, print_json
from cnn.i18n import tr
from cnn.training.config import SETTINGS

TOP_K = 3  # classes listed per prediction


def load_run(run_dir: str) -> artifacts.Run:
    """A run folder, or a sentence saying why it cannot be used."""
    try:
        return artifacts.load_run(run_dir)
    except artifacts.ArtifactError as err:
        raise CliError(str(err)) from err


def match_classes(data_names: list[str], model_names: list[str]) -> np.ndarray:
    """For each of the data's class indices, the model's index of the class of the same name.

    Raises:
        CliError: naming the classes the data has and the model does not (or the reverse).
    """
    extra = [n for n in data_names if n not in model_names]
    missing = [n for n in model_names if n not in data_names]
    if extra and missing:
        raise CliError(
            tr(
                "The data has classes the model does not know: {extra} (and it lacks "
                "{missing}). The model's classes are {names}."
            ).format(
                extra=", ".join(extra), missing=", ".join(missing), names=", ".join(model_names)
            )
        )
    if extra:
        raise CliError(
            tr(
                "The data has classes the model does not know: {extra}. The model's classes "
                "are {names}."
            ).format(extra=", ".join(extra), names=", ".join(model_names))
        )
    return np.array([model_names.index(n) for n in data_names], dtype=np.int64)


def cmd_evaluate(args) -> int:
    from cnn.evaluate import evaluate

    run = load_run(args.model)
    record = run.record
    # as the run is read, unless asked otherwise (the schema's sentence for a bad value)
    tta = SETTINGS["tta"].parse(args.tta) if args.tta else record.config.tta
    key = args.dataset or ("folder" if args.data else record.dataset.key)
    data = datasets.load(key, args.data)
    # classes are matched by name: a folder lists them alphabetically, a model keeps its order
    to_model = match_classes(list(data.class_names), run.class_names)
    # a plain folder has no official test split: evaluate every image in it
    split = data.test if key != "folder" else data.train.concat(data.test)
    split = datasets.Split(to_model[split.labels], split.images, split.paths)
    pre = record.preprocessing
    # the training batch size: photos at a larger batch could need more memory than training
    batch = record.config.batch_size
    batches = datasets.make_pipeline(split, tuple(pre.image_size), pre.channels, batch)
    result = evaluate(run.model, batches, run.class_names, mirror=tta == "mirror")
    doc = result.to_dict()
    doc.pop("misclassified", None)
    doc["tta"] = tta
    missing = [n for n in run.class_names if n not in data.class_names]
    if missing:
        doc["classes_without_images"] = missing
    if args.json:
        print_json(doc)
    else:
        said = (
            tr("accuracy {accuracy} on {n} images, each read with its mirror image too")
            if tta == "mirror"
            else tr("accuracy {accuracy} on {n} images")
        )
        print(said.format(accuracy=i18n.number(result.accuracy, 4), n=result.n))
        for row in doc["per_class"]:
            acc = "-" if row["accuracy"] is None else i18n.number(row["accuracy"], 4)
            print(f"  {row['name']:<20} {acc} ({row['n']})")
        if missing:
            print(
                "  " + tr("(no images of {classes} in the data)").format(classes=", ".join(missing))
            )
    return 0


def prepared_file(run: artifacts.Run, file: str) -> preprocess.Steps:
    """One image file through the Predict page's preprocessing for the run (its upload path).

    Raises:
        PreprocessError: one sentence saying why the file cannot be read or prepared.
    """
    return preprocess.prepare_upload(preprocess.load_image(file), run.preprocessing)


def predict_file(run: artifacts.Run, inspector, file: str) -> dict:
    """One file through the Predict page's preprocessing and the model: a JSON-able dict."""
    try:
        steps = prepared_file(run, file)
    except preprocess.PreprocessError as err:
        return {"file": file, "error": str(err)}
    seen = inspector.run(steps.input, gradcam=False)
    probs = seen.probabilities
    order = probs.argsort()[::-1]
    top = [[run.class_names[i], round(float(probs[i]), 6)] for i in order[:TOP_K]]
    doc = {"file": file, "label": top[0][0], "probability": top[0][1], "top": top}
    record = run.record
    if record.calibration is not None:
        calibrated = calibration.softmax(seen.logits[None], record.calibration.temperature)[0]
        doc["calibrated_probability"] = round(float(calibrated[order[0]]), 6)
    # None when the run has no measured check (trained before it existed)
    doc["in_distribution"] = (
        None
        if record.ood is None
        else bool(
            ood.familiar(
                seen.logits, record.ood, seen.features, run.gaussian, seen.activations, steps.input
            )
        )
    )
    return doc


def cmd_predict(args) -> int:
    from cnn.inspect import Inspector

    run = load_run(args.model)
    # one-off calls: XLA compiling costs more; read as the run is read (its mirror image too?)
    inspector = Inspector(run.model, jit_compile=False, mirror=run.record.config.mirror)
    return print_per_file(
        args.files,
        lambda file: predict_file(run, inspector, file),
        args.json,
        lambda doc: f"{doc['file']}: {doc['label']} ({i18n.percent(doc['probability'], 1)})",
    )


def print_per_file(
    files: list[str], one: Callable[[str], dict], as_json: bool, summary: Callable[[dict], str]
) -> int:
    """Each file's document `one(file)`, as `predict` prints them; the exit status.

    With `as_json` one JSON line per file (a file that cannot be used: {"file", "error"}),
    else `summary(doc)`, or the error's sentence on stderr. Every file is tried; the status
    is 1 when any of them failed, else 0.
    """
    failed = False
    for file in files:
        doc = one(file)
        failed = failed or "error" in doc
        if as_json:
            print_json(doc)
        elif "error" in doc:
            print(
                tr("{file}: error: {reason}").format(file=file, reason=doc["error"]),
                file=sys.stderr,
            )
        else:
            print(summary(doc))
    return 1 if failed else 0


def register(sub, common) -> None:
    """Add `evaluate` and `predict`."""
    e = sub.add_parser("evaluate", parents=[common], help=tr("evaluate a saved run"))
    e.add_argument("--model", required=True, help=tr("run folder"))
    e.add_argument("--dataset", choices=list(datasets.REGISTRY))
    e.add_argument("--data", help=tr("folder of class subfolders named like the model's classes"))
    e.add_argument(
        "--tta",
        metavar="{" + ",".join(SETTINGS["tta"].choices) + "}",
        help=tr("{help} default: as the run is read").format(help=SETTINGS["tta"].help),
    )
    e.set_defaults(run=cmd_evaluate)
    p = sub.add_parser("predict", parents=[common], help=tr("classify image files"))
    p.add_argument("--model", required=True, help=tr("run folder"))
    p.add_argument("files", nargs="+")
    p.set_defaults(run=cmd_predict)
