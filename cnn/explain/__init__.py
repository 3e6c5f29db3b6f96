"""Explain a run's forward pass number by number, for any architecture a spec describes.

- the per-layer table: output shape, receptive-field size, jump, parameters, multiply-adds;
- the receptive field of one feature-map position on the input image;
- the arithmetic of one feature-map value: a conv's window, kernel, products, sum, bias,
  batch norm and activation, or a pooling window and the maximum (or mean) it takes;
- the whole network at a glance: every conv/pool layer's channels, most active first, the
  dense layers' activations and the softmax.

The geometry (shapes, receptive fields, padding) comes from the run's recorded architecture,
`ArchSpec.shapes`; `Explainer` first checks it against the Keras model's own layers (names,
output shapes, kernels, strides, padding, parameter counts). The numbers come from one
compiled pass over every layer (`Inspector.layer_outputs`): a layer's input is the output of
the layer before it, its weights are its own, and every arithmetic ends at the value the
feature-map view shows (a conv's activated output), read from that same pass.

Example:
    >>> explainer = Explainer.for_run(run)
    >>> forward = explainer.forward(image)                  # float32 (h, w, c) in [0, 1]
    >>> explainer.position(forward, "conv1", 3, 5, 7).value
"""

from cnn.errors import ExplainError
from cnn.explain.explainer import MAP_KINDS, VECTOR_KINDS, Explainer, activate
from cnn.explain.results import INPUT, Box, ConvArithmetic, PoolArithmetic

# what the pages, the CLI and the tests use; the other result classes an Explainer returns
# (Forward, MapLayer, Network, Position...) are in cnn.explain.results
__all__ = [
    "INPUT",
    "MAP_KINDS",
    "VECTOR_KINDS",
    "Box",
    "ConvArithmetic",
    "ExplainError",
    "Explainer",
    "PoolArithmetic",
    "activate",
]
