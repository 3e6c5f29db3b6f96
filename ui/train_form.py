"""The Train page's settings form and its lesson setup.

Every widget takes its label, help, range and options from the training settings' schema
(`cnn.training.config.SETTINGS`), the one the CLI and lesson links read, so the form cannot
offer what a training would refuse. A value a lesson link brings between the usual marks of
a slider or list joins them.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from cnn import artifacts, datasets, i18n
from cnn.architectures import ArchSpec
from cnn.i18n import N_, tr
from cnn.lesson import LINKED, Lesson
from cnn.training.config import DIGIT_DATASETS, SETTINGS, TrainConfig, augmentations_for

TRAIN_DATASET = "train-dataset"  # the Train page's dataset picker
NOT_ON_THE_FORM = ("dataset", "data", "arch", "spec", "strategy", "timelapse")  # set elsewhere
REDRAW_SHARE = 0.5  # the share of redrawn digits the checkbox asks for (the shipped run's)
# choices shown in the language (the others are names: adam, mixup...); values stay English
N_("none"), N_("constant"), N_("cosine"), N_("standard"), N_("strong"), N_("elastic")


def _choice(column: Any, name: str, value: Any, key: str, options=None) -> Any:
    """A selectbox over `options`, else a setting's choices, else its marks (`value` joins
    those), starting on `value`."""
    about = SETTINGS[name]
    options = list(options or about.choices or sorted({*about.marks, value}))
    index = options.index(value) if value in options else 0
    return column.selectbox(
        tr(about.label),
        options,
        index,
        format_func=lambda v: tr(str(v)),
        key=f"{name}-{key}",
        help=tr(about.help),
    )


def _marks(column: Any, name: str, value: Any, key: str) -> Any:
    """A select slider over a setting's marks, starting on `value` (which joins them)."""
    about = SETTINGS[name]
    marks = sorted({*about.marks, value})
    return column.select_slider(
        tr(about.label), marks, value, key=f"{name}-{key}", help=tr(about.help)
    )


def _number(column: Any, name: str, value: int, key: str, label: str = "", low=None) -> int:
    """A whole number within a setting's range (`low` below it: a number meaning "all")."""
    about = SETTINGS[name]
    low = about.low if low is None else low
    return column.number_input(
        label or tr(about.label), low, about.high, value, key=f"{name}-{key}", help=tr(about.help)
    )


def _check(column: Any, name: str, on: bool, key: str) -> bool:
    """A checkbox that switches a setting on (what "on" means is the caller's)."""
    about = SETTINGS[name]
    return column.checkbox(tr(about.label), on, key=f"{name}-{key}", help=tr(about.help))


def form_settings(info: datasets.DatasetInfo) -> list[str]:
    """The TrainConfig fields the form sets for a dataset (image size for photos alone)."""
    photos = info.kind == "photos"
    return [n for n in SETTINGS if n not in NOT_ON_THE_FORM and (photos or n != "image_size")]


def train_settings_ui(
    info: datasets.DatasetInfo, preset: dict[str, Any], shown: bool = True
) -> dict[str, Any]:
    """The TrainConfig hyperparameters, starting from a preset (widgets reset when it changes).

    Args:
        info: the dataset.
        preset: the preset's values (and a lesson link's).
        shown: False for a locked lesson: no widgets, the preset's values as they are.

    Returns:
        keyword arguments for TrainConfig (everything but dataset, arch and spec).
    """
    values = {**TrainConfig().to_dict(), **preset}
    if not shown:
        return {name: values[name] for name in form_settings(info)}
    key = f"{info.key}-{json.dumps(preset, sort_keys=True)}"
    left, middle, right = st.columns(3)
    all_of_them = tr("Max training samples (0 = all)")
    settings = {
        "epochs": _number(left, "epochs", values["epochs"], key),
        "batch_size": _choice(left, "batch_size", values["batch_size"], key),
        "max_samples": _number(left, "max_samples", values["max_samples"] or 0, key, all_of_them, 0)
        or None,
        "optimizer": _choice(middle, "optimizer", values["optimizer"], key),
        "learning_rate": _marks(middle, "learning_rate", values["learning_rate"], key),
        "lr_schedule": _choice(middle, "lr_schedule", values["lr_schedule"], key),
        "validation_fraction": _marks(
            right, "validation_fraction", values["validation_fraction"], key
        ),
        "label_smoothing": _marks(right, "label_smoothing", values["label_smoothing"], key),
        "seed": values["seed"],  # a lesson link's, so every student's run starts the same
    }
    if info.kind == "photos":
        side = values["image_size"] or info.image_size[0]
        settings["image_size"] = _marks(right, "image_size", side, key)
    settings.update(_advanced_settings_ui(values, key, info.key))
    return settings


