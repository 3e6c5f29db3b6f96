"""How the fast MNIST recipe was found (issue 33): candidate networks in plain Keras, their
training images per second and their test accuracy after a given number of epochs.

Each argument is one run, `NAME:BATCH:JIT` (speed only: 10 warm-up steps, then 60 timed
ones) or `NAME:BATCH:JIT:EPOCHS:LR` (accuracy: Adam with a cosine schedule warming up over
the first 10% of the steps, then test accuracy on the official 10,000 digits). Names:
- `keras`: the keras-io example (two conv + pool blocks, dropout 0.5);
- `plain_A_B[_D]`: its blocks with A and B filters, no dropout, an optional dense layer of D;
- `c3_A_B_C`: three 'same' convs with batch norm, pooled after each;
- `s2_A_B_C[f]`: a 5x5 stride-2 stem, then two convs, batch norm (f: no last pooling).
Environment: SEED (default 0), LS (label smoothing, default 0), POLICY (a Keras dtype
policy such as mixed_bfloat16).

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. LS=0.1 python bench/fast_recipe_search.py \
        plain_32_64_128:128:0:2:0.005 keras:128:0
"""

from __future__ import annotations

import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from cnn import datasets

if os.environ.get("POLICY"):
    keras.mixed_precision.set_global_policy(os.environ["POLICY"])


def conv_bn(h, filters: int, kernel: int = 3, strides: int = 1):
    h = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(h)
    return layers.ReLU()(layers.BatchNormalization()(h))


def net(name: str) -> keras.Model:
    image = layers.Input((28, 28, 1))
    h = image
    numbers = [int(n) for n in name.rstrip("f").split("_")[1:]]
    if name == "keras" or name.startswith("plain"):
        a, b = (32, 64) if name == "keras" else numbers[:2]
        h = layers.MaxPooling2D()(layers.Conv2D(a, 3, activation="relu")(h))
        h = layers.Flatten()(layers.MaxPooling2D()(layers.Conv2D(b, 3, activation="relu")(h)))
        if name == "keras":
            h = layers.Dropout(0.5)(h)
        elif len(numbers) == 3:
            h = layers.Dense(numbers[2], activation="relu")(h)
    elif name.startswith("c3"):
        for filters in numbers:
            h = layers.MaxPooling2D()(conv_bn(h, filters))
        h = layers.Flatten()(h)
    elif name.startswith("s2"):
        a, b, c = numbers
        h = layers.MaxPooling2D()(conv_bn(conv_bn(h, a, 5, 2), b))
        h = conv_bn(h, c)
        h = layers.Flatten()(h if name.endswith("f") else layers.MaxPooling2D()(h))
    return keras.Model(image, layers.Dense(10, dtype="float32")(h))


def run(data, name: str, batch: int, jit: bool, epochs: float | None, lr: float) -> str:
    x, y, x_test, y_test = data
    keras.utils.set_random_seed(int(os.environ.get("SEED", "0")))
    model = net(name)
    steps = int((epochs or 1) * len(x) / batch)
    warm = steps // 10
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps - warm, warmup_target=lr, warmup_steps=warm
    )
    smoothing = float(os.environ.get("LS", "0"))
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    model.compile(keras.optimizers.Adam(schedule if epochs else lr), loss, jit_compile=jit)
    onehot = np.eye(10, dtype="float32")[y]
    batches = tf.data.Dataset.from_tensor_slices((x, onehot)).shuffle(60000, seed=0)
    batches = batches.batch(batch, drop_remainder=True).repeat().prefetch(4)
    if epochs is None:
        model.fit(batches, steps_per_epoch=10, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(batches, steps_per_epoch=60, epochs=1, verbose=0)
        speed = 60 * batch / (time.perf_counter() - start)
        return f"{name} b{batch} jit={jit}: {speed:.0f} img/s params={model.count_params()}"
    start = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = (model.predict(x_test, batch_size=1000, verbose=0).argmax(1) == y_test).mean()
    return (f"{name} b{batch} jit={jit} ep={epochs} lr={lr}: acc {accuracy:.4f} in "
            f"{seconds:.1f} s ({steps * batch / seconds:.0f} img/s)")  # fmt: skip


def main() -> None:
    mnist = datasets.load("mnist")
    data = (
        mnist.train.images.reshape(-1, 28, 28, 1).astype("float32") / 255.0,
        mnist.train.labels.astype("int32"),
        mnist.test.images.reshape(-1, 28, 28, 1).astype("float32") / 255.0,
        mnist.test.labels,
    )
    for spec in sys.argv[1:]:
        parts = spec.split(":")
        epochs, lr = (float(parts[3]), float(parts[4])) if len(parts) > 3 else (None, 0.003)
        print(run(data, parts[0], int(parts[1]), parts[2] == "1", epochs, lr), flush=True)


if __name__ == "__main__":
    main()
