"""What a filter (or a class) wants to see: feature visualisation by gradient ascent.

Gradient ascent turns training around: the weights stay fixed and the *picture* changes.
Starting from a plain grey picture with a little noise, each step asks the model which way
every pixel should move to make the chosen channel's feature map brighter (its mean over the
map, as the feature-map view shows it: after batch norm and activation), or to make a class's
score (the pre-softmax logit) higher, and moves the pixels a small step that way.

Left alone, gradient ascent finds high-frequency noise that no camera would take. The usual
regularisers keep the picture readable (Olah et al., "Feature Visualization", Distill 2017):
- jitter: the picture is shifted by a few random pixels before each step, so a pattern must
  work wherever it lands, not only at one exact pixel;
- blur: every few steps the picture is smoothed a little, which damps pixel-level noise;
- a limit on the range: pixels stay in [0, 1], as in every real input.
The gradient is normalised per picture (divided by its standard deviation), so the step size
means the same for every layer.

The result is the model's input itself, rounded to 8-bit pixels as a PNG keeps it, and its
activation is measured on that rounded picture without jitter: feeding the PNG back gives
that number. `strongest` finds, for comparison, the real test images that excite each
channel most.

Example:
    >>> result = visualize(run.model, layer="conv4_2", channels=[0, 1, 2])
    >>> result[0].activation, result[0].image.shape
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from cnn.errors import CnnError
from cnn.i18n import tr

__all__ = ["Visualization", "VisualizeError", "map_layers", "strongest", "visualize"]

STEPS = 160  # ascent steps; the bench's figures come from this many (bench/bench_visualize.py)
LEARNING_RATE = 0.05  # pixels per step for a gradient of standard deviation 1, at the start
FINAL_RATE = 0.005  # ... decayed linearly to this at the last step
START_NOISE = 0.02  # the grey start's noise (pixels), so channels do not all start alike
BLUR_EVERY = 4  # steps between two blurs
BLUR_MIX = 0.5  # a blur keeps this much of the picture as it was
JITTER_SHARE = 1 / 14  # the random shift: up to this share of the picture's side (2 of 28)
PRE_ACTIVATION = 0.1  # share of the pre-ReLU mean in what is climbed (see `_ascended`)
BATCH = 16  # pictures optimised at once (one compiled call per step)


class VisualizeError(CnnError, ValueError):
    """A layer, channel or class that cannot be visualised."""


@dataclass(repr=False)
class Visualization:
    """The picture that excites one channel or class most, as found by gradient ascent.

    Attributes:
        image: float32 (h, w, c) in [0, 1], on 8-bit steps: the model's input as the PNG has it.
        activation: the channel's mean activation over its map (or the class's logit) for
            `image` itself, without jitter.
        target: "channel" or "class"; index: which one; layer: the map's layer (None: a class).
        probability: the class's probability for `image` (classes only).
        seconds: wall-clock time of the ascent (the whole batch it was part of).
    """

    image: np.ndarray
    activation: float
    target: str
    index: int
    layer: str | None
    probability: float | None
    seconds: float

    def __repr__(self) -> str:
        what = f"{self.layer}:{self.index}" if self.layer else f"class {self.index}"
        return f"Visualization({what}, activation={self.activation:.4f}, {self.seconds:.1f} s)"

    def to_dict(self, path: str) -> dict:
        """The CLI's document."""
        doc = {"path": path, "activation": self.activation, "target": self.target}
        doc["layer" if self.layer else "class"] = self.layer or self.index
        if self.layer:
            doc["channel"] = self.index
        else:
            doc["probability"] = self.probability
        doc["seconds"] = round(self.seconds, 2)
        return doc


def map_layers(model) -> dict[str, str]:
    """Each conv/pool/add layer's name -> the layer whose output its feature map is."""
    from cnn.inspect import Inspector

    return {name: tap for name, _, tap in Inspector(model, jit_compile=False).feature_map_layers}


