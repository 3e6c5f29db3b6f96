"""The languages CNN Lab speaks: gettext catalogs managed with Babel, and numbers written the
way each language writes them.

Every text a person reads goes through `tr` (or `trn` for a count, `N_` to mark a constant
translated later where it is shown). The catalogs are `locale/<lang>/LC_MESSAGES/messages.po`,
one per language, extracted and updated with `pybabel` (README, "Adding a language"); they are
read as they are, so a translator's edit shows on the next run with nothing to compile.

The language is asked of a resolver: the app installs one that reads the session's choice
(`use`); a thread can speak one of its own (`speaking`: a student's training); otherwise (the
CLI, tests) it is CNN_LANG's, else English.
This module imports no streamlit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
LANG_ENV = "CNN_LANG"  # read by cnn.settings, the one reader of the environment

# A link's code -> (Babel's locale, the catalog folder, the language's own name)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "en": ("en", "en", "English"),
    "zh": ("zh_Hans_CN", "zh_CN", "中文"),
    "es": ("es", "es", "Español"),
}
DEFAULT = "en"

_resolver: Callable[[], str | None] | None = None
_spoken = threading.local()  # a thread's own language (`speaking`), e.g. a student's training


def use(resolver: Callable[[], str | None] | None) -> None:
    """Ask `resolver` for the language from now on (None: CNN_LANG, else English)."""
    global _resolver
    _resolver = resolver


def code_of(raw: str | None) -> str | None:
    """The supported language code `raw` names ("zh", "zh-CN", "es_ES", "en-GB"...), or None."""
    if not raw:
        return None
    first = raw.replace("_", "-").split("-")[0].strip().lower()
    return first if first in LANGUAGES else None


def language() -> str:
    """The language of the text being made now: "en", "zh" or "es"."""
    own = getattr(_spoken, "code", None)
    if own is not None:
        return own
    chosen = _resolver() if _resolver is not None else None
    return code_of(chosen) or _from_settings() or DEFAULT


def _from_settings() -> str | None:
    from cnn import settings  # settings imports this module

    return settings.language()


@contextmanager
def speaking(code: str | None) -> Iterator[None]:
    """Make this thread's texts in `code` (None: as before), e.g. a training thread started
    by a student who reads Chinese: its messages to that student are in Chinese."""
    before = getattr(_spoken, "code", None)
    _spoken.code = code_of(code) or before
    try:
        yield
    finally:
        _spoken.code = before


def locale() -> str:
    """Babel's locale of the current language (numbers, dates)."""
    return LANGUAGES[language()][0]


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / LANGUAGES[code][1] / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def _catalog(code: str, stamp: float) -> dict[object, object]:
    """msgid (or (singular, plural)) -> msgstr (or the list of plural forms), translated only."""
    from babel.messages.pofile import read_po

    with catalog_path(code).open("rb") as f:
        catalog = read_po(f, locale=LANGUAGES[code][0])
    found: dict[object, object] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = list(message.string or ())
            if forms and all(forms):
                found[tuple(message.id)] = forms
        elif message.string:
            found[message.id] = message.string
    return found


def _translations(code: str) -> dict[object, object]:
    if code == DEFAULT:
        return {}
    path = catalog_path(code)
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    return _catalog(code, stamp)


def tr(message: str) -> str:
    """`message` in the current language (itself where the catalog has no translation yet)."""
    found = _translations(language()).get(message)
    return found if isinstance(found, str) else message


def trn(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for the count `n` in the current language; the text may
    hold `{n}`, which is filled with n written for the language."""
    code = language()
    forms = _translations(code).get((singular, plural))
    if isinstance(forms, list):
        from babel import Locale

        category = Locale.parse(LANGUAGES[code][0]).plural_form(n)
        text = forms[min(_plural_index(code, category), len(forms) - 1)]
    else:
        text = singular if n == 1 else plural
    return text.replace("{n}", number(n))


# gettext's plural forms of each catalog, in CLDR's categories (Babel writes the catalogs'
# Plural-Forms from CLDR: English one/other, Spanish one/many/other, Chinese one form)
PLURAL_ORDER = {"en": ("one", "other"), "es": ("one", "many", "other"), "zh": ("other",)}


def _plural_index(code: str, category: str) -> int:
    """The index of CLDR's `category` among the catalog's plural forms of `code`."""
    order = PLURAL_ORDER[code]
    return order.index(category) if category in order else len(order) - 1


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "translate where shown")
    """Mark a constant for the catalog; `tr` it where it is shown."""
    return message


def number(value: float, digits: int | None = None) -> str:
    """`value` written for the current language (1,234.5 / 1 234,5 / 1,234.5); `digits` fixes
    the places after the decimal sign."""
    from babel.numbers import format_decimal

    if digits is None:
        return format_decimal(value, locale=locale())
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=locale())


def percent(share: float, digits: int = 0) -> str:
    """`share` (0.912) as a percentage the current language's way: 91% / 91 %, with `digits`
    places after the decimal sign."""
    from babel import Locale
    from babel.numbers import format_percent

    pattern = Locale.parse(locale()).percent_formats[None].pattern  # "#,##0 %", "#,##0%"
    if digits > 0:
        pattern = re.sub(r"0(?=[^0#,]*$)", "0." + "0" * digits, pattern, count=1)
    return format_percent(share, format=pattern, locale=locale())


def when(moment) -> str:
    """A date and time (a datetime) written the current language's medium way."""
    from babel.dates import format_datetime

    return format_datetime(moment, format="medium", locale=locale())
