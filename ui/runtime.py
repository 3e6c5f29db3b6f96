"""Process-wide tuning for a Streamlit server that has Keras loaded.

After every script run Streamlit calls `keras.backend.clear_session()` when Keras is imported.
By default that runs a full garbage collection over the millions of objects TensorFlow creates
at import: about 250 ms holding the GIL, on every rerun of every session, while trainings run
in threads. Keras documents `clear_session(free_memory=False)` for callers that clear often;
once Keras is loaded, the alias Streamlit calls is pointed at exactly that (Keras' own global
state is still reset; Python's automatic collector still frees cycles).

This replaced a `gc.freeze()` after TensorFlow's import: freezing also froze the sessions
alive at that moment, so their trainings and models could never be collected.
"""

from __future__ import annotations

import sys

LIGHT = "_cnn_lab_light"  # marks the replacement, so it is installed once


def light_keras_clear_session() -> None:
    """Make `keras.backend.clear_session()` skip its full collection (once Keras is imported)."""
    keras = sys.modules.get("keras")
    backend = getattr(keras, "backend", None)
    if backend is None or getattr(backend.clear_session, LIGHT, False):
        return
    original = backend.clear_session

    def clear_session(free_memory: bool = False) -> None:
        original(free_memory=free_memory)

    setattr(clear_session, LIGHT, True)
    backend.clear_session = clear_session
