"""Process-wide tuning for a Streamlit server that has Keras loaded.

After every script run Streamlit calls `keras.backend.clear_session()` when Keras is imported.
By default that runs a full garbage collection over the millions of objects TensorFlow creates
at import, holding the GIL on every rerun of every session while trainings run in threads
(bench/README.md, "Figures cited in the code"). Keras documents
`clear_session(free_memory=False)` for callers that clear often; once Keras is loaded, the
alias Streamlit calls is pointed at exactly that (Keras' own global state is still reset;
Python's automatic collector still frees cycles).

This replaced a `gc.freeze()` after TensorFlow's import: freezing also froze the sessions
alive at that moment, so their trainings and models could never be collected.

Keras' clear_session also empties TensorFlow's kernel cache, and every op run after that
instantiates its kernel again (bench/README.md, "Streamlit reruns": the Data page's
augmentation). The replacement keeps the cache for KERNEL_CACHE_S between clears (what
Streamlit clears the session for is Keras' global state: layer name counters and the like),
so memory held by the kernels of models that were let go is still given back. Resetting
Keras' state without the kernel cache has no public way: `cnn.compat.reset_keras_state`.
`restore_keras_clear_session()` puts Keras' own function back.
"""

from __future__ import annotations

import sys
import time

from cnn import compat

LIGHT = "_cnn_lab_light"  # on the replacement: Keras' own clear_session, so it is installed once
KERNEL_CACHE_S = 300.0  # seconds between two clears of TensorFlow's kernel cache
_last_kernel_clear = [time.monotonic()]


def light_keras_clear_session() -> None:
    """Make `keras.backend.clear_session()` skip its full collection, and empty the kernel
    cache only every KERNEL_CACHE_S (once Keras is imported)."""
    keras = sys.modules.get("keras")
    backend = getattr(keras, "backend", None)
    if backend is None or getattr(backend.clear_session, LIGHT, None):
        return
    original = backend.clear_session

    def clear_session(free_memory: bool = False) -> None:
        if time.monotonic() - _last_kernel_clear[0] >= KERNEL_CACHE_S:
            _last_kernel_clear[0] = time.monotonic()
            original(free_memory=free_memory)
            return
        compat.reset_keras_state()

    setattr(clear_session, LIGHT, original)
    backend.clear_session = clear_session


def restore_keras_clear_session() -> None:
    """Put Keras' own `keras.backend.clear_session` back, if the light one is installed."""
    backend = getattr(sys.modules.get("keras"), "backend", None)
    original = getattr(getattr(backend, "clear_session", None), LIGHT, None)
    if original is not None:
        backend.clear_session = original
