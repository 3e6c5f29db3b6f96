"""The dataset registry: one entry per module in `cnn.datasets.sources`.

Adding a dataset is one new module under sources/ (its INFO, sources() and how_to_get())
plus its line in `MODULES`.
"""

from __future__ import annotations

from types import ModuleType

from cnn.datasets.info import DatasetInfo
from cnn.datasets.sources import cats_vs_dogs, fashion_mnist, flowers17, folder, mnist
from cnn.errors import DatasetError
from cnn.i18n import tr

MODULES: dict[str, ModuleType] = {
    m.INFO.key: m for m in (mnist, fashion_mnist, cats_vs_dogs, flowers17, folder)
}
REGISTRY: dict[str, DatasetInfo] = {key: m.INFO for key, m in MODULES.items()}


def module(key: str) -> ModuleType:
    """The sources module of a registry key.

    Raises:
        DatasetError: the key is not in the registry.
    """
    if key not in MODULES:
        raise DatasetError(
            tr("Unknown dataset '{key}'; choose one of {keys}.").format(
                key=key, keys=", ".join(MODULES)
            )
        )
    return MODULES[key]
