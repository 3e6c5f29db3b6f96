"""The keras-io example "Simple MNIST convnet" (examples/vision/mnist_convnet.py, by
fchollet) as published, for `bench_time_to_accuracy.py` to time beside CNN Lab's recipe.

Three changes only, none to the model or its training:
- the data: the same four official MNIST IDX files CNN Lab reads ($CNN_DATA_DIR/mnist),
  instead of `keras.datasets.mnist.load_data()` downloading them (no network here);
- "until 99%": after each epoch the model is evaluated on the 10,000 test images (as the
  example does once at the end) and training stops at the first epoch that reaches 99.0%;
  the line printed last is `{"epoch", "test_accuracy"}` as JSON;
- `verbose=0`: no progress bar (printing it only costs the example time).

Run: CNN_DATA_DIR=/work/shared/data python bench/keras_mnist_convnet.py
"""

import gzip
import json
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

TARGET = 0.99


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as an array: magic, dims, then the bytes."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_data():
    folder = Path(os.environ.get("CNN_DATA_DIR", "../shared/data")) / "mnist"
    files = [folder / f"{name}.gz" for name in (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    )]  # fmt: skip
    x_train, y_train, x_test, y_test = (read_idx(f) for f in files)
    return (x_train, y_train), (x_test, y_test)


# ---- the example, as published ----
num_classes = 10
input_shape = (28, 28, 1)

(x_train, y_train), (x_test, y_test) = load_data()
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

batch_size = 128
epochs = 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])


# ---- until 99% on the test set (the bench's only addition) ----
class UntilTarget(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        self.epoch = epoch + 1
        if self.accuracy >= TARGET:
            self.model.stop_training = True


until = UntilTarget()
model.fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
    verbose=0, callbacks=[until],
)  # fmt: skip
print(json.dumps({"epoch": until.epoch, "test_accuracy": float(until.accuracy)}))
