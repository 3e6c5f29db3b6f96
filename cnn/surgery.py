"""Weight surgery: knock out channels or set first-layer filters by hand, on a copy of a run.

A change is one of:
- `zero LAYER:CHANNEL`: the channel's filter and bias become 0, and so do the gamma and beta
  of a batch norm that reads the conv, so the channel's feature map is 0 everywhere (after a
  ReLU, ELU, GELU or tanh, which all keep 0 at 0);
- `set-filter LAYER:CHANNEL=PRESET` or `=v,v,...`: a filter of a conv that reads the image
  itself gets numbers a person chose: a named preset (identity, blur, sharpen, sobel_x,
  sobel_y; any odd kernel size), or k x k numbers (used on every colour channel, each divided
  by the channel count, so a colour picture is filtered as its grey version), or k x k x c.
  Its bias stays, and a batch norm after it keeps its statistics: the layers after it meet
  numbers they were not trained on, which is part of what surgery shows.

`operate` loads a fresh copy of a run's model from its file (the run itself is never
written), applies the changes, measures test accuracy before and after on the same test
images, per class, and saves the result as a new run under the user runs folder whose
run.json says what was changed (`RunRecord.surgery`) and carries the new test figures.

Example:
    >>> result = operate("artifacts/<run>", [parse_change("zero", "conv1:3")], limit=500)
    >>> result.run_dir, result.before.accuracy, result.after.accuracy
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn.errors import CnnError
from cnn.i18n import tr

__all__ = [
    "PRESETS",
    "Change",
    "SurgeryError",
    "SurgeryResult",
    "apply_changes",
    "operate",
    "parse_change",
    "preset_kernel",
]

PRESETS = ("identity", "blur", "sharpen", "sobel_x", "sobel_y")


class SurgeryError(CnnError, ValueError):
    """A change that cannot be made to this model."""


@dataclass(frozen=True)
class Change:
    """One change: `kind` "zero" or "set_filter", on `layer`'s filter `channel`.

    `preset` names a preset; `values` holds a hand-written filter's numbers instead.
    """

    kind: str
    layer: str
    channel: int
    preset: str | None = None
    values: tuple[float, ...] | None = None

    def __str__(self) -> str:
        if self.kind == "zero":
            return f"zeroed {self.layer}:{self.channel}"
        what = self.preset or f"{len(self.values)} numbers by hand"
        return f"set {self.layer}:{self.channel} to {what}"

    def to_dict(self) -> dict:
        doc = {"kind": self.kind, "layer": self.layer, "channel": self.channel}
        if self.preset:
            doc["preset"] = self.preset
        if self.values is not None:
            doc["values"] = list(self.values)
        return doc


def parse_change(kind: str, text: str) -> Change:
    """`zero` "LAYER:CHANNEL" or `set_filter` "LAYER:CHANNEL=PRESET|v,v,..." as a Change."""
    target, _, value = text.partition("=")
    layer, _, channel = target.rpartition(":")
    if not layer or not channel.strip().isdigit():
        raise SurgeryError(
            tr("{text} is not LAYER:CHANNEL (for example conv1:3).").format(text=repr(text))
        )
    if kind == "zero":
        if value:
            raise SurgeryError(tr("{text}: zeroing takes no '=' value.").format(text=repr(text)))
        return Change("zero", layer, int(channel))
    if not value:
        raise SurgeryError(
            tr(
                "{text}: say what to set the filter to after '=' (a preset: {presets}; or "
                "numbers separated by commas)."
            ).format(text=repr(text), presets=", ".join(PRESETS))
        )
    if value in PRESETS:
        return Change("set_filter", layer, int(channel), preset=value)
    try:
        numbers = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise SurgeryError(
            tr("{value} is neither a preset ({presets}) nor numbers separated by commas.").format(
                value=repr(value), presets=", ".join(PRESETS)
            )
        ) from None
    if not all(np.isfinite(numbers)):
        raise SurgeryError(tr("A filter's numbers must be finite."))
    return Change("set_filter", layer, int(channel), values=numbers)


def _binomial(n: int) -> np.ndarray:
    row = np.array([1.0])
    for _ in range(n - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row


def preset_kernel(name: str, k: int) -> np.ndarray:
    """A k x k preset filter (k odd): identity, blur (binomial, sums to 1), sharpen
    (2 x identity - blur), sobel_x / sobel_y (binomial smoothing x a central difference)."""
    if k % 2 == 0 or k < 3:
        raise SurgeryError(
            tr("Presets need an odd filter size of at least 3, not {k}.").format(k=k)
        )
    identity = np.zeros((k, k))
    identity[k // 2, k // 2] = 1.0
    smooth = _binomial(k)
    blur = np.outer(smooth, smooth) / smooth.sum() ** 2
    # a central difference widened to k: binomial(k - 2) convolved with [-1, 0, 1]
    derivative = np.convolve(_binomial(k - 2), [-1.0, 0.0, 1.0])
    kernels = {
        "identity": identity,
        "blur": blur,
        "sharpen": 2 * identity - blur,
        "sobel_x": np.outer(smooth, derivative),
        "sobel_y": np.outer(derivative, smooth),
    }
    if name not in kernels:
        raise SurgeryError(
            tr("{name} is not a preset: choose one of {presets}.").format(
                name=repr(name), presets=", ".join(PRESETS)
            )
        )
    return kernels[name]


def _conv(model, change: Change):
    import keras

    convs = [lay.name for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    if change.layer not in convs:
        raise SurgeryError(
            tr("{layer} is not a conv layer of this model: choose one of {names}.").format(
                layer=repr(change.layer), names=", ".join(convs)
            )
        )
    conv = model.get_layer(change.layer)
    filters = int(conv.kernel.shape[-1])
    if not 0 <= change.channel < filters:
        raise SurgeryError(
            tr("{layer} has {n} filters: the channel must be 0 to {last}.").format(
                layer=change.layer, n=filters, last=filters - 1
            )
        )
    return conv


def _batch_norm_after(model, conv):
    """The BatchNormalization layer that reads the conv's output, or None."""
    import keras

    layers = list(model.layers)
    if isinstance(model, keras.Sequential):  # the layer after it (a loaded Sequential's
        after = layers[layers.index(conv) + 1 : layers.index(conv) + 2]  # tensors are rewired)
        return after[0] if after and isinstance(after[0], keras.layers.BatchNormalization) else None
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization) and any(
            t is conv.output for t in _flat(layer.input)
        ):
            return layer
    return None


