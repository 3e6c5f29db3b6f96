"""The time-lapse recorder: a Keras callback that snapshots the model while it trains.

See `cnn.timelapse` for what a snapshot holds and how it is stored. The recorder inspects the
probes with the model being trained (its layers, so its live weights) through one compiled
batch call per snapshot, and counts a confusion matrix on a fixed validation subset. Importing
this module imports Keras; `cnn.training.loop` imports it only when a training starts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np

from cnn import timelapse
from cnn.training.events import Events, TrainingEvent, emit


@dataclass
class Probes:
    """The inputs a time-lapse follows, and the subset its confusion matrices count.

    Attributes:
        images: float32 (P, h, w, c) model inputs.
        classes: int (P,): true class, -1 for an input without one (a drawing).
        info: one {"label", "class", "index"} per probe (see TimelapseInfo.probes).
        validation_images: uint8 (n, h, w, c).
        validation_labels: int (n,).
        validation: what the subset is, in words.
    """

    images: np.ndarray
    classes: np.ndarray
    info: list[dict]
    validation_images: np.ndarray
    validation_labels: np.ndarray
    validation: str


def _shrunk(maps: np.ndarray, side: int) -> np.ndarray:
    """(P, h, w, c) float maps resized (area averaging) so neither side exceeds `side`."""
    import tensorflow as tf

    h, w = maps.shape[1:3]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return maps.astype(np.float32)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return tf.image.resize(maps.astype(np.float32), size, method="area").numpy()


def _storable(maps: np.ndarray) -> np.ndarray:
    """float16 maps; a diverging model's infinite or NaN values become 0 (nothing to show)."""
    limit = np.finfo(np.float16).max
    return np.clip(np.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0), -limit, limit).astype(
        np.float16
    )