def _scores(model, layer: str | None):
    """A function: images (n, h, w, c) -> (n, k) of what can be maximised.

    A channel target: every channel's mean over the feature map. A class target: the logits
    (pre-softmax scores) of the output layer, or the probabilities without a softmax head.
    """
    import tensorflow as tf

    from cnn.inspect import multi_output_model, softmax_dense

    if layer is None:
        head = softmax_dense(model)
        multi = multi_output_model(model, [], head)

        def logits(images):
            results = multi(images, training=False)
            if head is None:
                return results[-1]
            out = tf.matmul(results[-2], head.kernel)
            return out + head.bias if head.use_bias else out

        return logits
    taps = map_layers(model)
    if layer not in taps:
        raise VisualizeError(
            tr("{layer} has no feature map: choose one of {names}.").format(
                layer=repr(layer), names=", ".join(taps) or tr("none")
            )
        )
    multi = multi_output_model(model, [taps[layer]], None)
    return lambda images: tf.reduce_mean(multi(images, training=False)[0], axis=(1, 2))


def _producer(model, layer):
    """The name of the layer whose output `layer` reads, or None when it reads the image."""
    import keras

    layers = list(model.layers)
    if isinstance(model, keras.Sequential):
        index = layers.index(layer)
        return layers[index - 1].name if index else None
    producer = next(lay for lay in layers if lay.output is layer.input)
    return None if isinstance(producer, keras.layers.InputLayer) else producer.name


def _ascended(model, layer: str | None, score):
    """What the ascent climbs: `score`, plus a little of the map before its activation.

    A channel whose map is 0 everywhere on the grey start (every value below ReLU's 0) gives
    no gradient at all; the mean before the activation always has one, and PRE_ACTIVATION of
    it leads the picture to where the channel wakes up. Only `score` is ever reported. The map
    before the activation is the input of an Activation layer, or a conv's own sum (kernel x
    window + bias) when the activation is inside the conv.
    """
    import keras
    import tensorflow as tf

    from cnn.inspect import multi_output_model

    if layer is None:
        return score
    tap = model.get_layer(map_layers(model)[layer])
    inside = isinstance(tap, keras.layers.Conv2D) and tap.activation.__name__ != "linear"
    if not (isinstance(tap, keras.layers.Activation) or inside):
        return score
    source = _producer(model, tap)
    multi = multi_output_model(model, [tap.name] + ([source] if source else []), None)

    def climbed(images):
        results = multi(images, training=False)
        before = results[1] if source else images
        if inside:  # the conv's sum before its activation
            before = tap.convolution_op(before, tap.kernel)
            before = before + tap.bias if tap.use_bias else before
        mean = tf.reduce_mean(results[0], axis=(1, 2))
        return mean + PRE_ACTIVATION * tf.reduce_mean(before, axis=(1, 2))

    return climbed


def _has_head(model) -> bool:
    from cnn.inspect import softmax_dense

    return softmax_dense(model) is not None


def _checked(model, layer: str | None, indices: list[int]) -> int:
    """How many channels (or classes) there are; a sentence when an index is out of range."""
    if layer is None:
        count = int(model.outputs[0].shape[-1])
        text = tr("There are {n} classes: choose numbers from 0 to {last}.")
    else:
        tap = map_layers(model).get(layer)
        if tap is None:
            _scores(model, layer)  # raises the sentence naming the choices
        count = int(model.get_layer(tap).output.shape[-1])
        text = tr("There are {n} channels in {layer}: choose numbers from 0 to {last}.")
    bad = [i for i in indices if not 0 <= i < count]
    if bad or not indices:
        raise VisualizeError(text.format(n=count, layer=layer, last=count - 1))
    return count


