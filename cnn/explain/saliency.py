"""Saliency maps: where a trained classifier looked, by several methods, for a batch of images.

Every method takes a Keras model ending in a softmax layer named `OUTPUT_LAYER`, a batch of
model inputs float32 (n, h, w, c) in [0, 1] and one target class per image, and returns
float32 maps (n, h, w) at the input's resolution, each scaled to [0, 1]: higher = mattered
more for that class.

- `gradcam` (Selvaraju et al. 2017) at any conv/pool/add layer; at the last conv it is the
  Inspector's Grad-CAM (the same formula and the same layers, `Inspector.feature_map_layers`);
- `gradcam_pp`: Grad-CAM++ (Chattopadhyay et al. 2018), second-order channel weights;
- `scorecam` (Wang et al. 2020): each channel's map used as a mask on the input, weighted by
  how much of the class the masked input keeps;
- `rise` (Petsiuk et al. 2018): random smooth masks, weighted by the class probability;
- `occlusion`: `cnn.probes.occlusion` at several patch sizes, covering with the background;
- `integrated_gradients` (Sundararajan et al. 2017) from the background;
- `smoothgrad` (Smilkov et al. 2017): gradients of noisy copies, optionally times the input.

"The background" is what the deletion test (`cnn.explain.faithfulness`) puts where pixels are
removed: black for digits and grayscale items, for photos the image blurred away. Gradient
methods differentiate the class logit (the Inspector's Grad-CAM score); perturbation methods
watch the class probability. Forward passes go through the Inspector's compiled functions,
gradients through one `tf.function` per layer, both in chunks of `CHUNK` inputs.

Example:
    >>> maps = saliency(model, images, "occlusion", kind="digits")   # (n, h, w)
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage

from cnn.errors import ExplainError
from cnn.i18n import tr
from cnn.inspect import Inspector, multi_output_model, softmax_dense
from cnn.probes.occlusion import MAX_POSITIONS, occlusion_map

CHUNK = 64  # model inputs per compiled call
BLUR_SIGMA = 0.08  # the photo background's Gaussian blur, as a share of the shorter side
BLACK_KINDS = ("digits", "grayscale")  # kinds whose background is black
TINY = np.finfo(np.float32).tiny  # the least probability a logarithm is taken of
ENGINES_KEPT = 4  # models whose engines are kept (a model and its random twin, for two runs)
# id(model) -> its Engine, least recently used first; an Engine holds its model, so the id
# cannot be reused while it is here
_ENGINES: OrderedDict[int, Engine] = OrderedDict()


def background(images: np.ndarray, kind: str) -> np.ndarray:
    """What removed pixels become: black for digits and grayscale, else the image blurred away.

    Args:
        images: float32 (n, h, w, c) in [0, 1].
        kind: "digits", "grayscale" or "photos" (`cnn.datasets.KINDS`).
    """
    images = np.asarray(images, np.float32)
    if kind in BLACK_KINDS:
        return np.zeros_like(images)
    sigma = BLUR_SIGMA * min(images.shape[1:3])
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="reflect")


class Engine:
    """One model's compiled gradient functions and its Inspector, built once (`engine`).

    Attributes:
        model: the Keras model.
        inspector: a `cnn.inspect.Inspector` (no XLA): probabilities and the last conv.
        layers: conv/pool/add layer name -> the layer whose output shows it.
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.inspector = Inspector(model, jit_compile=False)
        self.layers = {name: tap for name, _, tap in self.inspector.feature_map_layers}
        self._head = softmax_dense(model)
        self._gradients: dict[str | None, Callable] = {}

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) of any number of inputs, `CHUNK` at a time."""
        parts = [
            self.inspector.probabilities(batch[i : i + CHUNK]) for i in range(0, len(batch), CHUNK)
        ]
        return np.concatenate(parts)

    def class_probabilities(
        self, batch: np.ndarray, classes: np.ndarray, log: bool = False
    ) -> np.ndarray:
        """Probability (n,) of each input's own class, or its logarithm."""
        chosen = self.probabilities(batch)[np.arange(len(batch)), classes]
        return np.log(np.maximum(chosen, TINY)) if log else chosen

    def _function(self, layer: str | None) -> Callable:
        """A compiled (images, classes) -> (map, d logit / d map); map = input when None."""
        if layer not in self._gradients:
            taps = [] if layer is None else [self.layers[layer]]
            multi = multi_output_model(self.model, taps, self._head)
            head = self._head
            spec = tf.TensorSpec((None, *self.inspector.input_shape), tf.float32)

            @tf.function(input_signature=[spec, tf.TensorSpec((None,), tf.int32)])
            def gradients(images, classes):
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    results = multi(images, training=False)
                    scores = results[-1]
                    if head is not None:
                        scores = tf.matmul(results[-2], head.kernel)
                        scores = scores + head.bias if head.use_bias else scores
                    score = tf.reduce_sum(tf.gather(scores, classes, axis=1, batch_dims=1))
                watched = images if layer is None else results[0]
                return watched, tape.gradient(score, watched)

            self._gradients[layer] = gradients
        return self._gradients[layer]

    def gradients(
        self, images: np.ndarray, classes: np.ndarray, layer: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the layer's output, the class logit's gradient there), both (n, h', w', k).

        Args:
            images: float32 (n, h, w, c).
            classes: int (n,) the class of each image.
            layer: a conv/pool/add layer's name; None: the input itself.
        """
        if layer is not None and layer not in self.layers:
            known = ", ".join(self.layers)
            raise ExplainError(
                tr("This model has no feature-map layer {layer}; it has {known}.").format(
                    layer=repr(layer), known=known
                )
            )
        function = self._function(layer)
        parts = [
            function(images[i : i + CHUNK], classes[i : i + CHUNK].astype(np.int32))
            for i in range(0, len(images), CHUNK)
        ]
        return tuple(np.concatenate([p[j].numpy() for p in parts]) for j in (0, 1))


def engine(model: keras.Model) -> Engine:
    """The model's `Engine`, built on first use; the last `ENGINES_KEPT` models' are kept."""
    key = id(model)
    if key not in _ENGINES:
        _ENGINES[key] = Engine(model)
        while len(_ENGINES) > ENGINES_KEPT:
            _ENGINES.popitem(last=False)
    _ENGINES.move_to_end(key)
    return _ENGINES[key]


def top_classes(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Each image's most probable class (n,)."""
    return engine(model).probabilities(np.asarray(images, np.float32)).argmax(axis=1)


