"""Process-wide tuning for a Streamlit server that has TensorFlow loaded.

After every script run Streamlit lets Keras clear its session, which runs a full garbage
collection over the millions of objects TensorFlow creates at import. `gc.freeze()` moves
the objects alive at that moment into a permanent generation the collector skips, so each
rerun stays cheap. It is done once, as soon as TensorFlow is loaded: when the first model is
loaded, or at the start of the next script run (a page may end with `st.stop()`, so nothing
after `page.run()` is sure to run).
"""

from __future__ import annotations

import gc
import sys

_frozen = False


def freeze_after_heavy_imports() -> None:
    """Call `gc.freeze()` once, as soon as TensorFlow is imported."""
    global _frozen
    if not _frozen and "tensorflow" in sys.modules:
        gc.collect()
        gc.freeze()
        _frozen = True
