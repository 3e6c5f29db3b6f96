"""ui.runtime: the clear_session Streamlit calls after every run, made light, and put back."""

from __future__ import annotations

import keras
import pytest

from ui import runtime


@pytest.fixture
def own_clear_session(monkeypatch):
    """Keras' own clear_session for one test, whatever earlier tests left (an AppTest runs
    app.py, which installs the light one); the function found is put back afterwards."""
    monkeypatch.setattr(keras.backend, "clear_session", keras.backend.clear_session)
    runtime.restore_keras_clear_session()
    assert not hasattr(keras.backend.clear_session, runtime.LIGHT)
    yield


def test_the_light_clear_session_still_resets_keras_global_state(own_clear_session, monkeypatch):
    runtime.light_keras_clear_session()
    assert getattr(keras.backend.clear_session, runtime.LIGHT)
    first = keras.layers.Dense(2).name
    assert keras.layers.Dense(2).name != first  # Keras counts names up...
    keras.backend.clear_session()
    assert keras.layers.Dense(2).name == "dense"  # ...and the clear starts them again

    # the kernel cache is emptied too, once KERNEL_CACHE_S have passed since the last time
    monkeypatch.setattr(runtime, "KERNEL_CACHE_S", 0.0)
    before = runtime._last_kernel_clear[0]
    keras.backend.clear_session()
    assert runtime._last_kernel_clear[0] > before
    assert keras.layers.Dense(2).name == "dense"


def test_it_is_installed_once_and_taken_out_whole(own_clear_session):
    own = keras.backend.clear_session
    runtime.light_keras_clear_session()
    light = keras.backend.clear_session
    assert light is not own
    runtime.light_keras_clear_session()
    assert keras.backend.clear_session is light  # a second install changes nothing
    runtime.restore_keras_clear_session()
    assert keras.backend.clear_session is own
    runtime.restore_keras_clear_session()  # nothing to take out: no harm
    assert keras.backend.clear_session is own
