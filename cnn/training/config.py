"""What to train: `TrainConfig` (saved in run.json), the classroom presets, and the sizes a
config implies (input shape, architecture spec, memory per step).

Everything here is cheap to import (no TensorFlow), so pages and the CLI can build and check
a config before anything heavy loads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cnn import architectures, datasets, settings
from cnn.errors import TrainingError

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adadelta")
LR_SCHEDULES = ("constant", "cosine")
WARMUP_FRACTION = 0.1  # share of the steps over which "cosine" ramps the rate up from 0
STRATEGIES = ("auto", "default", "mirrored")
AUGMENTATIONS = ("standard", "strong", "elastic")  # "elastic": digits only (strong + bent)
MIXES = ("none", "mixup", "cutmix")  # ways to blend pairs of training images (cnn.datasets)
TTAS = ("none", "flip")  # test-time augmentation: "flip" also reads each image's mirror image
DIGIT_DATASETS = ("mnist",)  # datasets of pen strokes, which `redraw_strokes` can redraw
DIGITS_ONLY_AUGMENTATIONS = ("elastic",)  # bend pen strokes: for DIGIT_DATASETS alone
MAX_IMAGE_SIZE = 512  # largest side accepted for photo models


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in run.json, rebuilt with `from_dict`."""

    dataset: str = "mnist"  # key of cnn.datasets.REGISTRY
    data: str | None = None  # data directory or .zip (the `folder` dataset needs one)
    arch: str = "modern_cnn"  # key of cnn.architectures.REGISTRY, or "custom" with `spec`
    spec: dict | None = None  # an ArchSpec.to_dict(); when given it is the model that is built
    epochs: int = 5
    batch_size: int = 64  # 64 keeps 2 CPU cores busy without hurting accuracy on small sets
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    # "cosine": a linear warm-up over the first 10% of steps, then a cosine decay to 0 (better
    # final accuracy; with it one MNIST epoch reaches 99%, see bench/README.md)
    lr_schedule: str = "constant"
    label_smoothing: float = 0.0  # 0.1 helps photo models generalise
    validation_fraction: float = 0.1  # share of the training split held out for val metrics
    augment: bool = False  # dataset-appropriate random transforms, training batches only
    # "strong" photos: random crops zoomed up to 2x with their own aspect, colour changes;
    # "elastic" (digits): strong, each digit also bent by a smooth random field (Simard 2003)
    augmentation: str = "standard"
    # "mixup": each training image blended with another, labels in the same shares; "cutmix":
    # a patch of another image pasted in, labels by area. Both fight memorising small sets
    mix: str = "none"
    # digits: this share of the training digits (0-1) is shown redrawn along its centre lines
    # with MNIST's pen, as Predict redraws a drawing from its strokes (cnn.strokes)
    redraw_strokes: float = 0.0
    weight_decay: float = 0.0  # decoupled weight decay (AdamW, SGD); not on biases or BN
    ema: float = 0.0  # keep an exponential moving average of the weights (e.g. 0.999); 0: off
    image_size: int | None = None  # square input side for photo datasets; None = dataset default
    max_samples: int | None = None  # stratified subset of the training split (quick runs)
    seed: int = 0  # same seed, same machine -> same weights
    strategy: str = "auto"  # "auto": one GPU if present, MirroredStrategy if several
    timelapse: bool = True  # snapshots while training, saved with the run (cnn.timelapse)
    # "flip": the trained model answers with each image and its mirror image read and averaged
    # (test-time augmentation): the test figures, calibration, Predict and the probes all do
    tta: str = "none"
    # knowledge distillation: trained run folders (same classes and image size) whose averaged
    # answers for each augmented batch the model learns from too (cnn.training.distill)
    teachers: list[str] = field(default_factory=list)
    distill: float = 0.5  # with teachers: the target's share that is their answer (0-1)

    @property
    def mirrored(self) -> bool:
        """Whether the trained model is read with each image's mirror image too (tta="flip")."""
        return self.tta == "flip"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from run.json, ignoring keys a newer version may have added."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)

    def validate(self) -> None:
        """Refuse impossible settings with a sentence (before any data is loaded).

        Raises:
            TrainingError: naming the setting at fault.
        """
        for problem in _problems(self):
            raise TrainingError(problem)


