"""What to train: `TrainConfig` (saved in run.json), the classroom presets, and the sizes a
config implies (input shape, architecture spec, memory per step).

Everything here is cheap to import (no TensorFlow), so pages and the CLI can build and check
a config before anything heavy loads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from cnn import architectures, datasets, settings
from cnn.errors import TrainingError
from cnn.i18n import N_, tr
from cnn.training.schema import Setting, read_settings, setting

Optimizer = Literal["adam", "sgd", "rmsprop", "adadelta"]
LrSchedule = Literal["constant", "cosine"]
Strategy = Literal["auto", "default", "multi_gpu"]  # "multi_gpu": tf.distribute.MirroredStrategy
Augmentation = Literal["none", "standard", "strong", "elastic"]  # "elastic": digits only
Mix = Literal["none", "mixup", "cutmix"]  # ways to blend pairs of training images (cnn.datasets)
Tta = Literal["none", "mirror"]  # test-time augmentation: "mirror" also reads the mirror image
AUGMENTATIONS: tuple[str, ...] = get_args(Augmentation)
WARMUP_FRACTION = 0.1  # share of the steps over which "cosine" ramps the rate up from 0
DIGIT_DATASETS = ("mnist",)  # datasets of pen strokes, which `redraw_strokes` can redraw
DIGITS_ONLY_AUGMENTATIONS = ("elastic",)  # bend pen strokes: for DIGIT_DATASETS alone
MAX_IMAGE_SIZE = 512  # largest side accepted for photo models
# values older run.json files (and links) used, by field: read as today's words
RENAMED = {"tta": {"flip": "mirror"}, "strategy": {"mirrored": "multi_gpu"}}


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in run.json, rebuilt with `from_dict`.

    Each field's type, range or choices, label and help are written once, in its metadata;
    `SETTINGS` reads them for validation, lesson links, the Train page and the CLI.
    """

    dataset: str = setting(
        "mnist", N_("Dataset"), N_("Which images to learn from."), choices=tuple(datasets.REGISTRY)
    )
    data: str | None = setting(
        None, N_("Data"), N_("A data directory or a .zip of class subfolders (the folder dataset).")
    )
    arch: str = setting(
        "modern_cnn",
        N_("Architecture"),
        N_("A listed architecture (ignored when an edited spec is given)."),
        choices=tuple(architectures.REGISTRY),
    )
    spec: dict | None = setting(
        None,
        N_("Edited architecture"),
        N_("An ArchSpec.to_dict(); when given it is the model built."),
    )
    epochs: int = setting(
        5, N_("Epochs"), N_("How many times the model sees every training image."), low=1, high=1000
    )
    batch_size: int = setting(
        64,  # keeps 2 CPU cores busy without hurting accuracy on small sets
        N_("Batch size"),
        N_("How many images each step of learning looks at together."),
        low=1,
        high=4096,
        marks=(16, 32, 64, 128, 256),
    )
    optimizer: Optimizer = setting(
        "adam",
        N_("Optimizer"),
        N_("How each step changes the weights (adam adapts the step by itself)."),
    )
    learning_rate: float = setting(
        1e-3,
        N_("Learning rate"),
        N_("How big each step of learning is; too big and the loss jumps about or explodes."),
        short="lr",
        low=0,
        above=True,
        high=1,
        marks=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0),
    )
    lr_schedule: LrSchedule = setting(
        "constant",
        N_("Learning-rate schedule"),
        N_(
            "cosine: a warm-up over the first 10% of the steps, then a slow decay to 0 (better "
            "final accuracy: one MNIST epoch reaches 99%, see bench/README.md)."
        ),
    )
    label_smoothing: float = setting(
        0.0,
        N_("Label smoothing"),
        N_("Train towards 90% sure instead of 100% (0.1): helps photo models generalise."),
        low=0,
        high=1,
        below=True,
        marks=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    )
    validation_fraction: float = setting(
        0.1,
        N_("Validation share"),
        N_("The share of the training images held out to measure the model on during training."),
        low=0,
        high=0.9,
        below=True,
        marks=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
    )
    augmentation: Augmentation = setting(
        "none",
        N_("Augmentation"),
        N_(
            "Random changes to the training images, new every epoch. standard: small shifts, turns "
            "and zooms; strong: for photos, random crops zoomed up to 2x and colour changes; for "
            "digits, strokes as thick as the thickest brush; for clothes, erased patches. elastic "
            "(digits): strong, and every digit also bent a little by a smooth random wobble "
            "(Simard 2003), as no two hands draw a 7 alike."
        ),
    )
    mix: Mix = setting(
        "none",
        N_("Mix pairs of images"),
        N_(
            "mixup: blend two training images and their answers (70% cat, 30% dog); cutmix: paste "
            "a patch of one into the other, answers shared by area. Both make memorising a small "
            "set harder."
        ),
    )
    redraw_strokes: float = setting(
        0.0,
        N_("Redraw digits with the app's pen"),
        N_(
            "This share of the training digits is shown drawn again along their centre lines with "
            "the pen Predict redraws your drawing with, so the digits the model learns from look "
            "like the drawings it will be shown (cnn.strokes)."
        ),
        low=0,
        high=1,
    )
    weight_decay: float = setting(
        0.0,
        N_("Weight decay"),
        N_(
            "Shrinks the weights a little every step (decoupled, as AdamW; not biases or batch "
            "normalisation), so the model cannot memorise."
        ),
        low=0,
        high=1,
        below=True,
        marks=(0.0, 1e-4, 1e-3, 0.01, 0.05, 0.1),
    )
    ema: float = setting(
        0.0,
        N_("Average the weights"),
        N_(
            "Keep a running average of the weights (such as 0.999) and use it at the end: "
            "steadier. 0: off."
        ),
        low=0,
        high=1,
        below=True,
    )
    image_size: int | None = setting(
        None,
        N_("Image size"),
        N_("The side of the square input of photo models, in pixels (empty: the dataset's own)."),
        low=8,
        high=MAX_IMAGE_SIZE,
        marks=(32, 64, 96, 128, 160, 224),
    )
    max_samples: int | None = setting(
        None,
        N_("Max training samples"),
        N_("Train on this many images, the same share of every class (empty: all of them)."),
        low=2,
    )
    seed: int = setting(
        0,
        N_("Seed"),
        N_("The same seed on one machine gives the same weights."),
        low=0,
        high=2**31 - 1,
    )
    strategy: Strategy = setting(
        "auto",
        N_("Devices"),
        N_(
            "auto: one GPU if there is one, all of them (multi_gpu) if there are several; "
            "default: one device."
        ),
    )
    timelapse: bool = setting(
        True,
        N_("Time-lapse"),
        N_("Keep snapshots while training, saved with the run (cnn.timelapse)."),
    )
    tta: Tta = setting(
        "none",
        N_("Also read the mirror image"),
        N_(
            "When the model answers, it reads each picture and the picture flipped left to right, "
            "and averages the two answers (test-time augmentation): the test figures, calibration, "
            "Predict and the probes all do. A shirt is a shirt either way round; two readings make "
            "fewer mistakes than one."
        ),
    )
    teachers: list[str] = setting(
        [],
        N_("Learn from trained models too"),
        N_(
            "Distillation: for every training image the model is also shown what these trained "
            'runs (same classes and image size) answer ("a 7, a little like a 1"), a share of its '
            "target (distill). Several teachers are averaged, so a model can learn from a team it "
            "could not match alone (cnn.training.distill)."
        ),
    )
    distill: float = setting(
        0.5,
        N_("The teachers' share"),
        N_("With teachers: the share of each training target that is their answer."),
        low=0,
        above=True,
        high=1,
    )
    init_from: str | None = setting(
        None,
        N_("Start from a run's weights"),
        N_(
            "A run folder (same dataset, architecture and image size) whose learned weights the "
            "model starts from instead of random ones: retrain a run changed by weight surgery, or "
            "go on training a run (cnn.training.init_from)."
        ),
    )
    freeze: list[str] = setting(
        [],
        N_("Freeze layers"),
        N_(
            "Layer names (e.g. conv1, bn1) whose weights stay exactly as they are while the other "
            "layers train: with a run's weights to start from, what surgery set stays set."
        ),
    )

    @property
    def mirror(self) -> bool:
        """Whether the trained model is read with each image's mirror image too (tta="mirror")."""
        return self.tta == "mirror"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from run.json, ignoring keys a newer version may have added and reading an
        older version's words as today's (augment + augmentation, tta="flip", "mirrored")."""
        known = {k: v for k, v in data.items() if k in SETTINGS}
        if "augment" in data:  # before "none" was an augmentation, a flag switched it on
            level = data.get("augmentation", "standard")
            known["augmentation"] = level if data["augment"] else "none"
        for name, renamed in RENAMED.items():
            if name in known:
                known[name] = renamed.get(known[name], known[name])
        return cls(**known)

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


SETTINGS: dict[str, Setting] = read_settings(TrainConfig)  # field name -> its Setting


def describe(config: TrainConfig) -> list[tuple[str, Any, str]]:
    """Each setting of a config as (name, value, help), in the order of the fields: what an
    exported script's header or a report lists."""
    return [(name, getattr(config, name), s.help) for name, s in SETTINGS.items()]