def with_classes(
    model: keras.Model, images: np.ndarray, classes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(images as float32, the class per image: `classes`, or each image's top class)."""
    images = np.asarray(images, np.float32)
    return images, top_classes(model, images) if classes is None else np.asarray(classes, np.int64)


def scaled(maps: np.ndarray) -> np.ndarray:
    """Each map shifted and scaled to [0, 1] (a constant map becomes zeros); order kept."""
    maps = np.nan_to_num(np.asarray(maps, np.float64))
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0).astype(np.float32)


def _upsampled(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, h', w', k) -> (n, h, w, k), bilinear, as the Inspector resizes Grad-CAM."""
    return tf.image.resize(maps, size).numpy()


def _last_layer(model: keras.Model, layer: str | None) -> str:
    """`layer`, or the Inspector's Grad-CAM layer (the last conv, or a residual's last add)."""
    chosen = layer or engine(model).inspector.gradcam_layer
    if chosen is None:
        raise ExplainError(tr(engine(model).inspector.gradcam_reason))  # English, shared
    return chosen


def gradcam(
    model: keras.Model, images: np.ndarray, classes: np.ndarray, layer: str | None = None
) -> np.ndarray:
    """Grad-CAM: channels weighted by their mean gradient, summed, ReLU, resized, over max.

    Args:
        layer: a conv/pool/add layer name; None: the last conv, as the Inspector shows it.
    """
    feature, grads = engine(model).gradients(images, classes, _last_layer(model, layer))
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cam = np.maximum((feature * weights).sum(axis=-1, keepdims=True), 0.0)
    cam = _upsampled(cam, images.shape[1:3])[..., 0]
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.clip(np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0), 0.0, 1.0)


def gradcam_pp(
    model: keras.Model, images: np.ndarray, classes: np.ndarray, layer: str | None = None
) -> np.ndarray:
    """Grad-CAM++: each channel weighted by its positive gradients with second-order weights."""
    feature, grads = engine(model).gradients(images, classes, _last_layer(model, layer))
    g2, g3 = grads**2, grads**3
    denominator = 2 * g2 + feature.sum(axis=(1, 2), keepdims=True) * g3
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)
    weights = (alpha * np.maximum(grads, 0.0)).sum(axis=(1, 2), keepdims=True)
    cam = np.maximum((feature * weights).sum(axis=-1, keepdims=True), 0.0)
    return scaled(_upsampled(cam, images.shape[1:3])[..., 0])


def scorecam(
    model: keras.Model,
    images: np.ndarray,
    classes: np.ndarray,
    layer: str | None = None,
    baseline: np.ndarray | None = None,
) -> np.ndarray:
    """Score-CAM: each channel, scaled to [0, 1], keeps that much of the input over the
    baseline; the class probability it keeps (over the baseline's) weights the channel."""
    run = engine(model)
    baseline = np.zeros_like(images) if baseline is None else baseline
    feature, _ = run.gradients(images, classes, _last_layer(model, layer))
    masks = scaled(np.moveaxis(_upsampled(feature, images.shape[1:3]), -1, 1).reshape(
        -1, *images.shape[1:3]
    )).reshape(len(images), feature.shape[-1], *images.shape[1:3])  # fmt: skip
    base = run.class_probabilities(baseline, classes)
    maps = np.zeros(images.shape[:3], np.float32)
    for i, (image, ground) in enumerate(zip(images, baseline, strict=True)):
        live = masks[i][masks[i].max(axis=(1, 2)) > 0]
        kept = ground + live[..., None] * (image - ground)
        gain = run.class_probabilities(kept, np.full(len(live), classes[i])) - base[i]
        maps[i] = np.maximum(np.tensordot(np.maximum(gain, 0.0), live, axes=1), 0.0)
    return scaled(maps)


MASK_SETS_KEPT = 4  # RISE mask sets remembered (one is up to ~65 MB at 128 px, 1000 masks)


@functools.lru_cache(maxsize=MASK_SETS_KEPT)
def rise_masks(size: tuple[int, int], count: int, grid: int, keep: float, seed: int) -> np.ndarray:
    """`count` smooth random masks (count, h, w) in [0, 1] (Petsiuk et al. 2018): a grid x grid
    of cells kept with probability `keep`, upsampled bilinearly and shifted by a random
    fraction of a cell. Remembered per arguments (bounded, safe to share between a server's
    threads) and read-only."""
    rng = np.random.default_rng(seed)
    h, w = size
    cell = (int(np.ceil(h / grid)), int(np.ceil(w / grid)))
    cells = (rng.random((count, grid, grid, 1)) < keep).astype(np.float32)
    big = tf.image.resize(cells, ((grid + 1) * cell[0], (grid + 1) * cell[1])).numpy()
    dy, dx = rng.integers(0, cell[0], count), rng.integers(0, cell[1], count)
    masks = np.stack([big[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w, 0] for i in range(count)])
    masks.flags.writeable = False
    return masks


def rise(
    model: keras.Model,
    images: np.ndarray,
    classes: np.ndarray,
    masks: int = 1000,
    grid: int = 7,
    keep: float = 0.5,
    seed: int = 0,
    log: bool = False,
    baseline: np.ndarray | None = None,
) -> np.ndarray:
    """RISE: the class probability (log: its logarithm) of randomly masked copies (masked
    parts become the baseline), above its mean, summed over the masks that kept each pixel."""
    run = engine(model)
    baseline = np.zeros_like(images) if baseline is None else baseline
    chosen = rise_masks(tuple(images.shape[1:3]), masks, grid, keep, seed)
    maps = np.zeros(images.shape[:3], np.float32)
    for i, (image, ground) in enumerate(zip(images, baseline, strict=True)):
        kept = ground + chosen[..., None] * (image - ground)
        p = run.class_probabilities(kept, np.full(masks, classes[i]), log)
        maps[i] = np.tensordot(p - p.mean(), chosen, axes=1)
    return scaled(maps)


class _Filled:
    """An `occlusion_map` classifier whose NaN pixels are the baseline's: lets the probe cover
    with any background (a blurred photo) instead of one grey value. With `log` it answers
    log-probabilities, so the probe maps the drop of the logarithm: a confident model's
    probability hardly moves (0.99999 to 0.9999) where its logarithm drops tenfold."""

    def __init__(self, run: Engine, baseline: np.ndarray, log: bool) -> None:
        self.run, self.baseline, self.log = run, baseline, log

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        p = self.run.probabilities(np.where(np.isnan(batch), self.baseline, batch))
        return np.log(np.maximum(p, TINY)) if self.log else p


def occlusion_stride(side: int, patch: int) -> int:
    """The smallest stride of at least half the patch whose positions fit `occlusion_map`."""
    stride = max(1, patch // 2)
    while (len(range(0, side - patch + 1, stride)) + 1) ** 2 > MAX_POSITIONS:
        stride += 1
    return stride


def occlusion(
    model: keras.Model,
    images: np.ndarray,
    classes: np.ndarray,
    scales: tuple[int, ...] = (2, 4, 7),
    log: bool = False,
    baseline: np.ndarray | None = None,
) -> np.ndarray:
    """Occlusion at several patch sizes: the probability (log: its logarithm) lost covering
    each place with the baseline (`cnn.probes.occlusion`), each scale scaled to [0, 1], then
    averaged."""
    run = engine(model)
    baseline = np.zeros_like(images) if baseline is None else baseline
    side = min(images.shape[1:3])
    maps = np.zeros((len(scales), *images.shape[:3]), np.float32)
    for i, (image, ground) in enumerate(zip(images, baseline, strict=True)):
        filled = _Filled(run, ground, log)
        for s, patch in enumerate(scales):
            maps[s, i] = occlusion_map(
                filled, image, patch, occlusion_stride(side, patch), np.nan, int(classes[i])
            ).heat
    return scaled(np.mean([scaled(m) for m in maps], axis=0))


def integrated_gradients(
    model: keras.Model,
    images: np.ndarray,
    classes: np.ndarray,
    steps: int = 32,
    baseline: np.ndarray | None = None,
) -> np.ndarray:
    """Integrated gradients from the baseline: (input - baseline) times the mean gradient
    along the straight path (midpoint rule), summed over colour channels."""
    run = engine(model)
    baseline = np.zeros_like(images) if baseline is None else baseline
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)[:, None, None, None]
    maps = np.zeros(images.shape[:3], np.float32)
    for i, (image, ground) in enumerate(zip(images, baseline, strict=True)):
        path = ground + alphas * (image - ground)
        _, grads = run.gradients(path, np.full(steps, classes[i]))
        maps[i] = ((image - ground) * grads.mean(axis=0)).sum(axis=-1)
    return scaled(maps)


def smoothgrad(
    model: keras.Model,
    images: np.ndarray,
    classes: np.ndarray,
    baseline: np.ndarray | None = None,
    times_input: bool = False,
    samples: int = 25,
    noise: float = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """SmoothGrad: the mean gradient of noisy copies (noise: its spread as a share of the
    image's range). Plain: its magnitude; times_input: times (input - baseline), signed."""
    run = engine(model)
    baseline = np.zeros_like(images) if baseline is None else baseline
    rng = np.random.default_rng(seed)
    maps = np.zeros(images.shape[:3], np.float32)
    for i, (image, ground) in enumerate(zip(images, baseline, strict=True)):
        sigma = noise * float(image.max() - image.min() or 1.0)
        noisy = image + rng.normal(0.0, sigma, (samples, *image.shape)).astype(np.float32)
        _, grads = run.gradients(noisy, np.full(samples, classes[i]))
        if times_input:
            maps[i] = ((image - ground) * grads).mean(axis=0).sum(axis=-1)
        else:
            maps[i] = np.abs(grads).mean(axis=0).sum(axis=-1)
    return scaled(maps)


@dataclass(frozen=True)
class Method:
    """A saliency method: its function, whether it takes the background, and what it shows."""

    function: Callable[..., np.ndarray]
    uses_background: bool
    description: str


METHODS: dict[str, Method] = {
    "gradcam": Method(gradcam, False, "Grad-CAM: the feature maps the class's gradient favours"),
    "gradcam_pp": Method(gradcam_pp, False, "Grad-CAM++: Grad-CAM with second-order weights"),
    "scorecam": Method(scorecam, True, "Score-CAM: how much each feature map's mask keeps"),
    "rise": Method(rise, True, "RISE: the probability of randomly masked copies"),
    "occlusion": Method(occlusion, True, "occlusion: the probability lost covering each place"),
    "integrated_gradients": Method(
        integrated_gradients, True, "integrated gradients from the background"
    ),
    "smoothgrad": Method(smoothgrad, True, "SmoothGrad: gradients of noisy copies"),
}


# each kind's default map and its parameters, chosen by bench/bench_saliency.py (see
# bench/saliency_results.md): the method that passed both tests on that kind's shipped runs
DEFAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "digits": ("rise", {"masks": 1000, "grid": 10, "keep": 0.5}),
    "grayscale": ("rise", {"masks": 1000, "grid": 7, "keep": 0.5}),
    "photos": ("smoothgrad", {"samples": 25, "noise": 0.15, "times_input": True}),
}


def method_named(name: str) -> Method:
    """The method called `name` (a key of `METHODS`).

    Raises:
        ExplainError: naming the methods there are, when there is none called `name`.
    """
    if name not in METHODS:
        raise ExplainError(
            tr("Unknown saliency method {name}; choose from {known}.").format(
                name=repr(name), known=", ".join(METHODS)
            )
        )
    return METHODS[name]


def saliency(
    model: keras.Model,
    images: np.ndarray,
    method: str,
    classes: np.ndarray | None = None,
    kind: str = "digits",
    **params: Any,
) -> np.ndarray:
    """Maps (n, h, w) in [0, 1] of one method for a batch (higher = mattered more).

    Args:
        model: a Keras classifier ending in a softmax layer named `OUTPUT_LAYER`.
        images: float32 (n, h, w, c) in [0, 1].
        method: a key of `METHODS`.
        classes: the class to explain per image; None: each image's top class.
        kind: the run's kind of images ("digits", "grayscale", "photos"): the background.
        params: the method's own parameters (layer, scales, masks, steps...).

    Raises:
        ExplainError: an unknown method or layer, or Grad-CAM on a model without one.
    """
    chosen = method_named(method)
    images, classes = with_classes(model, images, classes)
    if chosen.uses_background:
        params = {"baseline": background(images, kind), **params}
    return chosen.function(model, images, classes, **params)
