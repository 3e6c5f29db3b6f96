"""Look inside a trained CNN: probabilities, every conv/pool activation, filters, Grad-CAM.

`Inspector(model)` builds, once per model, a multi-output Keras model (input -> each conv and
pooling output, the input of the "predictions" layer, the probabilities) and two compiled
`tf.function`s for one image: a forward pass, and a forward pass plus Grad-CAM taken with
`tf.GradientTape`. `Inspector.run` then costs one graph call, never `model.predict`.

What an activation is: the activated output of each Conv2D (reported under the conv's
name), and the output of each pooling layer. When the activation function is inside the conv
(`Conv2D(..., activation="relu")`) that is the conv's own output; when BatchNormalization
and/or Activation layers follow the conv directly, it is the output of the last of them, so a
feature map is always what the next layer sees. Only the model's top-level layers are
inspected (a nested sub-model counts as one layer and is not looked into).

Grad-CAM (Selvaraju et al., 2017) uses the last conv layer: the gradient of the class score
(the pre-softmax logit when "predictions" is a softmax Dense layer, else the probability)
with respect to that layer's output, averaged over space, weights its channels; the
weighted sum is passed through ReLU, resized (bilinear) to the input size and scaled to [0, 1].
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architectures import OUTPUT_LAYER, inbound_layers
from cnn.calibration import softmax
from cnn.i18n import N_

__all__ = ["Inspection", "Inspector", "LayerActivation"]

# XLA-compiled inspection functions survive `keras.backend.clear_session()`, which Streamlit
# calls after every rerun: its compilation cache outlives the eager kernel cache that the
# clear empties, so the first call after a rerun costs milliseconds, not the hundreds of
# milliseconds of re-instantiating the graph (bench/README.md, "Figures cited in the code")
JIT_COMPILE = True
POOL_TYPES = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
# English (an Inspector is shared by every session), translated where shown: tr(reason)
NO_CONV_REASON = N_("This model has no convolution layer, so there is no feature map for Grad-CAM.")
NOT_REQUESTED_REASON = N_("Grad-CAM was not requested.")


@dataclass(repr=False)
class LayerActivation:
    """The output of one conv or pooling layer for one image.

    Attributes:
        name: Keras layer name.
        kind: "conv" or "pool".
        array: float32 (h, w, channels).
    """

    name: str
    kind: str
    array: np.ndarray

    def __repr__(self) -> str:
        return f"LayerActivation(name={self.name!r}, kind={self.kind!r}, shape={self.array.shape})"


@dataclass(repr=False)
class Inspection:
    """Everything one forward pass tells about one image.

    Attributes:
        probabilities: float32 (num_classes,).
        activations: every conv and pooling layer output, in model order.
        gradcam: float32 (h, w) in [0, 1] at the input resolution, or None.
        gradcam_class: the class the heat map explains, or None.
        gradcam_layer: the conv layer the heat map was taken from, or None.
        gradcam_reason: why `gradcam` is None (a sentence), else None.
    """

    probabilities: np.ndarray
    activations: list[LayerActivation]
    gradcam: np.ndarray | None = None
    gradcam_class: int | None = None
    gradcam_layer: str | None = None
    gradcam_reason: str | None = None
    gradcam_classes: np.ndarray | None = None  # per image, for `run_batch`
    logits: np.ndarray | None = None  # pre-softmax scores (see `Inspector.logits`)
    features: np.ndarray | None = None  # what the output layer reads (the unfamiliar check)

    @property
    def predicted_class(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.probabilities))

    def __repr__(self) -> str:
        maps = ", ".join(f"{a.name}{a.array.shape}" for a in self.activations)
        cam = (
            "None"
            if self.gradcam is None
            else f"{self.gradcam.shape} of class {self.gradcam_class}"
        )
        return (
            f"Inspection(predicted_class={self.predicted_class}, "
            f"p={self.probabilities.max():.3f}, activations=[{maps}], gradcam={cam})"
        )


def multi_output_model(
    model: keras.Model, taps: list[str], head: keras.layers.Dense | None
) -> keras.Model:
    """input -> [each tapped layer's output..., the head's input (or probabilities), probabilities].

    A Sequential model is re-wired by calling its layers on a fresh Input: a Sequential loaded
    from a .keras file keeps layer outputs from more than one wiring, and mixing them breaks
    the gradient path Grad-CAM needs. Functional models keep their own graph.
    """
    if isinstance(model, keras.Sequential):
        image = keras.Input(model.inputs[0].shape[1:], name="image")
        outputs: dict[str, object] = {}
        x = image
        head_input = None
        for layer in model.layers:
            if layer is head:
                head_input = x
            x = layer(x)
            outputs[layer.name] = x
        probabilities = x
        tapped = [outputs[name] for name in taps]
    else:
        image, probabilities = model.inputs[0], model.outputs[0]
        head_input = None if head is None else head.input
        tapped = [model.get_layer(name).output for name in taps]
    last = probabilities if head is None else head_input
    return keras.Model(image, [*tapped, last, probabilities], name=f"{model.name}_inspection")


def _inspected_layers(model: keras.Model) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, kind) of every conv/pool/add layer, and the layer whose output shows each one.

    A conv (or a residual block's add) followed directly by BatchNormalization/Activation
    layers is shown through the last of them (its activated output); everything else through
    its own output. In a functional model "followed" means read by: a residual block's last
    conv is listed before its shortcut's conv but read by its own batch norm.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    sequential = isinstance(model, keras.Sequential)
    inspected, taps = [], []
    for i, layer in enumerate(layers):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Add)):
            tap = layer
            while True:
                if sequential:
                    after = layers[layers.index(tap) + 1 : layers.index(tap) + 2]
                else:
                    after = [f for f in layers[i + 1 :] if f.input is tap.output]
                if not after or not isinstance(
                    after[0], (keras.layers.BatchNormalization, keras.layers.Activation)
                ):
                    break
                tap = after[0]
            kind = "conv" if isinstance(layer, keras.layers.Conv2D) else "add"
            inspected.append((layer.name, kind))
            taps.append(tap.name)
        elif isinstance(layer, POOL_TYPES):
            inspected.append((layer.name, "pool"))
            taps.append(layer.name)
    return inspected, taps


def _joined(model: keras.Model) -> set[str]:
    """Names of the layers whose output a residual block's Add reads (none in a Sequential)."""
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    wiring = inbound_layers(model) if adds else {}
    return {name for add in adds for name in wiring[add]}