def augmentations_for(dataset: str, none: bool = False) -> list[str]:
    """The augmentation strengths a dataset can train with ("elastic" only for digits), with
    "none" first when `none` is set."""
    digits = dataset in DIGIT_DATASETS
    return [
        a
        for a in AUGMENTATIONS
        if (none or a != "none") and (digits or a not in DIGITS_ONLY_AUGMENTATIONS)
    ]


def _problems(c: TrainConfig):
    """Each setting that cannot work, as a sentence (in the order a person reads the form):
    first each value against its own range or choices, then the rules between settings."""
    for name, about in SETTINGS.items():
        if name == "arch" and c.spec is not None:
            continue  # an edited architecture is built from its spec, whatever its name
        if problem := about.problem(getattr(c, name)):
            yield problem
    if c.augmentation in AUGMENTATIONS and c.augmentation not in augmentations_for(c.dataset, True):
        yield tr(
            "Elastic distortion bends pen strokes: use it with MNIST, or pick standard or strong."
        )
    if c.redraw_strokes and c.dataset not in DIGIT_DATASETS:
        yield tr("Redrawn strokes are for handwritten digits: use them with MNIST.")
    if c.tta == "mirror" and c.dataset in DIGIT_DATASETS:
        yield tr(
            "Digits are not read mirrored (a mirrored 2 or 7 is no digit): use mirror with "
            "clothes or photos."
        )
    if isinstance(c.teachers, list) and not all(isinstance(t, str) and t for t in c.teachers):
        yield tr("Teachers must be a list of run folders.")
    if c.dataset == "folder" and not c.data:
        yield tr("The folder dataset needs a directory or .zip of class subfolders.")


