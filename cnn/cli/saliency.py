"""`saliency`: where a saved run looked, for image files ("Where it looked" on the command line).

Each file goes through the Predict page's preprocessing (as `predict` does); the map explains
the class the run predicts for it, read as `predict` reads it. Without --method the map is the
run's kind's default (`cnn.explain.saliency.DEFAULTS`: the one that passed the faithfulness
tests on the shipped runs, bench/saliency_results.md); a method named with --method uses its
own default parameters, or the kind's when it is the kind's default method.

Example:
    python -m cnn saliency --model artifacts/<run> digit.png --json
    python -m cnn saliency --model artifacts/<run> cat.jpg --method gradcam
    python -m cnn saliency --model artifacts/<run> --measure    # record each method's tests
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from cnn import artifacts, i18n, preprocess
from cnn.cli.runs import load_run, prepared_file, print_per_file
from cnn.i18n import tr

DECIMALS = 4  # the map's values are rounded to this many decimals in the JSON


def method_for(run: artifacts.Run, method: str | None) -> tuple[str, str, dict[str, Any]]:
    """(the run's kind, the method's name, its parameters): the kind's default without one.

    Raises:
        ExplainError: naming the methods there are, for an unknown `method`.
    """
    from cnn.explain import checks

    # a damaged or foreign record is the same sentence `predict` gives, not a KeyError
    kind, _, _ = preprocess.check_record(run.preprocessing)
    return (kind, *checks.method_parameters(kind, method))


def saliency_file(
    run: artifacts.Run, inspector, file: str, method: tuple[str, str, dict[str, Any]]
) -> dict:
    """One file's map: {"file", "method", "label", "map"} (rows at the model input's height x
    width, in [0, 1], higher = mattered more), or {"file", "error"} when it cannot be read.

    Args:
        inspector: reads the file as `predict` does (its label is the class explained).
        method: `method_for`'s (kind, name, parameters).
    """
    from cnn.explain import saliency

    try:
        steps = prepared_file(run, file)
    except preprocess.PreprocessError as err:
        return {"file": file, "error": str(err)}
    kind, name, params = method
    top = int(inspector.run(steps.input, gradcam=False).probabilities.argmax())
    heat = saliency.saliency(run.model, steps.input[None], name, np.array([top]), kind, **params)
    return {
        "file": file,
        "method": name,
        "label": run.class_names[top],
        "map": np.round(heat[0].astype(np.float64), DECIMALS).tolist(),
    }


def summary(doc: dict) -> str:
    """One line for people: the file, the method, the label and where the map peaks."""
    heat = np.asarray(doc["map"])
    y, x = np.unravel_index(int(heat.argmax()), heat.shape)
    height, width = heat.shape
    return tr(
        "{file}: {label} by {method}; the map peaks at row {y}, column {x} of {height} x {width}"
    ).format(
        file=doc["file"],
        label=doc["label"],
        method=doc["method"],
        y=y,
        x=x,
        height=height,
        width=width,
    )


def measure(
    run: artifacts.Run, methods: list[str] | None, images: int | None, as_json: bool
) -> int:
    """Check the run's methods on its own test images and write the figures into run.json."""
    from cnn.explain import checks

    kind, _, _ = preprocess.check_record(run.preprocessing)
    found = checks.check_run(run, methods or checks.offered(kind), images)
    artifacts.write_record(run.info.path, checks.recorded(run.record, found))
    for check in found:
        if as_json:
            print(json.dumps(asdict(check)), flush=True)
        else:
            verdict = tr("passes") if check.passed else tr("misses the targets")
            said = tr(
                "{method}: deletion {ratio} of random, beats random on {beating} of {images} "
                "images, correlation with random weights {correlation}, {seconds} s per image: "
                "{verdict}"
            ).format(
                method=check.method,
                ratio=i18n.number(check.deletion_ratio, 2),
                beating=i18n.percent(check.beating),
                images=check.images,
                correlation=i18n.number(check.correlation, 2),
                seconds=i18n.number(check.seconds, 2),
                verdict=verdict,
            )
            print(said, flush=True)
    return 0


def cmd_saliency(args) -> int:
    from cnn.inspect import Inspector

    run = load_run(args.model)
    if args.measure:
        return measure(run, args.methods, args.images, args.json)
    if not args.files:
        raise SystemExit(tr("error: name at least one image file, or --measure."))
    method = method_for(run, args.method)
    # read as `predict` reads it (its mirror image too?), so the label is predict's
    inspector = Inspector(run.model, jit_compile=False, mirror=run.record.config.mirror)
    return print_per_file(
        args.files, lambda file: saliency_file(run, inspector, file, method), args.json, summary
    )


def register(sub, common) -> None:
    """Add `saliency`."""
    s = sub.add_parser(
        "saliency", parents=[common], help=tr("where a run looked: a saliency map per image file")
    )
    s.add_argument("--model", required=True, help=tr("run folder"))
    s.add_argument("files", nargs="*", help=tr("image files (prepared as `predict` prepares them)"))
    s.add_argument(
        "--method",
        help=tr(
            "a saliency method (an unknown name lists them); default: the one that "
            "measured faithful for the run's kind of images"
        ),
    )
    s.add_argument(
        "--measure",
        action="store_true",
        help=tr(
            "instead of maps: check the methods' faithfulness on the run's own test images "
            "(deletion and randomisation tests) and record the figures in its run.json"
        ),
    )
    s.add_argument(
        "--methods", nargs="+", help=tr("with --measure: the methods (default: Predict's)")
    )
    s.add_argument(
        "--images", type=int, help=tr("with --measure: test images (default 100, photos 60)")
    )
    s.set_defaults(run=cmd_saliency)
