"""Named CNN architectures and the JSON-serialisable spec every one of them is built from.

Every model in the registry is written as an `ArchSpec` (`spec`): a list of conv blocks, a
head and dense layers. `registry` names the architectures, `keras_build` turns a spec into
a Keras model, `introspect` reads layers, wiring and weights back. The names below are the
package's public ones: `from cnn import architectures; architectures.build(...)`.

Example:
    >>> spec = REGISTRY["mnist_98"].spec((28, 28, 1), 10)
    >>> model = build(spec, (28, 28, 1), 10)
"""

from cnn.architectures.introspect import count_params, inbound_layers, model_layers, summary_rows
from cnn.architectures.keras_build import build, build_named
from cnn.architectures.registry import REGISTRY, Architecture
from cnn.architectures.spec import (
    ACTIVATIONS,
    HEADS,
    OUTPUT_LAYER,
    PADDINGS,
    POOLS,
    ArchSpec,
    ConvBlock,
    DenseLayer,
)
from cnn.errors import SpecError

__all__ = [
    "ACTIVATIONS",
    "HEADS",
    "OUTPUT_LAYER",
    "PADDINGS",
    "POOLS",
    "REGISTRY",
    "ArchSpec",
    "Architecture",
    "ConvBlock",
    "DenseLayer",
    "SpecError",
    "build",
    "build_named",
    "count_params",
    "inbound_layers",
    "model_layers",
    "summary_rows",
]