# The fast recipe of fast_cnn (bench/README.md, section 2: 99.2% on MNIST in 2 epochs)
FAST_RECIPE: dict[str, Any] = {
    "batch_size": 128,
    "learning_rate": 0.01,
    "lr_schedule": "cosine",
    "label_smoothing": 0.1,
}
# Quick trains on about this many images in all (epochs x images) where a kind names one:
# a small set is seen more often, a big one is sampled (bench/README.md, "Quick")
QUICK_IMAGES = {"digits": 16_000, "grayscale": 32_000}
QUICK_IMAGE_EPOCHS = 4  # ...in at most this many epochs (a made set of 300 keeps its own count)

# Classroom presets per kind of images. "Quick" finishes well under a minute on 2 CPU cores;
# "Full" trains the kind's strong recipe. `preset_settings` adapts both to the data's size.
N_("Quick"), N_("Full")  # the presets' names, translated where shown (their keys stay English)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "Quick": {
        # the fast recipe (bench/README.md, section 2) on QUICK_IMAGES digits: 1 epoch of
        # 16,000 of the full MNIST, or 4 epochs of the embedded 5,000 (97.7% there, 4.6 s fit)
        "digits": {"arch": "fast_cnn", "epochs": 1, "max_samples": 16_000, **FAST_RECIPE},
        # the same on clothes, 2 epochs of 16,000: 85.7% on Fashion-MNIST (80.6% before)
        "grayscale": {"arch": "fast_cnn", "epochs": 2, "max_samples": 16_000, **FAST_RECIPE},
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
            "augmentation": "standard",
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
        raise TrainingError(
            tr("Unknown preset {name}: choose one of {presets}.").format(
                name=repr(name), presets=", ".join(PRESETS)
            )
        )
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
        if kind in QUICK_IMAGES:
            seen = min(QUICK_IMAGE_EPOCHS, round(QUICK_IMAGES[kind] / n_train))
            settings["epochs"] = min(MAX_QUICK_EPOCHS, max(settings["epochs"], seen))
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