class TimelapseRecorder(keras.callbacks.Callback):
    """Snapshots of the model at the steps `cnn.timelapse.frame_steps` chooses.

    Args:
        probes: what to follow.
        steps_per_epoch: batches per epoch.
        epochs: epochs the fit will run.
        events: when given, each snapshot is also sent as a "snapshot" TrainingEvent (the Train
            page shows the latest one live).

    Example:
        >>> recorder = TimelapseRecorder(probes, steps_per_epoch=100, epochs=5)
        >>> model.fit(batches, epochs=5, callbacks=[recorder])
        >>> lapse, info = recorder.finish(model, final_step=500)
    """

    def __init__(self, probes: Probes, steps_per_epoch: int, epochs: int, events: Events = None):
        super().__init__()
        self.probes = probes
        self.steps = steps_per_epoch
        self.schedule = timelapse.frame_steps(steps_per_epoch, epochs)
        self.events = events
        self.frames: list[dict] = []
        self.inspector = None
        self.epoch = 0
        self.step = 0  # batches done
        self.seconds = 0.0  # spent taking snapshots

    def on_train_begin(self, logs=None):
        from cnn.inspect import Inspector

        # not XLA: compiling would cost more than the handful of snapshots saves
        self.inspector = Inspector(self.model, jit_compile=False)
        self.snapshot({})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step = self.epoch * self.steps + batch + 1
        if self.step in self.schedule and (batch + 1) < self.steps:
            self.snapshot(logs or {})

    def on_epoch_end(self, epoch, logs=None):
        # Keras ends the epoch early when a callback stops the fit: only a whole one counts
        if self.step == (epoch + 1) * self.steps and self.step in self.schedule:
            self.snapshot(logs or {})

    def snapshot(self, logs: dict) -> None:
        """Inspect the probes and the validation subset with the current weights."""
        started = time.perf_counter()
        p = self.probes
        seen = self.inspector.run_batch(p.images, gradcam=True, classes=p.classes)
        subset = self.inspector.probabilities(p.validation_images.astype(np.float32) / 255.0)
        k = subset.shape[-1]
        truth_predicted = p.validation_labels * k + subset.argmax(axis=-1)
        convs = [a for a in seen.activations if a.kind == "conv"]
        first = next(
            (layer for layer in self.model.layers if isinstance(layer, keras.layers.Conv2D)), None
        )

        def metric(name: str) -> float:
            return float(logs[name]) if name in logs else math.nan

        frame = {
            "epoch": self.step / self.steps,
            "step": self.step,
            **{name: metric(name) for name in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "probabilities": seen.probabilities.astype(np.float32),
            "filters": None if first is None else np.asarray(first.kernel, np.float32),
            "gradcam": None
            if seen.gradcam is None
            else _shrunk(seen.gradcam[..., None], timelapse.CAM_SIDE)[..., 0],
            "confusion": np.bincount(truth_predicted, minlength=k * k).reshape(k, k),
            "maps": {a.name: _storable(_shrunk(a.array, timelapse.MAP_SIDE)) for a in convs},
        }
        if self.frames and self.frames[-1]["step"] == frame["step"]:
            self.frames[-1] = frame
        else:
            self.frames.append(frame)
        self.seconds += time.perf_counter() - started
        # what a live view draws (a few small arrays: the maps stay here)
        live = {key: frame[key] for key in ("epoch", "step", "loss", "accuracy", "probabilities",
                                            "filters")}  # fmt: skip
        live.update(probe_images=p.images, probes=p.info)
        emit(self.events, TrainingEvent("snapshot", epoch=math.ceil(frame["epoch"]), snapshot=live))

    def finish(self, final_step: int, logs: dict | None = None, retake: bool = False):
        """The time-lapse of the weights the model holds now (after a stop or a NaN restore).

        Frames after `final_step` (taken on weights that were thrown away) are dropped, and a
        last frame is taken unless one already shows these weights; `retake` replaces it
        anyway (the weight average is swapped in when fit ends).

        Returns:
            (cnn.timelapse.Timelapse, cnn.timelapse.TimelapseInfo).
        """
        self.frames = [f for f in self.frames if f["step"] <= final_step]
        if not self.frames or self.frames[-1]["step"] != final_step or retake:
            self.step = final_step
            self.snapshot(logs or {})
        self.release()
        return self._assemble()

    def release(self) -> None:
        """Drop the compiled inspection of the model, so the model can be freed with its job."""
        self.inspector = None

    def _assemble(self):
        frames, p = self.frames, self.probes
        column = {
            name: np.array([f[name] for f in frames], np.float32)
            for name in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
        }
        maps, channels, scales = {}, {}, {}
        for name in frames[-1]["maps"]:
            stack = np.stack([f["maps"][name] for f in frames]).astype(np.float32)  # (F,P,h,w,c)
            # the channels most active at the end, on every frame
            keep = np.argsort(-stack[-1].mean(axis=(0, 1, 2)))[: timelapse.MAP_CHANNELS]
            kept = stack[..., np.sort(keep)]
            low = kept.min(axis=(1, 2, 3, 4))
            high = kept.max(axis=(1, 2, 3, 4))
            span = np.where(high > low, high - low, 1.0)[:, None, None, None, None]
            maps[name] = np.rint((kept - low[:, None, None, None, None]) / span * 255).astype(
                np.uint8
            )
            channels[name] = np.sort(keep).astype(np.int32)
            scales[name] = np.stack([low, high], axis=1).astype(np.float32)
        no_cam = np.zeros((len(frames), len(p.images), 1, 1), np.uint8)
        lapse = timelapse.Timelapse(
            frame_epochs=column["epoch"],
            frame_steps=np.array([f["step"] for f in frames], np.int64),
            loss=column["loss"],
            accuracy=column["accuracy"],
            val_loss=column["val_loss"],
            val_accuracy=column["val_accuracy"],
            probe_images=np.rint(p.images * 255).astype(np.uint8),
            probe_classes=p.classes.astype(np.int64),
            probabilities=np.stack([f["probabilities"] for f in frames]),
            filters=np.stack([f["filters"] for f in frames]).astype(np.float16)
            if frames[-1]["filters"] is not None
            else np.zeros((len(frames), 0, 0, 0, 0), np.float16),
            gradcam=np.rint(np.stack([f["gradcam"] for f in frames]) * 255).astype(np.uint8)
            if frames[-1]["gradcam"] is not None
            else no_cam,
            confusion=np.stack([f["confusion"] for f in frames]).astype(np.int32),
            maps=maps,
            map_channels=channels,
            map_scales=scales,
        )
        info = timelapse.TimelapseInfo(
            frames=len(frames),
            probes=p.info,
            layers=list(maps),
            validation=p.validation,
            seconds=round(self.seconds, 2),
        )
        return lapse, info


def _model_inputs(prepared, split) -> np.ndarray:
    """uint8 model inputs of a (small) split, decoded by the training pipeline."""
    from cnn import datasets

    h, w, c = prepared.input_shape
    if len(split) == 0:
        return np.zeros((0, h, w, c), np.uint8)
    batches = datasets.make_pipeline(split, (h, w), c, 64)
    return np.rint(np.concatenate([x.numpy() for x, _ in batches]) * 255).astype(np.uint8)


def probes_for(prepared, extra: list[tuple[str, np.ndarray]] | None = None) -> Probes:
    """One test image per class (at most MAX_PROBES classes) plus `extra` (label, input) pairs.

    Each probe is a test image chosen with the config's seed; the confusion matrices count a
    fixed stratified subset of the validation split, or of the test split without one.
    """
    from cnn import datasets

    data, seed = prepared.data, prepared.config.seed
    rng = np.random.default_rng(seed)
    classes = range(min(len(data.class_names), timelapse.MAX_PROBES))
    picks = [
        int(rng.choice(np.flatnonzero(data.test.labels == c)))
        for c in classes
        if (data.test.labels == c).any()
    ]
    images = _model_inputs(prepared, data.test.take(picks)).astype(np.float32) / 255.0
    labels = [int(c) for c in data.test.labels[picks]]
    info = [
        {"label": data.class_names[c], "class": c, "index": i}
        for c, i in zip(labels, picks, strict=True)
    ]
    for label, image in extra or []:
        if tuple(image.shape) == tuple(prepared.input_shape):
            images = np.concatenate([images, image[None].astype(np.float32)])
            labels.append(-1)
            info.append({"label": label, "class": -1, "index": -1})
    source, name = prepared.validation, "validation"
    if len(source) == 0:
        source, name = data.test, "test"
    subset = datasets.stratified_subset(source, timelapse.VALIDATION_SUBSET, seed)
    return Probes(
        images=images,
        classes=np.array(labels, np.int64),
        info=info,
        validation_images=_model_inputs(prepared, subset),
        validation_labels=subset.labels.astype(np.int64),
        validation=f"a fixed subset of {len(subset)} {name} images",
    )
