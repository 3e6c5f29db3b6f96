"""One weight learns: one SGD step of one conv weight, number by number.

For one input and its true label, `weight_step` works out the backward pass of one weight of a
conv filter the way the forward view ("One value, every number") works out a feature-map value:

1. the loss: cross-entropy, -log(probability of the true label);
2. the gradient that flows back to the chosen filter's output map, before its activation
   (dLoss/dz at every position of the map: how much the loss would change if that number
   grew a little), taken with `tf.GradientTape`;
3. the weight's gradient, written out: at every position of the map the weight sat over one
   input value (0 in the padding), so dLoss/dw = the sum over positions of (upstream gradient
   x that input value). The products are kept, position by position, as the forward view keeps
   its window's products;
4. the step: w_new = w - lr x gradient, and the loss on the same input afterwards, both when
   only this weight moves and when every weight takes its own step (what SGD does).

The step reads the model as the forward view does (inference mode): batch norm is the fixed
scale-and-shift its statistics give, dropout is off, and the loss has no label smoothing, so
every number here follows from the numbers Look inside shows. The gradient TensorFlow's own
`GradientTape` gives for the weight is kept beside ours (`tape_gradient`) as a check.

Example:
    >>> step = weight_step(run.model, image, label=7, layer="conv1", filter_index=3,
    ...                    weight=(1, 2, 0), learning_rate=0.01)
    >>> step.gradient, step.weight_after, step.loss_after
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn.errors import CnnError
from cnn.i18n import tr

__all__ = ["BackpropError", "WeightStep", "conv_layers", "weight_step"]

DEFAULT_LEARNING_RATE = 0.01


class BackpropError(CnnError, ValueError):
    """A layer, filter, weight, label or learning rate that cannot be stepped."""


@dataclass(repr=False)
class WeightStep:
    """One SGD step of one conv weight for one input, every number kept.

    Attributes:
        layer, filter_index: the conv layer and the filter (output channel) of the weight.
        weight: (row, column, input channel) of the weight inside the filter.
        label: the true class the loss is taken for; probability: the model's for it.
        learning_rate: the step's size.
        loss: cross-entropy before the step, -log(probability).
        upstream: float64 (h, w): dLoss/dz of the filter's output map before its activation.
        under: float64 (h, w): the input value under the weight at each position (0: padding).
        inside: bool (h, w): where the weight lies over the input rather than its padding.
        products: upstream x under, position by position.
        gradient: the sum of the products, dLoss/dw.
        tape_gradient: the same gradient as TensorFlow's GradientTape gives it (a check).
        filter_gradient: float32 (kh, kw, in channels): the tape's gradient of every weight of
            the filter, to show where the chosen one stands among them.
        weight_before, weight_after: w and w - lr x gradient.
        loss_after_weight: the loss when only this weight has moved.
        loss_after: the loss after one SGD step of every weight (each by its own gradient).
        followed_by: the layers that read the conv's output (batch norm, activation...).
        activation: the conv's own activation ("linear" when a separate layer follows).
    """

    layer: str
    filter_index: int
    weight: tuple[int, int, int]
    label: int
    probability: float
    learning_rate: float
    loss: float
    upstream: np.ndarray
    under: np.ndarray
    inside: np.ndarray
    products: np.ndarray
    gradient: float
    tape_gradient: float
    filter_gradient: np.ndarray
    weight_before: float
    weight_after: float
    loss_after_weight: float
    loss_after: float
    followed_by: list[str]
    activation: str

    @property
    def predicted_change(self) -> float:
        """The first-order change of the loss when only this weight moves: -lr x gradient^2."""
        return -self.learning_rate * self.gradient**2

    def __repr__(self) -> str:
        r, c, ch = self.weight
        return (
            f"WeightStep({self.layer}[{r}, {c}, {ch}, {self.filter_index}]: "
            f"loss {self.loss:.5f}, gradient {self.gradient:.6g}, "
            f"w {self.weight_before:.6f} -> {self.weight_after:.6f}, "
            f"loss after {self.loss_after:.5f})"
        )

    def to_dict(self) -> dict:
        """The CLI's document: the issue's five numbers first, then the rest."""
        return {
            "loss": self.loss,
            "gradient": self.gradient,
            "weight_before": self.weight_before,
            "weight_after": self.weight_after,
            "loss_after": self.loss_after,
            "loss_after_this_weight_only": self.loss_after_weight,
            "tape_gradient": self.tape_gradient,
            "probability": self.probability,
            "layer": self.layer,
            "filter": self.filter_index,
            "weight": list(self.weight),
            "label": self.label,
            "learning_rate": self.learning_rate,
            "positions": int(self.products.size),
        }


def conv_layers(model) -> list[str]:
    """Names of the model's top-level Conv2D layers, in order."""
    import keras

    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _checked_conv(model, layer: str, filter_index: int, weight, label: int, lr: float):
    """The Conv2D layer, or a sentence saying which argument is out of range."""
    names = conv_layers(model)
    if layer not in names:
        raise BackpropError(
            tr("{layer} is not a conv layer of this model: choose one of {names}.").format(
                layer=repr(layer), names=", ".join(names)
            )
        )
    conv = model.get_layer(layer)
    kh, kw, cin, cout = (int(d) for d in conv.kernel.shape)
    if tuple(conv.dilation_rate) != (1, 1) or getattr(conv, "groups", 1) != 1:
        raise BackpropError(
            tr("{layer} is a dilated or grouped conv, which this view does not write out.").format(
                layer=layer
            )
        )
    if not 0 <= filter_index < cout:
        raise BackpropError(
            tr("{layer} has {n} filters: the filter must be 0 to {last}.").format(
                layer=layer, n=cout, last=cout - 1
            )
        )
    row, col, channel = weight
    if not (0 <= row < kh and 0 <= col < kw and 0 <= channel < cin):
        raise BackpropError(
            tr(
                "{layer}'s filters are {kh} x {kw} over {cin} input channels: the weight must "
                "have row 0-{last_row}, column 0-{last_column} and channel 0-{last_channel}."
            ).format(layer=layer, kh=kh, kw=kw, cin=cin, last_row=kh - 1, last_column=kw - 1,
                     last_channel=cin - 1)
        )  # fmt: skip
    classes = int(model.outputs[0].shape[-1])
    if not 0 <= label < classes:
        raise BackpropError(
            tr("The label must be a class number from 0 to {last}.").format(last=classes - 1)
        )
    if not (np.isfinite(lr) and 0 < lr <= 10):
        raise BackpropError(
            tr("The learning rate must be a number above 0 and at most 10, not {lr}.").format(lr=lr)
        )
    return conv


