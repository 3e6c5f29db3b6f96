"""The settings of the process: every environment variable CNN Lab reads, read here and only here.

`current()` reads the environment at the moment it is called, never at import, so a changed
variable applies to the next call (a server's next training, a test's `monkeypatch.setenv`).
An unset or empty variable takes its default; a value that is not what the variable needs is
a `SettingError` naming the variable. README.md lists every variable (a test keeps the two
in step).

Example:
    >>> from cnn import settings
    >>> settings.current().data_dir
    PosixPath('/home/me/.cnn_lab/data')
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from cnn.errors import SettingError
from cnn.i18n import LANG_ENV, N_, code_of, tr

RUNS_DIR_ENV = "CNN_RUNS_DIR"
DATA_DIR_ENV = "CNN_DATA_DIR"
CACHE_DIR_ENV = "CNN_CACHE_DIR"
OFFLINE_ENV = "CNN_OFFLINE"
MAX_TRAININGS_ENV = "CNN_MAX_TRAININGS"
ABANDON_AFTER_ENV = "CNN_ABANDON_AFTER_S"
TRAIN_IN_ENV = "CNN_TRAIN_IN"
NICE_ENV = "CNN_TRAIN_NICE"
THREADS_ENV = "CNN_TRAIN_THREADS"
MEMORY_BUDGET_ENV = "CNN_TRAIN_MEMORY_BUDGET"
CACHE_BUDGET_ENV = "CNN_CACHE_BUDGET"
RAY_ADDRESS_ENV = "CNN_RAY_ADDRESS"
RAY_CPUS_ENV = "CNN_RAY_CPUS"
RAY_MEMORY_ENV = "CNN_RAY_MEMORY"
LESSONS_DIR_ENV = "CNN_LESSONS_DIR"
DB_URL_ENV = "CNN_DB_URL"
KERAS_HOME_ENV = "KERAS_HOME"  # Keras' own variable: where it caches downloads
TF_LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"  # TensorFlow's: written, never read
PYTHONPATH_ENV = "PYTHONPATH"  # a training's child process finds `cnn` through it

HOME = Path.home() / ".cnn_lab"
TRAIN_IN = ("thread", "process")  # where a training of the server runs (CNN_TRAIN_IN)


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _whole(raw: str) -> int:
    return int(raw)


def _number(raw: str) -> float:
    return float(raw)


def _given(raw: str) -> bool:
    return True  # any value, even "0", says yes


def _text(raw: str) -> str:
    return raw


def _language(raw: str) -> str:
    code = code_of(raw)
    if code is None:
        raise ValueError(raw)
    return code


def _where_to_train(raw: str) -> str:
    if raw not in TRAIN_IN:
        raise ValueError(raw)
    return raw


def _variable(name: str, default: Any, parse: Callable[[str], Any], needs: str) -> Any:
    """A field read from the environment variable `name`; `needs` completes the error sentence."""
    return field(default=default, metadata={"env": name, "parse": parse, "needs": needs})


PATH, WHOLE, NUMBER = N_("a folder"), N_("a whole number"), N_("a number")


@dataclass(frozen=True)
class Settings:
    """The process's settings, one field per environment variable (`current()` reads them)."""

    runs_dir: Path = _variable(RUNS_DIR_ENV, HOME / "runs", _path, PATH)
    """CNN_RUNS_DIR (a folder, default ~/.cnn_lab/runs): where new runs are saved."""

    data_dir: Path = _variable(DATA_DIR_ENV, HOME / "data", _path, PATH)
    """CNN_DATA_DIR (a folder, default ~/.cnn_lab/data): where datasets are looked for first
    and where downloads land."""

    cache_dir: Path = _variable(CACHE_DIR_ENV, HOME / "cache", _path, PATH)
    """CNN_CACHE_DIR (a folder, default ~/.cnn_lab/cache): where the embeddings of a run's
    images are kept once computed (never inside the run folder)."""

    offline: bool = _variable(OFFLINE_ENV, False, _given, N_("anything"))
    """CNN_OFFLINE (set to anything, even 0; default unset): never try a download."""

    max_trainings: int = _variable(MAX_TRAININGS_ENV, 0, _whole, WHOLE)
    """CNN_MAX_TRAININGS (trainings, default 0: one per core when trainings run in child
    processes, else 1): how many trainings one server runs at once; the others wait in line."""

    abandon_after_s: float = _variable(ABANDON_AFTER_ENV, 120.0, _number, NUMBER)
    """CNN_ABANDON_AFTER_S (seconds, default 120; 0 or less: never): a training whose page
    nobody has polled for this long stops."""

    train_in: str = _variable(TRAIN_IN_ENV, "thread", _where_to_train, " or ".join(TRAIN_IN))
    """CNN_TRAIN_IN ("thread" or "process", default "thread"): "process" runs each training of
    the server in a child process at a lower priority, so drawings are answered first."""

    nice: int = _variable(NICE_ENV, 10, _whole, WHOLE)
    """CNN_TRAIN_NICE (priority steps, default 10; 0 keeps the server's): how much lower a
    training's child process runs than the server."""

    train_threads: int = _variable(THREADS_ENV, 0, _whole, WHOLE)
    """CNN_TRAIN_THREADS (threads, default 0: the cores shared out among the trainings that
    run at once): the TensorFlow threads of a training's child process."""

    memory_budget: int = _variable(MEMORY_BUDGET_ENV, 3 * 1024**3, _whole, WHOLE)
    """CNN_TRAIN_MEMORY_BUDGET (bytes, default 3 GiB): the memory one training step may need;
    a training that needs more is refused before it starts, with a sentence."""

    cache_budget: int = _variable(CACHE_BUDGET_ENV, 256 * 1024**2, _whole, WHOLE)
    """CNN_CACHE_BUDGET (bytes, default 256 MiB): decoded photos a training's data pipeline
    keeps in memory; a larger photo set is decoded again every epoch."""

    ray_address: str | None = _variable(RAY_ADDRESS_ENV, None, _text, N_("an address"))
    """CNN_RAY_ADDRESS (an address, default unset: no cluster): the Ray cluster the server
    trains on ("auto": the head started on this machine)."""

    ray_cpus: float = _variable(RAY_CPUS_ENV, 2.0, _number, NUMBER)
    """CNN_RAY_CPUS (CPUs, default 2): the CPUs one training asks the Ray cluster for."""

    ray_memory: int = _variable(RAY_MEMORY_ENV, 1536 * 1024**2, _whole, WHOLE)
    """CNN_RAY_MEMORY (bytes, default 1.5 GiB; a Quick training peaks near 1.1 GB): the memory
    one training asks the Ray cluster for."""

    db_url: str = _variable(
        DB_URL_ENV, f"sqlite:///{HOME / 'class.db'}", _text, N_("a database URL")
    )
    """CNN_DB_URL (an SQLAlchemy URL, default sqlite:///~/.cnn_lab/class.db): the database
    classes are kept in (cnn.classroom); e.g. postgresql+psycopg://user:pw@host/db for a
    school server, or for Community Cloud, whose local disk does not last."""

    lessons_dir: Path | None = _variable(LESSONS_DIR_ENV, None, _path, PATH)
    """CNN_LESSONS_DIR (a folder, default unset: the built-in lessons only): a teacher's own
    lesson files (*.md, docs/LESSONS.md), offered beside the built-in ones."""

    lang: str | None = _variable(LANG_ENV, None, _language, N_("en, zh or es"))
    """CNN_LANG (en, zh or es; default unset: English): the language of the command line, and
    of the app where a session has not chosen one (cnn.i18n)."""

    keras_home: Path = _variable(KERAS_HOME_ENV, Path.home() / ".keras", _path, PATH)
    """KERAS_HOME (a folder, default ~/.keras; Keras' own variable): where Keras caches the
    datasets it downloads (its datasets/ subfolder)."""