class Inspector:
    """Compiled one-image inspection of a classifier.

    Built once per loaded model (cache it next to the model); `run` is then cheap enough
    for every rerun of a page. It holds no global state, so one instance per session is safe.

    Args:
        model: a Keras functional or Sequential model taking float32 (h, w, c) images and
            ending in a softmax Dense layer named "predictions". A Sequential model without
            a defined input is built on the first `run` from that image's shape.
        jit_compile: compile with XLA (the app: survives Streamlit's clear_session); one-off
            callers such as the CLI skip it, since compiling costs more than it saves there.
        mirror: also read each image's mirror image (left-right flipped) and answer with the
            two readings averaged: logits (or log-probabilities without a softmax Dense head)
            and the features the head reads are means of the two; the activations and Grad-CAM
            stay the image's own. A run trained with `tta="mirror"` is read this way.

    Attributes:
        input_shape: (h, w, c) the model takes, or None until a lazily built model has run.
        gradcam_layer: the last conv layer, or a residual model's last add (Grad-CAM's
            source), or None without conv layers.
        gradcam_reason: why Grad-CAM is unavailable for this model, or None.
        score: what Grad-CAM differentiates: "logit" (pre-softmax) or "probability".

    Example:
        >>> inspector = Inspector(model)
        >>> result = inspector.run(image)            # image: float32 (28, 28, 1) in [0, 1]
        >>> result.probabilities.argmax(), result.gradcam.shape
        (7, (28, 28))
    """

    def __init__(
        self, model: keras.Model, jit_compile: bool = JIT_COMPILE, mirror: bool = False
    ) -> None:
        self.model = model
        self.jit_compile = jit_compile
        self.mirror = mirror
        self._lock = threading.Lock()
        self._inspected, self._taps = _inspected_layers(model)
        # the last conv, or a residual model's last add: the last map before the head, as
        # Grad-CAM wants; maps that an add still joins (a block's last conv, a shortcut's 1x1
        # projection, listed after it) are inside a block, not its output
        joined = _joined(model)
        convs = [
            name
            for (name, kind), tap in zip(self._inspected, self._taps, strict=True)
            if kind in ("conv", "add") and tap not in joined
        ]
        self.gradcam_layer: str | None = convs[-1] if convs else None
        self.gradcam_reason: str | None = None if convs else NO_CONV_REASON
        self.score = "probability"
        self.input_shape: tuple | None = None
        self._forward = None
        self._forward_gradcam = None
        self._every_layer = None
        if _has_inputs(model):
            self._build()

    def __repr__(self) -> str:
        maps = ", ".join(f"{name}:{kind}" for name, kind in self._inspected)
        shape = "not built yet" if self.input_shape is None else self.input_shape
        return (
            f"Inspector(model={self.model.name!r}, input={shape}, activations=[{maps}], "
            f"gradcam_layer={self.gradcam_layer!r}, score={self.score!r})"
        )

    def _build(self) -> None:
        """Build the multi-output model and the compiled functions (once).

        Every function takes a batch (n, h, w, c); XLA compiles once per batch size, and
        `_padded` rounds sizes up to powers of two so a page compiles a handful at most.
        """
        model = self.model
        self.input_shape = tuple(model.inputs[0].shape[1:])
        head = softmax_dense(model)
        self.score = "probability" if head is None else "logit"
        multi = multi_output_model(model, self._taps, head)
        cam_index = None
        if self.gradcam_layer is not None:
            cam_index = [name for name, _ in self._inspected].index(self.gradcam_layer)
        images = tf.TensorSpec((None, *self.input_shape), tf.float32)
        compiled = {"reduce_retracing": True, "jit_compile": self.jit_compile}

        @tf.function(input_signature=[images], **compiled)
        def forward(image):
            return multi(image, training=False)

        @tf.function(input_signature=[images], **compiled)
        def predict(image):
            results = multi(image, training=False)
            return results[-2], results[-1]

        @tf.function(input_signature=[images, tf.TensorSpec((None,), tf.int32)], **compiled)
        def forward_gradcam(image, class_index):
            with tf.GradientTape() as tape:
                tape.watch(image)
                results = multi(image, training=False)
                probabilities = results[-1]
                # A negative class index means "the top class".
                top = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
                chosen = tf.where(class_index < 0, top, class_index)
                if head is None:
                    scores = probabilities
                else:
                    scores = tf.matmul(results[-2], head.kernel)
                    if head.use_bias:
                        scores = scores + head.bias
                # each image's own class score; images do not mix, so one gradient serves all
                score = tf.reduce_sum(tf.gather(scores, chosen, axis=1, batch_dims=1))
            feature_map = results[cam_index]
            grads = tape.gradient(score, feature_map)
            # Channel weights = spatial mean of the gradients; weighted sum, ReLU, resize, scale.
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(feature_map * weights, axis=-1, keepdims=True))
            cam = tf.image.resize(cam, tf.shape(image)[1:3])[..., 0]
            cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True))
            return results, tf.clip_by_value(cam, 0.0, 1.0), chosen

        self._forward = forward
        self._predict = predict
        self._forward_gradcam = forward_gradcam if cam_index is not None else None

    @property
    def feature_map_layers(self) -> list[tuple[str, str, str]]:
        """(name, kind, shown by) of every conv/pool layer: "shown by" is the layer whose
        output the feature map is (a conv's last BatchNormalization/Activation follower)."""
        return [
            (name, kind, tap) for (name, kind), tap in zip(self._inspected, self._taps, strict=True)
        ]

    def layer_outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every top-level layer's output for one image, in one compiled call.

        The function is built on the first call (most pages never need it). Dropout layers
        pass their input on unchanged, as at inference.

        Args:
            x: float32 (h, w, c) or (1, h, w, c), values in [0, 1].

        Returns:
            layer name -> float32 output of one image (no batch axis), in model order.
        """
        x = self._checked(x, one=True)
        if self._every_layer is None:
            with self._lock:
                if self._every_layer is None:
                    names = [layer.name for layer in self.model.layers]
                    multi = multi_output_model(self.model, names, None)
                    spec = tf.TensorSpec((None, *self.input_shape), tf.float32)

                    @tf.function(input_signature=[spec], jit_compile=self.jit_compile)
                    def every_layer(image):
                        return multi(image, training=False)[: len(names)]

                    self._every_layer = names, every_layer
        names, every_layer = self._every_layer
        outputs = every_layer(x)
        return {name: tensor.numpy()[0] for name, tensor in zip(names, outputs, strict=True)}

    def _checked(self, x: np.ndarray, one: bool) -> np.ndarray:
        """float32 (n, h, w, c) of the model's shape, building a lazy model on first use."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or (one and x.shape[0] != 1) or x.shape[0] == 0:
            what = "one image of shape (h, w, c)" if one else "a batch (n, h, w, c) of images"
            raise ValueError(f"Inspect {what}, got an array of {x.shape}.")
        if self._forward is None:
            with self._lock:
                if self._forward is None:
                    self.model(x[:1], training=False)
                    self._build()
        expected = self.input_shape
        if any(e is not None and e != got for e, got in zip(expected, x.shape[1:], strict=True)):
            raise ValueError(f"This model expects images of shape {expected}, got {x.shape[1:]}.")
        return x

    def _classes(self, classes, n: int) -> np.ndarray:
        """Class indices to explain per image (-1: the top class), checked."""
        num_classes = int(self.model.outputs[0].shape[-1])
        index = np.full(n, -1, np.int32) if classes is None else np.asarray(classes, np.int32)
        index = np.broadcast_to(index, (n,)).astype(np.int32)
        if ((index < -1) | (index >= num_classes)).any():
            raise ValueError(f"gradcam_class must be in 0..{num_classes - 1}.")
        return index

    def run(
        self, x: np.ndarray, gradcam: bool = True, gradcam_class: int | None = None
    ) -> Inspection:
        """Inspect one image: probabilities, every conv/pool activation and Grad-CAM.

        Args:
            x: float32 (h, w, c) or (1, h, w, c), values in [0, 1].
            gradcam: whether to compute the Grad-CAM heat map (costs a backward pass).
            gradcam_class: class to explain; the most probable class when None.

        Returns:
            An `Inspection`. `gradcam` is None with `gradcam_reason` set when it was not
            requested or the model has no conv layer.
        """
        batch = self.run_batch(self._checked(x, one=True), gradcam, gradcam_class)
        return Inspection(
            probabilities=batch.probabilities[0],
            logits=batch.logits[0],
            features=batch.features[0],
            activations=[LayerActivation(a.name, a.kind, a.array[0]) for a in batch.activations],
            gradcam=None if batch.gradcam is None else batch.gradcam[0],
            gradcam_class=None if batch.gradcam is None else int(batch.gradcam_classes[0]),
            gradcam_layer=batch.gradcam_layer,
            gradcam_reason=batch.gradcam_reason,
        )

    def run_batch(self, x: np.ndarray, gradcam: bool = True, classes=None) -> Inspection:
        """`run` for a batch in one compiled call: every field gains a leading image axis.

        Args:
            x: float32 (n, h, w, c).
            gradcam: whether to compute Grad-CAM.
            classes: None (each image's top class), one class index, or one per image.

        Returns:
            An `Inspection` whose probabilities are (n, k), activations (n, h, w, c),
            gradcam (n, h, w) or None, and gradcam_classes (n,).
        """
        x = self._checked(x, one=False)
        n = len(x)
        padded = _padded(x)
        reason = NOT_REQUESTED_REASON if not gradcam else self.gradcam_reason
        cam = chosen = None
        answer = self.predict_with_features(x) if self.mirror else None
        if answer is not None and classes is None:
            classes = answer[1].argmax(axis=-1)  # explain the class the averaged reading picks
        if gradcam and self._forward_gradcam is not None:
            index = _padded(self._classes(classes, n))
            results, cam, chosen = self._forward_gradcam(padded, index)
            cam, chosen = cam.numpy()[:n], chosen.numpy()[:n]
        else:
            results = self._forward(padded)
        features, probabilities = results[-2].numpy()[:n], results[-1].numpy()[:n]
        if answer is not None:
            features, probabilities = answer
        return Inspection(
            probabilities=probabilities,
            logits=logits_of(self.model, features, probabilities),
            features=features.reshape(n, -1),
            activations=[
                LayerActivation(name, kind, tensor.numpy()[:n])
                for (name, kind), tensor in zip(self._inspected, results, strict=False)
            ],
            gradcam=cam,
            gradcam_classes=chosen,
            gradcam_layer=self.gradcam_layer if cam is not None else None,
            gradcam_reason=reason,
        )

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) of a batch, in one compiled call (no activations)."""
        return self.predict_with_features(x)[1]

    def predict_with_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, d), probabilities (n, k)): the features are what the output layer
        reads (the penultimate layer's activations), the embedding nearest neighbours use."""
        x = self._checked(x, one=False)
        features, probabilities = (a.numpy()[: len(x)] for a in self._predict(_padded(x)))
        if not self.mirror:
            return features, probabilities
        flipped, flipped_probabilities = (
            a.numpy()[: len(x)] for a in self._predict(_padded(x[:, :, ::-1]))
        )
        return _averaged(self.model, (features, probabilities), (flipped, flipped_probabilities))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Pre-softmax scores (n, k) of a batch: calibration and the unfamiliar-input check
        work on these (for a model without a softmax Dense output: log-probabilities)."""
        features, probabilities = self.predict_with_features(x)
        return logits_of(self.model, features, probabilities)


def logits_of(model: keras.Model, features: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The output layer's logits from its input `features`, or log-probabilities without one."""
    head = softmax_dense(model)
    if head is None:
        return np.log(np.maximum(probabilities, np.finfo(np.float32).tiny))
    logits = features @ np.asarray(head.kernel)
    return logits + np.asarray(head.bias) if head.use_bias else logits


