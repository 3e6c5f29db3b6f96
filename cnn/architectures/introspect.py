"""What a spec or a built model holds: its layers, how they are wired, its weights, the
summary table the pages show. The wiring is read from the model's own config (a functional
model's config lists the layers each layer is called on), not from Keras internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnn.i18n import N_

if TYPE_CHECKING:
    import keras

    from cnn.architectures.spec import ArchSpec
    from cnn.layer_shapes import LayerShape


def model_layers(model: keras.Model) -> list[Any]:
    """A built model's layers as `ArchSpec.shapes()` lists them after the input: a functional
    model (a residual spec's) also lists its InputLayer, a Sequential does not."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def inbound_layers(model: keras.Model) -> dict[str, list[str]]:
    """Each layer's name -> the names of the layers whose outputs it reads ("image" for the
    input, nothing for the input layer itself; an Add reads two).

    A functional model's `get_config()` lists the tensors each layer was called on; a
    Sequential model's layers each read the one listed before.
    """
    config = model.get_config()
    if "input_layers" in config:
        return {layer["name"]: _called_on(layer["inbound_nodes"][:1]) for layer in config["layers"]}
    names = [layer["config"]["name"] for layer in config["layers"]]
    return dict(zip(names, [[]] + [[name] for name in names[:-1]], strict=True))


def _called_on(node: Any) -> list[str]:
    """The layer names of the tensors a serialised call passes as arguments (the layer's
    inputs; nested lists, tuples and dicts)."""
    if isinstance(node, list | tuple):
        return [name for item in node for name in _called_on(item)]
    if not isinstance(node, dict):
        return []
    if node.get("class_name") == "__keras_tensor__":
        return [node["config"]["keras_history"][0]]
    return _called_on(node.get("args", []))


def count_params(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> int:
    """Number of weights of the spec's model, computed without TensorFlow."""
    return sum(layer.params for layer in spec.shapes(input_shape, num_classes))


def summary_rows(layers: list[LayerShape]) -> list[dict[str, Any]]:
    """One row per layer (name, type, output shape, parameters): the table the pages show."""
    return [
        {
            N_("layer"): layer.name,
            N_("type"): layer.keras_type,
            N_("output shape"): " x ".join(str(d) for d in layer.shape),
            N_("params"): layer.params,
        }
        for layer in layers[1:]
    ]