def language() -> str | None:
    """CNN_LANG alone, as a language code, or None when unset or not one CNN Lab speaks (read
    on every text the CLI makes, so never a SettingError: `current()` says that one)."""
    try:
        return _language(os.environ.get(LANG_ENV, "").strip())
    except ValueError:
        return None


def variables() -> tuple[str, ...]:
    """The names of the environment variables `Settings` reads, in its order."""
    return tuple(f.metadata["env"] for f in fields(Settings))


def current() -> Settings:
    """The settings as the environment gives them now (read on every call, never cached).

    Raises:
        SettingError: a variable holds a value it cannot have (e.g. CNN_RAY_CPUS=two).
    """
    values = {}
    for f in fields(Settings):
        name, raw = f.metadata["env"], os.environ.get(f.metadata["env"], "").strip()
        if not raw:
            continue
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError:
            raise SettingError(
                tr(
                    "The environment variable {name} is {value}, but it must be {needs}: change "
                    "or unset it and start again."
                ).format(name=name, value=repr(raw), needs=tr(f.metadata["needs"]))
            ) from None
    return Settings(**values)


def child_environment(first_on_path: str) -> dict[str, str]:
    """This process's environment for a child process, with `first_on_path` first on its
    PYTHONPATH (where the child finds the `cnn` package) and CNN_LANG the calling thread's
    language (a student's training speaks to that student)."""
    from cnn import i18n

    path = os.environ.get(PYTHONPATH_ENV)
    return {
        **os.environ,
        PYTHONPATH_ENV: first_on_path + (os.pathsep + path if path else ""),
        LANG_ENV: i18n.language(),
    }


def quiet_tensorflow_log() -> None:
    """Ask TensorFlow for errors only in its C++ log, unless the environment says otherwise."""
    os.environ.setdefault(TF_LOG_LEVEL_ENV, "3")


def cores() -> int:
    """CPU cores this process may use (its affinity, which a container's limits narrow)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def trainings_at_once() -> int:
    """CNN_MAX_TRAININGS, or by default one per core when trainings run in child processes
    (a line of 4 Quick trainings ended in 24 s two at once, one thread each, against 48 s one
    at a time on 2 cores: the children's start-ups overlap, bench_parallel_trainings.py), and
    1 when they run in the server's threads (they share its interpreter lock)."""
    now = current()
    if now.max_trainings > 0:
        return now.max_trainings
    return cores() if now.train_in == "process" else 1