def _flat(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _reads_the_image(model, conv) -> bool:
    import keras

    if isinstance(model, keras.Sequential):
        return model.layers[0] is conv
    return any(t is model.inputs[0] for t in _flat(conv.input))


def _set(variable, index, value) -> None:
    array = np.asarray(variable).copy()
    array[index] = value
    variable.assign(array)


def _hand_kernel(change: Change, kh: int, kw: int, cin: int) -> np.ndarray:
    """(kh, kw, cin) from a preset or the numbers given."""
    if change.preset:
        if kh != kw:
            raise SurgeryError(tr("Presets need a square filter."))
        return np.repeat(preset_kernel(change.preset, kh)[..., None], cin, axis=-1) / cin
    values = np.asarray(change.values)
    if values.size == kh * kw:
        return np.repeat(values.reshape(kh, kw, 1), cin, axis=-1) / cin
    if values.size == kh * kw * cin:
        return values.reshape(kh, kw, cin)
    if cin > 1:
        text = tr(
            "{layer}'s filters are {kh} x {kw} over {cin} input channel(s): give {n} numbers "
            "(or {all}), not {given}."
        )
    else:
        text = tr(
            "{layer}'s filters are {kh} x {kw} over {cin} input channel(s): give {n} numbers, "
            "not {given}."
        )
    raise SurgeryError(
        text.format(
            layer=change.layer, kh=kh, kw=kw, cin=cin, n=kh * kw, all=kh * kw * cin,
            given=values.size,
        )
    )  # fmt: skip


def apply_changes(model, changes: list[Change]) -> list[dict]:
    """Make the changes to `model`'s weights (in place); what was done, one dict each."""
    targets = [(c.layer, c.channel) for c in changes]
    both = sorted({t for t in targets if targets.count(t) > 1})
    if both:
        layer, channel = both[0]
        raise SurgeryError(
            tr(
                "{layer}:{channel} is changed twice (switched off and set, or set twice): "
                "choose one change per channel."
            ).format(layer=layer, channel=channel)
        )
    done = []
    for change in changes:
        conv = _conv(model, change)
        c = change.channel
        doc = change.to_dict()
        if change.kind == "zero":
            _set(conv.kernel, (..., c), 0.0)
            if conv.use_bias:
                _set(conv.bias, c, 0.0)
            bn = _batch_norm_after(model, conv)
            if bn is not None:
                _set(bn.gamma, c, 0.0)
                _set(bn.beta, c, 0.0)
                doc["batch_norm"] = bn.name
        else:
            if not _reads_the_image(model, conv):
                raise SurgeryError(
                    tr(
                        "{layer} does not read the picture itself: filters can be set by hand "
                        "only in the first conv layer."
                    ).format(layer=change.layer)
                )
            kh, kw, cin, _ = (int(d) for d in conv.kernel.shape)
            kernel = _hand_kernel(change, kh, kw, cin)
            _set(conv.kernel, (..., c), kernel)
            doc["kernel"] = np.round(kernel, 6).tolist()
        done.append(doc)
    return done


@dataclass(repr=False)
class SurgeryResult:
    """A saved edited run: where it is, what changed, test figures before and after."""

    run_dir: Path
    changes: list[dict]
    before: object  # cnn.evaluate.Evaluation
    after: object

    def __repr__(self) -> str:
        return (
            f"SurgeryResult({self.run_dir.name}, {len(self.changes)} changes, "
            f"accuracy {self.before.accuracy:.4f} -> {self.after.accuracy:.4f})"
        )

    def to_dict(self) -> dict:
        """The CLI's document."""
        return {
            "run_dir": str(self.run_dir),
            "changes": self.changes,
            "test_accuracy_before": self.before.accuracy,
            "test_accuracy_after": self.after.accuracy,
            "test_images": self.before.n,
            "per_class": [
                {"name": b["name"], "before": b["accuracy"], "after": a["accuracy"], "n": b["n"]}
                for b, a in zip(self.before.per_class, self.after.per_class, strict=True)
            ],
        }


def measured_batches(run, limit: int | None):
    """The run's test images (up to `limit`, the same share of every class) as batches."""
    from cnn import datasets
    from cnn.probes.embedding import subset_indices

    data = datasets.load(run.record.dataset.key, run.record.config.data)
    split = data.test.take(subset_indices(data.test, limit))
    pre = run.record.preprocessing
    return datasets.make_pipeline(split, tuple(pre.image_size), pre.channels, 64)


def operate(
    run_dir: str | Path,
    changes: list[Change],
    out_dir: str | Path | None = None,
    limit: int | None = None,
) -> SurgeryResult:
    """Copy a run, make `changes`, measure it before and after, save it as a new run.

    Args:
        run_dir: the run to copy (never written).
        changes: what to change, in order.
        out_dir: the folder to save the new run in (default: the user runs folder).
        limit: test images to measure on (None: the whole test split).

    Raises:
        SurgeryError: a change that cannot be made (nothing is saved).
        ArtifactError / DatasetError: the run or its test data cannot be read.
    """
    from cnn import artifacts
    from cnn.evaluate import evaluate

    if not changes:
        raise SurgeryError(tr("Say what to change: --zero LAYER:CHANNEL or --set-filter ...."))
    run = artifacts.load_run(run_dir)
    model = artifacts.load_model_file(Path(run.info.path) / artifacts.MODEL_FILE)
    done = apply_changes(model, changes)  # before any measuring: a bad change costs nothing
    batches = measured_batches(run, limit)
    original = artifacts.load_model_file(Path(run.info.path) / artifacts.MODEL_FILE)
    mirror = run.record.config.mirror
    before = evaluate(original, batches, run.class_names, mirror=mirror)
    after = evaluate(model, batches, run.class_names, mirror=mirror)
    record = copy.deepcopy(run.record)
    record.surgery = {
        "from": run.info.name,
        "from_title": run.info.title,
        "changes": done,
        "test_accuracy_before": before.accuracy,
        "test_images": before.n,
    }
    record.title = f"{run.record.label} · {'; '.join(str(c) for c in changes)}"[:120]
    doc = after.to_dict()
    kept = ("accuracy", "n", "per_class", "confusion")
    record.test = type(record.test)(**{k: doc[k] for k in kept})
    record.calibration = record.ood = record.timelapse = None  # measured on the old weights
    record.saliency = []
    saved = artifacts.save_run(model, record, out_dir or artifacts.user_runs_dir())
    return SurgeryResult(saved, done, before, after)