def _averaged(model: keras.Model, first: tuple, second: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(features, probabilities) of two readings of the same images, averaged: the features'
    mean, and the softmax of the mean logits (which the mean features give through a linear
    head), or of the mean log-probabilities for a model without one."""
    features = (first[0] + second[0]) / 2
    if softmax_dense(model) is not None:
        scores = logits_of(model, features, first[1])
    else:
        scores = (logits_of(model, first[0], first[1]) + logits_of(model, second[0], second[1])) / 2
    return features, softmax(scores)


def _padded(x: np.ndarray) -> np.ndarray:
    """`x` repeated at its end up to the next power of two along the first axis.

    XLA compiles one program per input shape; rounding batch sizes up keeps a page to a few.
    """
    n = len(x)
    size = 1 << (n - 1).bit_length()
    return x if size == n else np.concatenate([x, np.repeat(x[-1:], size - n, axis=0)])


def _has_inputs(model: keras.Model) -> bool:
    """Whether the model has a defined symbolic input (an unbuilt Sequential has none)."""
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def softmax_dense(model: keras.Model) -> keras.layers.Dense | None:
    """The "predictions" layer when it is a softmax Dense layer (so its logits can be used)."""
    try:
        layer = model.get_layer(OUTPUT_LAYER)
    except ValueError:
        return None
    is_softmax = getattr(layer, "activation", None) is keras.activations.softmax
    return layer if isinstance(layer, keras.layers.Dense) and is_softmax else None
