"""Sentences about where a dataset came from that can be said again in another language.

A loaded dataset is kept in a cache that every session shares, whatever language each one
reads; its `source` and `detail` are therefore `Said`: a plain English str (for run records,
logs and cache keys) that remembers its catalog entry and values, so that `now(text)` says it
in the language of whoever reads it. Mark the template with `N_` so the catalogs hold it.
"""

from __future__ import annotations

from cnn.i18n import number, percent, tr


class Share(float):
    """A share (0.2) in a sentence: 20% in English, written for the language by `now`."""


class Said(str):
    """`template` filled with `values`: English as a str, `now()` in the current language.

    `plural` (with an `n` among the values) makes it a count's sentence: `template` for 1,
    `plural` otherwise, each marked with N_ as its own entry (the rule of English, Spanish and
    Chinese, the languages CNN Lab speaks; `trn` where a sentence is made and shown at once).
    """

    template: str
    plural: str | None
    values: dict

    def __new__(cls, template: str, plural: str | None = None, **values) -> Said:
        n = values.get("n")
        english = plural if plural is not None and n != 1 else template
        shown = {k: _english(v) for k, v in values.items()}
        self = super().__new__(cls, english.format(**shown) if values else english)
        self.template, self.plural, self.values = template, plural, values
        return self

    def now(self) -> str:
        """The sentence in the current language."""
        if self.plural is not None:  # each form its own catalog entry (N_): one for 1, else other
            text = tr(self.template if self.values.get("n") == 1 else self.plural)
        else:
            text = tr(self.template)
        if not self.values:
            return text
        return text.format(**{k: _now_value(v) for k, v in self.values.items()})


def _now_value(value: object) -> str:
    """A value in the sentence: a Said said again, a number written for the language; a name
    (a folder, a file, a class) as it is."""
    if isinstance(value, Said):
        return value.now()
    if isinstance(value, Share):
        return percent(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return number(value)


def _english(value: object) -> str:
    if isinstance(value, Share):
        return f"{value:.0%}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}"


def now(text: object) -> str:
    """`text` in the current language: a `Said` said again, a catalog constant translated,
    a number written for the language, anything else as it is."""
    if isinstance(text, Said):
        return text.now()
    if isinstance(text, bool) or not isinstance(text, int | float | str):
        return str(text)
    if isinstance(text, str):
        return tr(text) if text else text
    return number(text)