def augmentations_for(dataset: str) -> list[str]:
    """The augmentation strengths a dataset can train with ("elastic" only for digits)."""
    digits = dataset in DIGIT_DATASETS
    return [a for a in AUGMENTATIONS if digits or a not in DIGITS_ONLY_AUGMENTATIONS]


def _problems(c: TrainConfig):
    """Each setting that cannot work, as a sentence (in the order a person reads the form)."""
    if c.dataset not in datasets.REGISTRY:
        yield f"Unknown dataset {c.dataset!r}: choose one of {', '.join(datasets.REGISTRY)}."
    if c.spec is None and c.arch not in architectures.REGISTRY:
        yield f"Unknown architecture {c.arch!r}: choose one of {', '.join(architectures.REGISTRY)}."
    if not isinstance(c.epochs, int) or not 1 <= c.epochs <= 1000:
        yield "Epochs must be a whole number from 1 to 1000."
    if not isinstance(c.batch_size, int) or not 1 <= c.batch_size <= 4096:
        yield "Batch size must be a whole number from 1 to 4096."
    if c.optimizer not in OPTIMIZERS:
        yield f"Optimizer must be one of {', '.join(OPTIMIZERS)}."
    if not (math.isfinite(c.learning_rate) and 0 < c.learning_rate <= 10):
        yield "The learning rate must be a positive number up to 10."
    if c.lr_schedule not in LR_SCHEDULES:
        yield f"Learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}."
    if not 0 <= c.label_smoothing < 1:
        yield "Label smoothing must be at least 0 and below 1."
    if not 0 <= c.validation_fraction < 0.9:
        yield "The validation fraction must be between 0 and 0.9."
    if c.image_size is not None and not 8 <= c.image_size <= MAX_IMAGE_SIZE:
        yield f"Image size must be between 8 and {MAX_IMAGE_SIZE} pixels."
    if c.augmentation not in AUGMENTATIONS:
        yield f"Augmentation must be one of {', '.join(AUGMENTATIONS)}."
    elif c.augmentation not in augmentations_for(c.dataset):
        yield "Elastic distortion bends pen strokes: use it with MNIST, or pick standard or strong."
    if c.mix not in MIXES:
        yield f"Image mixing must be one of {', '.join(MIXES)}."
    if not (isinstance(c.redraw_strokes, int | float) and 0 <= c.redraw_strokes <= 1):
        yield "The share of redrawn digits must be a number from 0 to 1."
    elif c.redraw_strokes and c.dataset not in DIGIT_DATASETS:
        yield "Redrawn strokes are for handwritten digits: use them with MNIST."
    if not (math.isfinite(c.weight_decay) and 0 <= c.weight_decay < 1):
        yield "Weight decay must be at least 0 and below 1."
    if not 0 <= c.ema < 1:
        yield "The weight average (EMA) must be 0 (off) or a number below 1, such as 0.999."
    if c.max_samples is not None and c.max_samples < 2:
        yield "Max samples must be at least 2 (one per class at the very least)."
    if c.tta not in TTAS:
        yield f"Test-time augmentation must be one of {', '.join(TTAS)}."
    elif c.tta == "flip" and c.dataset in DIGIT_DATASETS:
        yield (
            "Digits are not read mirrored (a mirrored 2 or 7 is no digit): use flip with "
            "clothes or photos."
        )
    if not isinstance(c.teachers, list) or not all(isinstance(t, str) and t for t in c.teachers):
        yield "Teachers must be a list of run folders."
    if not (isinstance(c.distill, int | float) and 0 < c.distill <= 1):
        yield "The teachers' share of the target (distill) must be above 0 and at most 1."
    if c.strategy not in STRATEGIES:
        yield f"Strategy must be one of {', '.join(STRATEGIES)}."
    if c.dataset == "folder" and not c.data:
        yield "The folder dataset needs a directory or .zip of class subfolders."


