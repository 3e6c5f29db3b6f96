"""The schema of training settings: what each `TrainConfig` field is, for people and checks.

A field declared with `setting(default, label, help, low=..., high=..., ...)` carries its
label, help and range in its dataclass metadata; its type (a `Literal` for choices) says the
rest. `read_settings` turns the fields into `Setting`s, which check a value (`problem`,
`check`), read one from text (`parse`) and say what is allowed, in one sentence shared by
validation, lesson links, the Train page and the CLI:

    Learning rate (lr) = 5 is out of range: it must be a number above 0 and at most 1.

Stdlib dataclass metadata rather than pydantic: pydantic is no dependency of the engine, and
run.json already round-trips through `TrainConfig(**saved)`.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from types import UnionType
from typing import Any, Literal, get_args, get_origin, get_type_hints

from cnn.errors import TrainingError
from cnn.i18n import N_, tr


def setting(default: Any, label: str, help: str, **limits: Any) -> Any:
    """A TrainConfig field whose metadata describes it for people (see `Setting`)."""
    about = {"label": label, "help": help, **limits}
    if isinstance(default, list):
        return field(default_factory=list, metadata={"setting": about})
    return field(default=default, metadata={"setting": about})


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")  # how text says yes or no
WORDS = {  # what a value of each kind is, in a sentence (translated where shown)
    int: N_("a whole number"),
    float: N_("a number"),
    bool: N_("yes or no (1 or 0)"),
    str: N_("a text"),
    list: N_("a list of run folders"),
    dict: N_("an architecture spec"),
}
LIMITS = {  # (low's word, high's word) -> the end of a sentence saying both, one or the other
    ("above", None): N_("{word} above {low}"),
    ("at least", None): N_("{word} at least {low}"),
    (None, "below"): N_("{word} below {high}"),
    (None, "at most"): N_("{word} at most {high}"),
    ("above", "below"): N_("{word} above {low} and below {high}"),
    ("above", "at most"): N_("{word} above {low} and at most {high}"),
    ("at least", "below"): N_("{word} at least {low} and below {high}"),
}
SENTENCES = {  # what is wrong with a value -> the whole sentence saying so
    "choice": N_("{label} ({key}) = {value} is not a choice: it must be {allowed}."),
    "range": N_("{label} ({key}) = {value} is out of range: it must be {allowed}."),
    "kind": N_("{label} ({key}) = {value} is not {word}: it must be {allowed}."),
}


@dataclass(frozen=True)
class Setting:
    """One TrainConfig field as people meet it, read from its type and metadata.

    Attributes:
        name: the field's name.
        label: its name on the Train page and in sentences.
        help: one or two sentences on what it does.
        kind: what a value is: int, float, str, bool, list or dict.
        default: the field's default.
        choices: the values it may take (a `Literal` type's), else ().
        low, high: the smallest and largest number allowed (None: no limit).
        above, below: `low` (`high`) itself is not allowed.
        optional: None is allowed too (it means "the dataset's own" or "all").
        short: its name in lesson links and on the command line when not `name` ("lr").
        marks: the values the Train page offers on a slider or list (a link's value joins).
    """

    name: str
    label: str
    help: str
    kind: type
    default: Any
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    above: bool = False
    below: bool = False
    optional: bool = False
    short: str = ""
    marks: tuple = ()

    @property
    def key(self) -> str:
        """The name links and the command line use."""
        return self.short or self.name

    def allowed(self) -> str:
        """What a good value is, as the end of a sentence: "a whole number from 1 to 1000"."""
        if self.choices:
            return tr("one of {choices}").format(choices=", ".join(self.choices))
        word = tr(WORDS[self.kind])
        if self.low is None and self.high is None:
            return word
        low, high = _shown(self.low), _shown(self.high)
        if self.low is not None and self.high is not None and not (self.above or self.below):
            return tr("{word} from {low} to {high}").format(word=word, low=low, high=high)
        low_word = None if self.low is None else ("above" if self.above else "at least")
        high_word = None if self.high is None else ("below" if self.below else "at most")
        return tr(LIMITS[low_word, high_word]).format(word=word, low=low, high=high)

    def problem(self, value: Any) -> str | None:
        """The sentence for a value this setting refuses (naming it, the value and what is
        allowed), or None when the value is good."""
        if value is None and self.optional:
            return None
        if self.choices:
            return None if value in self.choices else self._sentence(value, "choice")
        if self.kind in (int, float):
            numeric = int | float if self.kind is float else int
            if isinstance(value, bool) or not isinstance(value, numeric):
                return self._sentence(value, "kind")
            low_ok = self.low is None or (value > self.low if self.above else value >= self.low)
            high_ok = self.high is None or (value < self.high if self.below else value <= self.high)
            if not (math.isfinite(value) and low_ok and high_ok):
                return self._sentence(value, "range")
        elif not isinstance(value, self.kind):
            return self._sentence(value, "kind")
        return None

    def check(self, value: Any) -> Any:
        """`value` when it is allowed.

        Raises:
            TrainingError: the `problem` sentence.
        """
        problem = self.problem(value)
        if problem:
            raise TrainingError(problem)
        return value

    def parse(self, text: str) -> Any:
        """The value a text (a link's or a command line's) stands for, checked.

        Raises:
            TrainingError: the text is not a value this setting allows, as the `problem` sentence.
        """
        text = str(text).strip()
        if self.kind is bool and text.lower() in TRUE + FALSE:
            return text.lower() in TRUE
        try:
            value = self.kind(text) if self.kind in (int, float) else text
        except ValueError:
            raise TrainingError(self._sentence(text, "kind")) from None
        return self.check(value)

    def _sentence(self, value: Any, what: str) -> str:
        """The sentence for `value`, refused as `what` ("choice", "range" or "kind")."""
        return tr(SENTENCES[what]).format(
            label=tr(self.label),
            key=self.key,
            value=_shown(value),
            word=tr(WORDS[self.kind]),
            allowed=self.allowed(),
        )


def _shown(value: Any) -> str:
    """A value as a sentence shows it: 5.0 as 5, 0.001 as 0.001."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def read_settings(cls: type) -> dict[str, Setting]:
    """Every field's `Setting` of a dataclass declared with `setting`, from its type hint
    (resolved in the class's module) and its metadata."""
    hints = get_type_hints(cls)
    found = {}
    for f in fields(cls):
        hint, about = hints[f.name], dict(f.metadata["setting"])
        optional = get_origin(hint) is UnionType and type(None) in get_args(hint)
        kind = get_args(hint)[0] if optional else hint  # `int | None` -> int
        if get_origin(kind) is Literal:
            about["choices"] = get_args(kind)
        default = f.default if f.default is not MISSING else f.default_factory()
        kind = str if get_origin(kind) is Literal else get_origin(kind) or kind  # list[str] -> list
        found[f.name] = Setting(f.name, kind=kind, default=default, optional=optional, **about)
    return found