def _tapped_model(model, conv):
    """input -> [the conv's input, the conv's output, the probabilities], on the same weights."""
    import keras

    from cnn.inspect import multi_output_model

    if isinstance(model, keras.Sequential):
        names = [layer.name for layer in model.layers]
        index = names.index(conv.name)
        taps = [names[index - 1], conv.name] if index else [conv.name]
        multi = multi_output_model(model, taps, None)

        def outputs(x):
            results = multi(x, training=False)
            # the first conv reads the image itself
            return [*results[:2], results[-1]] if index else [x, results[0], results[-1]]

        return outputs
    tapped = keras.Model(model.inputs[0], [conv.input, conv.output, model.outputs[0]])
    return lambda x: tapped(x, training=False)


def _readers(model, conv) -> list[str]:
    """The layers that read the conv's output, in order (a Sequential: the next one)."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        index = layers.index(conv)
        return [layer.name for layer in layers[index + 1 : index + 2]]
    return [layer.name for layer in layers if conv.output is layer.input]


def _under(x_in: np.ndarray, conv, out_hw: tuple[int, int], row: int, col: int, channel: int):
    """The input value under weight (row, col, channel) at each output position, and where it
    lies inside the input (elsewhere it sits on the padding: 0)."""
    from cnn.layer_shapes import same_padding

    h, w = x_in.shape[:2]
    kh, kw = (int(d) for d in conv.kernel_size)
    sy, sx = (int(d) for d in conv.strides)
    top = left = 0
    if conv.padding == "same":
        top, left = same_padding(h, kh, sy), same_padding(w, kw, sx)
    ys = np.arange(out_hw[0]) * sy - top + row
    xs = np.arange(out_hw[1]) * sx - left + col
    inside = ((ys >= 0) & (ys < h))[:, None] & ((xs >= 0) & (xs < w))[None, :]
    values = x_in[np.clip(ys, 0, h - 1)][:, np.clip(xs, 0, w - 1), channel]
    return np.where(inside, values, 0.0).astype(np.float64), inside


def _cross_entropy(probabilities, label: int):
    """Keras' sparse categorical cross-entropy of one image (the loss training uses, unsmoothed)."""
    import keras

    return keras.losses.sparse_categorical_crossentropy(np.array([label]), probabilities)[0]


