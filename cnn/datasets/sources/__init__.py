"""Where a dataset's files can come from: one module per dataset, each a list of sources.

A dataset module defines `INFO` (its `DatasetInfo`), `sources(where)` (the places to try, in
order) and `how_to_get(where)` (a phrase telling a person how to get the data). A source
says cheaply whether it has the data offline (`ready`), loads it (`load`), and, when it
needs the network, downloads first. `cnn.datasets.load` and `cnn.datasets.availability`
walk these lists; no other code knows where a dataset lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cnn.datasets.download import Progress
from cnn.datasets.info import DatasetInfo
from cnn.datasets.splits import Split


@dataclass(frozen=True)
class Where:
    """Where to look: the data directory, and the user's folder or .zip (the folder dataset)."""

    root: Path
    data: Path | None = None


@dataclass
class Loaded:
    """What a source produced."""

    train: Split
    test: Split
    source: str  # where the data came from, for people
    detail: str = ""  # how the test split was made, or what else to know
    skipped: int = 0  # unreadable or non-image files skipped
    class_names: list[str] | None = None  # None: the dataset's fixed class names
    info: DatasetInfo | None = None  # None: the module's INFO (a made folder declares its own)


class Source(Protocol):
    """One place a dataset can come from."""

    network: bool  # True: `load` downloads first (only tried when downloads are allowed)
    detail: str  # what `availability` says about this source when it is ready

    def describe(self) -> str:
        """Where the data comes from, for people (e.g. "data directory ~/data/mnist")."""
        ...

    def ready(self) -> bool:
        """Whether `load` works offline right now (cheap: no decoding, no network)."""
        ...

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        """Load the data (downloading first when `network`)."""
        ...


def shown(path: Path) -> str:
    """A path for people: inside the data directory by its name there (no server paths on
    screen), else with ~ for the home folder."""
    from cnn.datasets.info import data_dir

    try:
        return f"{path.relative_to(data_dir())}/"
    except ValueError:
        pass
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)
