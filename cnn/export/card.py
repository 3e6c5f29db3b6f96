"""A model card in Markdown, written from a run's record: what the model is and is not for.

Sections follow Mitchell et al.'s "Model Cards for Model Reporting", cut to what a class
needs: the data and where it came from, the architecture, the training settings, test
accuracy overall and per class, known limits, and the unfamiliar-input check (how the model
treats images unlike its training data, `cnn.ood`) when the run's record holds one. Every number is
the run's own, read from run.json; nothing is computed here.
"""

from __future__ import annotations

from typing import Any

from cnn import architectures, datasets
from cnn.record import RunRecord

WEAK_CLASS_GAP = 0.05  # a class this far below the overall accuracy is named as a weak spot
LIMITS = {  # kind of images -> what the model expects of an input
    "digits": "one symbol, drawn or written as light strokes on a dark background, centred "
    "and scaled to 20 px inside 28 x 28 the way MNIST was (the app's preprocessing does "
    "this for drawings and photos of paper)",
    "grayscale": "one light object on a black background, filling the frame, in grayscale",
    "photos": "a colour photo, centre-cropped to a square and resized",
}


def _percent(value: Any) -> str:
    return "not measured" if value is None else f"{value:.1%}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


SCORES = {  # cnn.ood's scores, in a few words
    "neighbours": "how far the input lies from the nearest training photos, in the features of "
    "a second network trained on ImageNet's photos (EfficientNet-Lite0; cosine distance to "
    "the 5th nearest)",
    "layers": "how far the input's feature maps, at every layer size, lie from the training "
    "images' (Mahalanobis distances, summed)",
    "mahalanobis": "how far the features the output layer reads lie from the nearest class's "
    "training mean (Mahalanobis distance)",
    "energy": "how large the network's raw scores are overall (the energy score)",
}


def _ood_section(record: RunRecord) -> str:
    """The unfamiliar-input check (`cnn.ood.OodCheck` in run.json): what it measures, its
    threshold's false alarms on the test split and what it caught of the classroom inputs."""
    check = record.ood
    if check is None:
        return (
            "Not measured for this run: nothing tells how it treats images unlike its "
            "training data. Expect it to name one of its classes for *any* input, with "
            "confidence it has not earned."
        )
    rows = [
        ["score", f"`{check.score}`: {SCORES.get(check.score, check.score)}"],
        ["own test images flagged", f"{_percent(check.false_alarm)} of {check.n_test:,}"],
        ["foreign inputs caught", f"{_percent(check.detection)} of {check.n_foreign:,}"],
        ["  photos (upload path)", _percent(check.photo_detection)],
        ["  drawings (canvas path)", _percent(check.drawing_detection)],
    ]
    if check.drawn_false_alarm is not None:
        rows.append(["own test digits drawn on the canvas, flagged",
                     f"{_percent(check.drawn_false_alarm)} of {check.n_drawn:,}"])  # fmt: skip
    others = [(name, getattr(check, f"{name}_detection")) for name in SCORES]
    rows += [[f"`{name}` score would catch", _percent(rate)] for name, rate in others
             if name != check.score and rate is not None]  # fmt: skip
    foreign = check.foreign or "no foreign inputs (none on the machine that measured it)"
    return (
        "An input whose familiarity is below a threshold gets a warning on the Predict page "
        f"instead of a trusted answer. The threshold was chosen to flag "
        f"{_percent(check.false_alarm)} of the run's own test images; the foreign inputs were: "
        f"{foreign}. Inputs the page refuses (no digit "
        f"found) count as caught ({check.refused}).\n\n"
        + _table(["measure", "value"], rows)
    )


def _limits(record: RunRecord) -> list[str]:
    """Known limits, from the data, the kind of images and the per-class results."""
    kind = datasets.kind_of_method(record.preprocessing.method)
    h, w = record.preprocessing.image_size
    limits = [
        f"It only knows {len(record.class_names)} classes "
        f"({', '.join(record.class_names)}); anything else is still given one of them.",
        f"It expects {LIMITS[kind.key] if kind else 'inputs prepared as in training'}, "
        f"at {h} x {w} pixels.",
        f"It learned from {record.dataset.train_samples:,} training images; the test split "
        f"has {record.test.n:,} images, so accuracies are estimates from that many.",
    ]
    overall = record.test.accuracy
    weak = [
        f"{row['name']} ({_percent(row.get('accuracy'))})"
        for row in record.test.per_class
        if overall is not None
        and row.get("accuracy") is not None
        and row["accuracy"] < overall - WEAK_CLASS_GAP
    ]
    if weak:
        limits.append(f"Weaker classes: {', '.join(weak)}.")
    if record.state != "finished":
        limits.append(f"The training did not run to its end: {record.message}")
    limits.append("It is a classroom model: never use it to decide anything about a person.")
    return limits


def model_card(record: RunRecord) -> str:
    """The model card of a run, as Markdown."""
    config, data, pre = record.config, record.dataset, record.preprocessing
    shape = tuple(record.input_shape or (*pre.image_size, pre.channels))
    layer_rows = []
    if record.spec is not None:
        rows = architectures.summary_rows(record.spec.shapes(shape, len(record.class_names)))
        layer_rows = [[r["layer"], r["type"], r["output shape"], f"{r['params']:,}"] for r in rows]
    settings = [[name, f"`{value}`"] for name, value in config.to_dict().items() if name != "spec"]
    per_class = [
        [row["name"], _percent(row.get("accuracy")), row.get("n", "")]
        for row in record.test.per_class
    ]
    params = f"{record.params:,}" if record.params else "unknown"
    sections = [
        f"# Model card: {record.label}",
        f"Run `{record.name}`, saved {record.created or 'at an unknown time'} by CNN Lab "
        f"(TensorFlow {record.versions.get('tensorflow', '?')}, "
        f"Keras {record.versions.get('keras', '?')}).",
        "## Data",
        f"**{data.title or data.key}** (`{data.key}`), "
        f"from {data.source or 'an unrecorded source'}. "
        f"{data.train_samples:,} training, {data.validation_samples:,} validation and "
        f"{data.test_samples:,} test images. Classes, in the model's output order: "
        f"{', '.join(record.class_names)}.",
        f"Input: {' x '.join(map(str, shape))} ({pre.method}; {pre.crop} crop; {pre.scale}).",
        "## Architecture",
        f"`{record.arch_name}`, {params} parameters.",
        _table(["layer", "type", "output shape", "parameters"], layer_rows)
        if layer_rows
        else "The record holds no layer description.",
        "## Training settings",
        _table(["setting", "value"], settings),
        f"Ran {record.epochs_run} epochs in {record.timings.seconds or 0:.0f} s ({record.state}).",
        "## Results on the test split",
        f"**Test accuracy: {_percent(record.test.accuracy)}** on {record.test.n:,} images.",
        "Per-class accuracy:",
        _table(["class", "accuracy", "test images"], per_class)
        if per_class
        else "No per-class accuracy was recorded.",
        "## In-distribution check",
        _ood_section(record),
        "## Known limits",
        "\n".join(f"- {limit}" for limit in _limits(record)),
    ]
    return "\n\n".join(sections) + "\n"