# Classroom presets per kind of images. "Quick" finishes well under a minute on 2 CPU cores;
# "Full" trains the kind's strong recipe. `preset_settings` adapts both to the data's size.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "Quick": {
        "digits": {"arch": "mnist_98", "epochs": 2, "max_samples": 3000},
        "grayscale": {"arch": "mnist_98", "epochs": 2, "max_samples": 3000},
        "photos": {"arch": "cats_dogs_tutorial", "epochs": 2, "max_samples": 400, "image_size": 64},
    },
    "Full": {
        "digits": {"arch": "modern_cnn", "epochs": 5, "lr_schedule": "cosine"},
        "grayscale": {"arch": "modern_cnn", "epochs": 8, "lr_schedule": "cosine"},
        "photos": {
            "arch": "modern_cnn",
            "epochs": 15,
            "image_size": 128,
            "batch_size": 32,  # keeps a 128 px training under 1.2 GB (bench/README.md, memory)
            "augment": True,
            "label_smoothing": 0.1,
            "lr_schedule": "cosine",
        },
    },
}
MIN_QUICK_STEPS = 60  # a quick run takes at least this many optimizer steps (or it learns nothing)
MAX_QUICK_EPOCHS = 30  # ...but never more epochs than this to get them


def preset_settings(name: str, kind: str, train_size: int | None = None) -> dict[str, Any]:
    """A preset's settings for a kind of images, adapted to the training split's size.

    Never asks for more samples than exist; on a small set the batch shrinks and the epochs
    grow until a quick run takes at least MIN_QUICK_STEPS optimizer steps, so the curves
    show learning (a 96-image set at batch 64 took 2 steps an epoch and learned nothing).

    Args:
        name: a key of PRESETS ("Quick", "Full").
        kind: "digits", "grayscale" or "photos".
        train_size: images in the training split, when known.

    Returns:
        TrainConfig keyword arguments (plus "arch").

    Raises:
        TrainingError: an unknown preset or kind.
    """
    if name not in PRESETS or kind not in PRESETS[name]:
        raise TrainingError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    settings = {"batch_size": TrainConfig.batch_size, **PRESETS[name][kind]}
    if train_size is None:
        return settings
    samples = settings.get("max_samples")
    if samples is not None and samples >= train_size:
        settings["max_samples"] = None  # all of a small set
        samples = None
    n = samples or train_size
    # images that train after the validation share is held out
    n_train = max(1, round(n * (1 - TrainConfig.validation_fraction)))
    if name == "Quick":
        while settings["batch_size"] > 16 and n_train / settings["batch_size"] < 8:
            settings["batch_size"] //= 2
        per_epoch = math.ceil(n_train / settings["batch_size"])
        needed = math.ceil(MIN_QUICK_STEPS / per_epoch)
        settings["epochs"] = min(MAX_QUICK_EPOCHS, max(settings["epochs"], needed))
    return settings


def memory_budget() -> int:
    """Bytes one training step may need ($CNN_TRAIN_MEMORY_BUDGET, read on every call)."""
    return settings.current().memory_budget


def input_shape_for(config: TrainConfig, info: datasets.DatasetInfo) -> tuple[int, int, int]:
    """Model input (h, w, c) for this config: digit sets stay 28x28, photos use image_size."""
    if info.kind == "photos" and config.image_size:
        return (config.image_size, config.image_size, info.channels)
    return (info.image_size[0], info.image_size[1], info.channels)


def preprocessing_for(info: datasets.DatasetInfo, input_shape: tuple[int, int, int]) -> dict:
    """The preprocessing record run.json keeps and `cnn.preprocess.prepare_*` re-applies."""
    return {
        "method": info.method,
        "image_size": [input_shape[0], input_shape[1]],
        "channels": input_shape[2],
        "scale": "pixel / 255",
        "crop": "centre square" if info.kind == "photos" else "none",
    }


def resolve_spec(config: TrainConfig, input_shape, num_classes) -> architectures.ArchSpec:
    """The ArchSpec a config trains: its custom spec, else the registry architecture's."""
    if config.spec is not None:
        return architectures.ArchSpec.from_dict(config.spec)
    return architectures.REGISTRY[config.arch].spec(input_shape, num_classes)


def estimate_memory(spec: architectures.ArchSpec, input_shape, num_classes, batch_size) -> int:
    """Rough bytes one training step needs: weights, optimizer state, activations for backprop."""
    layers = spec.shapes(input_shape, num_classes)
    kept = ("input", "conv", "batch_norm", "activation", "pool")
    per_sample = sum(math.prod(layer.shape) for layer in layers if layer.kind in kept)
    params = sum(layer.params for layer in layers)
    # float32; activations are kept for the backward pass and their gradients need as much again
    return 4 * (2 * per_sample * batch_size + 4 * params)
