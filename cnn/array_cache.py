"""Arrays computed once and kept as .npz files in the cache folder ($CNN_CACHE_DIR, else
~/.cnn_lab/cache), named by a digest of everything they were computed from.

Honest keys: a key holds the inputs' own bytes (or a file's time and size) and the source
code of the modules that compute the arrays, so a changed picture, setting or function
computes afresh instead of reading an old answer. A cache that cannot be read or written
(a read-only home, a broken file) only costs the time to compute again.

Example:
    >>> path = cache_file("check-inputs", digest("mnist", {"image_size": [28, 28]}))
    >>> arrays = cached(path, lambda: {"x": np.zeros(3)})
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnn import settings


def cache_dir() -> Path:
    """The cache folder: $CNN_CACHE_DIR, else ~/.cnn_lab/cache (read per call)."""
    return settings.current().cache_dir


def digest(*parts) -> str:
    """A short sha256 of `parts`: arrays by their dtype, shape and bytes, bytes as they are,
    anything else as JSON (sorted keys)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:20]


def code_digest(*modules: str) -> str:
    """A digest of the named modules' source code (`cnn.foreign`, ...)."""
    return digest(*(inspect.getsource(importlib.import_module(name)) for name in modules))


def cache_file(prefix: str, key: str) -> Path:
    """The .npz path for arrays of kind `prefix` under `key`."""
    return cache_dir() / f"{prefix}-{key}.npz"


def cached(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays read from `path`, or computed and written there (atomically) when missing."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError):
        pass
    arrays = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(partial, **arrays)
        partial.replace(path)
    except OSError:
        pass
    return arrays
