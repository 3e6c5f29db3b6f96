"""How many CPU threads TensorFlow may use in a process that only trains (a Ray task, or a
training's child process): `limit_threads(n)`, called before TensorFlow's first operation."""

from __future__ import annotations


def limit_threads(threads: float) -> None:
    """Let TensorFlow use `threads` threads for one operation and as many operations at once.

    Possible only before TensorFlow's first operation in this process; later calls keep the
    pools as they are. 0 (or less) keeps TensorFlow's default: one thread per core.
    """
    if threads <= 0:
        return
    import tensorflow as tf

    count = max(1, int(threads))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
    except RuntimeError:
        pass  # this process ran TensorFlow before: its thread pools are set already
