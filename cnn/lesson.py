"""Lesson links: a whole Train or Predict setup in a URL's query parameters, checked.

A teacher's link such as `/train?dataset=mnist&arch=tiny_vgg&epochs=3&lr=0.003&lock=1` gives
every student exactly that setup. `parse` turns the parameters into a `Lesson`, refusing
nothing: an unknown parameter or a value that cannot work becomes one sentence in
`Lesson.problems` and the default is kept. `encode` writes a setup back as parameters. An
edited architecture travels compactly as `spec` (zlib-compressed JSON, base64url).

Parameters: page, dataset, arch, spec, epochs, batch_size, lr, optimizer, augmentation,
max_samples, preset, seed, run, source, lock, present; `augment=1/0` (older links) is
augmentation=standard or none. `lesson=KEY&step=N` opens step N of a lesson (cnn.lessons) and
`class=CODE` joins a class board (its code: 2-16 letters or digits); `lang=zh|es|en` sets
the language. Settings are read and
refused by `cnn.training.config.SETTINGS`, the schema the CLI and the Train page read too, so
a bad value gets the sentence it gets everywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from cnn import i18n
from cnn.architectures import ArchSpec
from cnn.errors import SpecError, TrainingError
from cnn.i18n import tr
from cnn.training import config as training
from cnn.training.schema import FALSE, TRUE

PAGES = (
    "home", "train", "predict", "inside", "open_box", "probe", "models", "data", "make",
    "lessons", "class_board",
)  # fmt: skip
SOURCES = ("Draw", "Upload", "Samples")
MAX_SPEC_CHARS = 4000  # an encoded architecture longer than this is refused
# the TrainConfig fields a link carries, under their short names (learning_rate as lr)
LINKED = (
    "epochs", "batch_size", "learning_rate", "optimizer", "augmentation", "max_samples", "seed",
)  # fmt: skip
PARAMETERS = {training.SETTINGS[name].key: training.SETTINGS[name] for name in LINKED}
LESSON_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a lesson's key (its file's name)
CLASS_CODE = re.compile(r"^[A-Za-z0-9]{2,16}$")  # a class board's code (issue 30)
MAX_STEP = 999


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
    lesson_key: str | None = None  # lesson=KEY: the lesson to open
    step: int | None = None  # step=N: its step, counted from 1
    class_code: str | None = None  # class=CODE: the class board to join
    lang: str | None = None  # lang=zh|es|en: the language the page speaks
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
                    tr("The link's {name}={text} was ignored: it must be one of {choices}.")
                    .format(name=name, text=text, choices=", ".join(CHOICES[name]))
                )  # fmt: skip
        elif name in ("lock", "present"):
            setattr(lesson, name, text.lower() in TRUE)
        elif name == "run":
            lesson.run = text if text and "/" not in text and ".." not in text else None
        elif name in ("lesson", "step", "class"):
            _read_lesson_part(lesson, name, text)
        elif name == "lang":
            lesson.lang = i18n.code_of(text)
            if lesson.lang is None:
                lesson.problems.append(
                    tr("The link's lang={text} was ignored: it must be one of {codes}.").format(
                        text=text, codes=", ".join(i18n.LANGUAGES)
                    )
                )
        elif name == "spec":
            try:
                lesson.spec = decode_spec(text)
            except SpecError as err:
                lesson.problems.append(tr("{problem} The listed architecture is used instead.")
                                       .format(problem=err))  # fmt: skip
        else:
            lesson.problems.append(
                tr("The link's setting '{name}' is not one CNN Lab knows; ignored.").format(
                    name=name)
            )  # fmt: skip
    return lesson


def _read_lesson_part(lesson: Lesson, name: str, text: str) -> None:
    """lesson=, step= or class= into the lesson, or its sentence into problems."""
    if name == "lesson" and LESSON_KEY.match(text):
        lesson.lesson_key = text
    elif name == "step" and text.isdigit() and 1 <= int(text) <= MAX_STEP:
        lesson.step = int(text)
    elif name == "class" and CLASS_CODE.match(text):
        lesson.class_code = text
    else:
        sentence = {
            "lesson": tr("The link's lesson={text} was ignored: it must be a lesson's key "
                         "(lower-case letters, digits and dashes)."),
            "step": tr("The link's step={text} was ignored: it must be a step number from 1 "
                       "to {most}."),
            "class": tr("The link's class={text} was ignored: it must be a class code of 2 to "
                        "16 letters or digits."),
        }[name]  # fmt: skip
        lesson.problems.append(sentence.format(text=text, most=MAX_STEP))


def query_params(query: str) -> dict[str, str]:
    """A query string ("?page=train&lr=0.01" or without "?") as parameters (the last of a
    repeated name wins, as in a browser's address bar read by Streamlit)."""
    return dict(parse_qsl(query.strip().removeprefix("?"), keep_blank_values=True))


def _read_setting(lesson: Lesson, name: str, text: str) -> None:
    """One setting's parameter into the lesson, or its sentence (the schema's) into problems."""
    about = PARAMETERS.get(name) or training.SETTINGS[name]
    try:
        value = about.parse(text)
    except TrainingError as err:
        lesson.problems.append(tr("{problem} The link's {name}={text} was ignored.").format(
            problem=err, name=name, text=text))  # fmt: skip
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
    if lesson.lesson_key:
        params["lesson"] = lesson.lesson_key
        params["step"] = str(lesson.step or 1)
    if lesson.class_code:
        params["class"] = lesson.class_code
    if lesson.lang and lesson.lang != i18n.DEFAULT:
        params["lang"] = lesson.lang
    return params
