"""Lesson links: a whole Train or Predict setup in a URL's query parameters, checked.

A teacher's link such as `/train?dataset=mnist&arch=tiny_vgg&epochs=3&lr=0.003&lock=1` gives
every student exactly that setup. `parse` turns the parameters into a `Lesson`, refusing
nothing: an unknown parameter or a value that cannot work becomes one sentence in
`Lesson.problems` and the default is kept. `encode` writes a setup back as parameters. An
edited architecture travels compactly as `spec` (zlib-compressed JSON, base64url).

Parameters: page, dataset, arch, spec, epochs, batch_size, lr, optimizer, augment, preset,
seed, run, source, lock, present.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnn import architectures, datasets
from cnn.architectures import ArchSpec
from cnn.errors import SpecError
from cnn.training import config as training

PAGES = ("home", "train", "predict", "inside", "probe", "models", "data", "make")
SOURCES = ("Draw", "Upload", "Samples")
MAX_SPEC_CHARS = 4000  # an encoded architecture longer than this is refused
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass
class Lesson:
    """A setup read from a link; None means "not given: keep the default".

    Attributes:
        settings: TrainConfig keyword arguments the link sets (epochs, batch_size,
            learning_rate, optimizer, augment, seed).
        problems: one sentence per parameter that was ignored.
    """

    page: str | None = None
    dataset: str | None = None
    arch: str | None = None
    spec: dict | None = None
    preset: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    run: str | None = None
    source: str | None = None
    lock: bool = False
    present: bool = False
    problems: list[str] = field(default_factory=list)


def encode_spec(spec: dict) -> str:
    """An architecture spec as a short URL-safe string."""
    raw = json.dumps(spec, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_spec(text: str) -> dict:
    """The spec `encode_spec` wrote.

    Raises:
        SpecError: the text is too long, not an encoded spec, or not a valid architecture.
    """
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError("The link's architecture is too long to be one of ours.")
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = zlib.decompressobj().decompress(base64.urlsafe_b64decode(padded), 1 << 16)
        spec = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError) as err:
        raise SpecError("The link's architecture is damaged (it may have been cut off).") from err
    return ArchSpec.from_dict(spec).to_dict()


def _number(text: str, kind: type, low: float, high: float) -> int | float | None:
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


# parameter -> (TrainConfig field, how to read it, what a good value is)
SETTINGS = {
    "epochs": ("epochs", lambda t: _number(t, int, 1, 200), "a whole number from 1 to 200"),
    "batch_size": (
        "batch_size",
        lambda t: _number(t, int, 1, 4096),
        "a whole number from 1 to 4096",
    ),
    "lr": (
        "learning_rate",
        lambda t: _number(t, float, 1e-6, 10),
        "a number above 0 and at most 10",
    ),
    "seed": ("seed", lambda t: _number(t, int, 0, 2**31 - 1), "a whole number from 0"),
    "optimizer": (
        "optimizer",
        lambda t: t if t in training.OPTIMIZERS else None,
        f"one of {', '.join(training.OPTIMIZERS)}",
    ),
    "augment": (
        "augment",
        lambda t: t.lower() in TRUE if t.lower() in TRUE + FALSE else None,
        "1 or 0",
    ),
}
CHOICES = {  # parameter -> allowed values
    "page": PAGES,
    "dataset": tuple(datasets.REGISTRY),
    "arch": tuple(architectures.REGISTRY),
    "preset": tuple(training.PRESETS),
    "source": SOURCES,
}


def parse(params: Mapping[str, str]) -> Lesson:
    """Read a link's parameters; every one that cannot be used is a sentence, never an error."""
    lesson = Lesson()
    for name, text in params.items():
        text = str(text).strip()
        if name in SETTINGS:
            target, read, good = SETTINGS[name]
            value = read(text)
            if value is None:
                lesson.problems.append(f"The link's {name}={text} was ignored: it must be {good}.")
            else:
                lesson.settings[target] = value
        elif name in CHOICES:
            if text in CHOICES[name]:
                setattr(lesson, name, text)
            else:
                lesson.problems.append(
                    f"The link's {name}={text} was ignored: it must be one of "
                    f"{', '.join(CHOICES[name])}."
                )
        elif name in ("lock", "present"):
            setattr(lesson, name, text.lower() in TRUE)
        elif name == "run":
            lesson.run = text if text and "/" not in text and ".." not in text else None
        elif name == "spec":
            try:
                lesson.spec = decode_spec(text)
            except SpecError as err:
                lesson.problems.append(f"{err} The listed architecture is used instead.")
        else:
            lesson.problems.append(
                f"The link's setting '{name}' is not one CNN Lab knows; ignored."
            )
    return lesson


def encode(lesson: Lesson) -> dict[str, str]:
    """A setup as query parameters (only what is set), the inverse of `parse`."""
    params: dict[str, str] = {}
    for name in ("page", "dataset", "arch", "preset", "run", "source"):
        if getattr(lesson, name):
            params[name] = getattr(lesson, name)
    by_field = {target: name for name, (target, _, _) in SETTINGS.items()}
    for target, value in lesson.settings.items():
        if target in by_field:
            params[by_field[target]] = str(int(value) if isinstance(value, bool) else value)
    if lesson.spec is not None:
        params["spec"] = encode_spec(lesson.spec)
    if lesson.lock:
        params["lock"] = "1"
    if lesson.present:
        params["present"] = "1"
    return params