def _ascent(score, shape, targets, steps: int, seed: int):
    """Gradient ascent of `score(images)[i, targets[i]]` for a batch of pictures (see above)."""
    import tensorflow as tf

    n, (h, w, c) = len(targets), shape
    rng = np.random.default_rng(seed)
    start = 0.5 + rng.uniform(-START_NOISE, START_NOISE, (n, h, w, c))
    images = tf.Variable(start.astype(np.float32))
    chosen = tf.constant(np.asarray(targets, np.int32))
    jitter = max(1, round(max(h, w) * JITTER_SHARE))
    blur = tf.constant(np.outer([1, 2, 1], [1, 2, 1])[..., None, None] / 16.0, tf.float32)
    blur = tf.tile(blur, [1, 1, c, 1])

    @tf.function(reduce_retracing=True)
    def step(rate, smooth):
        shift = tf.random.uniform([2], -jitter, jitter + 1, tf.int32)
        with tf.GradientTape() as tape:
            moved = tf.roll(images, shift, axis=[1, 2])
            tape.watch(moved)
            total = tf.reduce_sum(tf.gather(score(moved), chosen, axis=1, batch_dims=1))
        grad = tf.roll(tape.gradient(total, moved), -shift, axis=[1, 2])
        grad = grad / (tf.math.reduce_std(grad, axis=(1, 2, 3), keepdims=True) + 1e-8)
        updated = images + rate * grad
        if smooth:
            padded = tf.pad(updated, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
            smoothed = tf.nn.depthwise_conv2d(padded, blur, [1, 1, 1, 1], "VALID")
            updated = BLUR_MIX * updated + (1 - BLUR_MIX) * smoothed
        images.assign(tf.clip_by_value(updated, 0.0, 1.0))

    tf.random.set_seed(seed)
    for i in range(steps):
        rate = LEARNING_RATE + (FINAL_RATE - LEARNING_RATE) * i / max(steps - 1, 1)
        step(tf.constant(rate, tf.float32), tf.constant(i % BLUR_EVERY == BLUR_EVERY - 1))
    # the picture as a PNG keeps it: 8-bit steps
    return np.round(images.numpy() * 255.0) / 255.0


def visualize(
    model,
    layer: str | None = None,
    channels: list[int] | None = None,
    classes: list[int] | None = None,
    steps: int = STEPS,
    seed: int = 0,
) -> list[Visualization]:
    """The pictures that excite each of `channels` of `layer`'s map (or each of `classes`).

    Args:
        model: a Keras classifier taking float32 (h, w, c) pictures in [0, 1]; not changed.
        layer: a conv/pool/add layer's name (its feature map, as the feature-map view
            shows it); None with `classes`.
        channels: channel numbers of that map; classes: class numbers (give one or the other).
        steps: gradient-ascent steps; seed: the start's noise and the jitter.

    Raises:
        VisualizeError: an unknown layer, a channel or class out of range, or neither given.
    """
    import tensorflow as tf

    if (channels is None) == (classes is None) or (layer is None) != (channels is None):
        raise VisualizeError(tr("Give a layer and its channels, or classes (not both)."))
    indices = [int(i) for i in (channels if classes is None else classes)]
    _checked(model, layer, indices)
    score = _scores(model, layer)
    climbed = _ascended(model, layer, score)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    results = []
    for start in range(0, len(indices), BATCH):
        part = indices[start : start + BATCH]
        began = time.perf_counter()
        images = _ascent(climbed, shape, part, steps, seed + start)
        seconds = time.perf_counter() - began
        values = score(tf.constant(images, tf.float32)).numpy()
        probabilities = None
        if layer is None:  # logits, or already probabilities without a softmax head
            probabilities = tf.nn.softmax(values).numpy() if _has_head(model) else values
        for i, index in enumerate(part):
            results.append(
                Visualization(
                    image=images[i].astype(np.float32),
                    activation=float(values[i, index]),
                    target="class" if layer is None else "channel",
                    index=index,
                    layer=layer,
                    probability=None if probabilities is None else float(probabilities[i, index]),
                    seconds=seconds,
                )
            )
    return results


def strongest(
    model, layer: str, images: np.ndarray, k: int = 3, batch: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """The real images that excite each channel of `layer` most (mean over its map).

    Args:
        images: float32 (n, h, w, c) model inputs, e.g. test images.
        k: how many per channel.

    Returns:
        (indices, activations): int64 (channels, k) into `images`, strongest first, and
        float32 (channels, n): every image's mean activation of every channel.
    """
    import tensorflow as tf

    score = _scores(model, layer)
    means = np.concatenate(
        [
            score(tf.constant(images[i : i + batch], tf.float32)).numpy()
            for i in range(0, len(images), batch)
        ]
    ).T
    order = np.argsort(-means, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64), means.astype(np.float32)