def _advanced_settings_ui(values: dict[str, Any], key: str, dataset: str) -> dict[str, Any]:
    """The settings the strong recipes use: augmentation, mixing, weight decay, weight
    average, mirror reading, teachers, and for digits, training digits redrawn with the app's
    pen."""
    left, middle, right = st.columns(3)
    levels = augmentations_for(dataset, none=True)
    level = values["augmentation"] if values["augmentation"] in levels else "strong"
    digits = dataset in DIGIT_DATASETS
    average = _check(right, "ema", values["ema"] > 0, key)
    redraw = digits and _check(middle, "redraw_strokes", values["redraw_strokes"] > 0, key)
    mirror = not digits and _check(right, "tta", values["tta"] == "mirror", key)
    return {
        "augmentation": _choice(left, "augmentation", level, key, levels),
        "mix": _choice(left, "mix", values["mix"], key),
        "weight_decay": _marks(middle, "weight_decay", values["weight_decay"], key),
        "ema": (values["ema"] or 0.999) if average else 0.0,
        "redraw_strokes": (values["redraw_strokes"] or REDRAW_SHARE) if redraw else 0.0,
        "tta": "mirror" if mirror else "none",
        "teachers": _teachers_ui(values, key, dataset, right),
        "distill": values["distill"],
    }


def _teachers_ui(values: dict[str, Any], key: str, dataset: str, column: Any) -> list[str]:
    """Knowledge distillation: trained runs of the same data whose answers the model learns
    from as well as from the labels (cnn.training.distill)."""
    listed = artifacts.list_runs()
    runs = {str(r.path): r.title for r in listed if r.ok and r.record.dataset.key == dataset}
    kept = [path for path in values.get("teachers") or [] if path in runs]
    about = SETTINGS["teachers"]
    share = tr("Their share of the target: {share}.").format(share=i18n.percent(values["distill"]))
    return column.multiselect(
        tr(about.label),
        list(runs),
        kept,
        format_func=runs.get,
        key=f"teachers-{key}",
        placeholder=tr("No teacher"),
        help=f"{tr(about.help)} {share}",
    )


def lesson_spec(link: Lesson, arch_key: str) -> ArchSpec | None:
    """A lesson link's edited architecture, while the architecture it was edited from (the
    link's `arch`) is the one picked."""
    if link.spec is None or link.arch != arch_key:
        return None
    return ArchSpec.from_dict(link.spec)


def train_setup(info, arch_key: str, spec: ArchSpec, preset: str, settings: dict, link) -> Lesson:
    """The Train page's setup as a lesson (what its link carries)."""
    return Lesson(
        page="train",
        dataset=info.key if info.key != "folder" else None,
        arch=arch_key,
        spec=spec.to_dict() if spec.name == "custom" else None,
        preset=preset,
        settings={k: settings[k] for k in LINKED if k in settings},
        lock=link.lock,
        present=link.present,
    )


def train_on_own_dataset() -> None:
    """Open Train with "Your own images" chosen (the dataset made in this session)."""
    st.session_state[TRAIN_DATASET] = next(a for a in datasets.list_datasets() if a.key == "folder")
    st.switch_page("app_pages/train.py")