def _losses_after(model, x, label: int, steps, kernel_index: int, moved) -> tuple[float, float]:
    """The loss after only one weight moved (`moved`: its kernel index and new value), and
    after every weight took its SGD step (`steps`: lr x each variable's gradient).

    `stateless_call` runs the model on given variable values, so the (possibly cached and
    shared) model itself is never changed.
    """
    import tensorflow as tf

    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]
    one = list(trainable)
    index, value = moved
    one[kernel_index] = tf.tensor_scatter_nd_update(
        trainable[kernel_index], [list(index)], [np.float32(value)]
    )
    stepped = [v - step for v, step in zip(trainable, steps, strict=True)]
    results = []
    for values in (one, stepped):
        probabilities, _ = model.stateless_call(values, fixed, x, training=False)
        results.append(float(_cross_entropy(probabilities, label)))
    return results[0], results[1]


def _upstream(conv, x_in, to_output) -> np.ndarray:
    """dLoss/dz of every filter's map, float64 (h, w, filters), z = kernel x window + bias:
    the gradient at the conv's (activated) output, back through its own activation."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        z = conv.convolution_op(x_in, conv.kernel)
        if conv.use_bias:
            z = z + conv.bias
        tape.watch(z)
        activated = conv.activation(z)
    return np.asarray(tape.gradient(activated, z, output_gradients=to_output)[0], np.float64)


def _backward(model, conv, x, label: int):
    """One forward and backward pass: (the conv's input, the probabilities, the loss, the
    gradient of every trainable variable, the gradient at the conv's output before its
    activation, every filter's)."""
    import tensorflow as tf

    tapped = _tapped_model(model, conv)
    with tf.GradientTape(persistent=True) as tape:
        x_in, out, probabilities = tapped(x)
        loss = _cross_entropy(probabilities, label)
    grads = tape.gradient(loss, model.trainable_variables)
    g_z = _upstream(conv, x_in, tape.gradient(loss, out))
    del tape
    return x_in, probabilities, loss, grads, g_z


def weight_step(
    model,
    image: np.ndarray,
    label: int,
    layer: str,
    filter_index: int,
    weight: tuple[int, int, int],
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> WeightStep:
    """One SGD step of one conv weight for one input, written out (see the module docstring).

    Args:
        model: a Keras classifier ending in softmax probabilities; it is not changed.
        image: float32 (h, w, c), the model's input; label: its true class.
        layer, filter_index, weight: the conv layer, its filter and (row, column, channel).
        learning_rate: the SGD step's size.

    Raises:
        BackpropError: a layer, filter, weight, label or learning rate out of range.
    """
    import tensorflow as tf

    row, col, channel = (int(v) for v in weight)
    conv = _checked_conv(
        model, layer, int(filter_index), (row, col, channel), int(label), learning_rate
    )
    x = tf.constant(np.asarray(image, np.float32)[None])
    x_in, probabilities, loss, grads, g_z = _backward(model, conv, x, int(label))
    g_z = g_z[..., filter_index]
    kernel_index = next(i for i, v in enumerate(model.trainable_variables) if v is conv.kernel)
    under, inside = _under(np.asarray(x_in[0]), conv, g_z.shape, row, col, channel)
    products = g_z * under
    gradient = float(products.sum())
    before = float(conv.kernel[row, col, channel, filter_index])
    after = before - learning_rate * gradient
    index = (row, col, channel, filter_index)
    loss_one, loss_all = _losses_after(
        model, x, int(label), [learning_rate * g for g in grads], kernel_index, (index, after)
    )
    return WeightStep(
        layer=layer,
        filter_index=int(filter_index),
        weight=(row, col, channel),
        label=int(label),
        probability=float(probabilities[0, int(label)]),
        learning_rate=float(learning_rate),
        loss=float(loss),
        upstream=g_z,
        under=under,
        inside=inside,
        products=products,
        gradient=gradient,
        tape_gradient=float(grads[kernel_index][row, col, channel, filter_index]),
        filter_gradient=np.asarray(grads[kernel_index][..., filter_index], np.float32),
        weight_before=before,
        weight_after=after,
        loss_after_weight=loss_one,
        loss_after=loss_all,
        followed_by=_readers(model, conv),
        activation=getattr(conv.activation, "__name__", "linear"),
    )
