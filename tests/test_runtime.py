"""ui.runtime: the clear_session Streamlit calls after every run, made light."""

from __future__ import annotations

import keras

from ui import runtime


def test_the_light_clear_session_still_resets_keras_global_state(monkeypatch):
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
