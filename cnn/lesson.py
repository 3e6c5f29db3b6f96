"""Lesson links: a whole Train or Predict setup in a URL's query parameters, checked.

A teacher's link such as `/train?dataset=mnist&arch=tiny_vgg&epochs=3&lr=0.003&lock=1` gives
every student exactly that setup. `parse` turns the parameters into a `Lesson`, refusing
nothing: an unknown parameter or a value that cannot work becomes one sentence in
`Lesson.problems` and the default is kept. `encode` writes a setup back as parameters. An
edited architecture travels compactly as `spec` (zlib-compressed JSON, base64url).

Parameters: page, dataset, arch, spec, epochs, batch_size, lr, optimizer, augmentation,
preset, seed, run, source, lock, present; `augment=1/0` (older links) is augmentation=standard
or none. Settings are read and refused by `cnn.training.config.SETTINGS`, the schema the CLI
and the Train page read too, so a bad value gets the sentence it gets everywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnn.architectures import ArchSpec
from cnn.errors import SpecError, TrainingError
from cnn.training import config as training
from cnn.training.schema import FALSE, TRUE

PAGES = ("home", "train", "predict", "inside", "probe", "models", "data", "make")
SOURCES = ("Draw", "Upload", "Samples")
MAX_SPEC_CHARS = 4000  # an encoded architecture longer than this is refused
# the TrainConfig fields a link carries, under their short names (learning_rate as lr)
LINKED = ("epochs", "batch_size", "learning_rate", "optimizer", "augmentation", "seed")
PARAMETERS = {training.SETTINGS[name].key: training.SETTINGS[name] for name in LINKED}


@dataclass
class Lesson:
    """A setup read from a link; None means "not given: keep the default".

    Attributes:
        settings: TrainConfig keyword arguments the link sets (those of LINKED).
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


CHOICES = {"page": PAGES, "preset": tuple(training.PRESETS), "source": SOURCES}  # not settings


def parse(params: Mapping[str, str]) -> Lesson:
    """Read a link's parameters; every one that cannot be used is a sentence, never an error."""
    lesson = Lesson()
    for name, text in params.items():
        text = str(text).strip()
        if name == "augment":  # a link older than augmentation=: 1 is standard, 0 none
            name = "augmentation"
            text = "standard" if text.lower() in TRUE else "none" if text.lower() in FALSE else text
        if name in PARAMETERS or name in ("dataset", "arch"):
            _read_setting(lesson, name, text)
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


def _read_setting(lesson: Lesson, name: str, text: str) -> None:
    """One setting's parameter into the lesson, or its sentence (the schema's) into problems."""
    about = PARAMETERS.get(name) or training.SETTINGS[name]
    try:
        value = about.parse(text)
    except TrainingError as err:
        lesson.problems.append(f"{err} The link's {name}={text} was ignored.")
        return
    if about.name in LINKED:
        lesson.settings[about.name] = value
    else:  # dataset, arch: the page's pickers, not settings of the form
        setattr(lesson, name, value)


def encode(lesson: Lesson) -> dict[str, str]:
    """A setup as query parameters (only what is set), the inverse of `parse`."""
    params: dict[str, str] = {}
    for name in ("page", "dataset", "arch", "preset", "run", "source"):
        if getattr(lesson, name):
            params[name] = getattr(lesson, name)
    for target, value in lesson.settings.items():
        if target in LINKED:
            params[training.SETTINGS[target].key] = str(value)
    if lesson.spec is not None:
        params["spec"] = encode_spec(lesson.spec)
    if lesson.lock:
        params["lock"] = "1"
    if lesson.present:
        params["present"] = "1"
    return params
