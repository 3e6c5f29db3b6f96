"""Training: a typed config, `train()` running Keras `fit`, `TrainingJob` in a background thread.

`train(config, events, stop)` loads the dataset, builds the model from its spec, fits it with
callbacks that report batch and epoch events, obey a stop flag and guard against NaN,
evaluates on the test split and saves the run atomically. `TrainingJob` runs the same
function in a worker thread so a Streamlit page can poll it (`drain()`) without ever
blocking, and `TrainingSlots` caps how many jobs train at once on one server.

Example:
    >>> config = TrainConfig(dataset="mnist", arch="modern_cnn", epochs=1, max_samples=2000)
    >>> result = train(config, events=print)
    >>> result.test_accuracy
"""

from cnn.errors import TrainingError
from cnn.training.config import (
    PRESETS,
    TrainConfig,
    estimate_memory,
    input_shape_for,
    memory_budget,
    preprocessing_for,
    preset_settings,
)
from cnn.training.events import StopTraining, TrainingEvent, TrainResult

# the loop and the jobs are imported when first used: they import cnn.artifacts, which imports
# cnn.record, which imports cnn.training.config; importing them here made `import cnn.record`
# on its own fail on that circle
_LAZY = {
    "SLOTS": "jobs", "TrainingJob": "jobs", "TrainingSlots": "jobs", "training_backend": "jobs",
    "Prepared": "loop", "prepare": "loop", "train": "loop",
}  # fmt: skip


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'cnn.training' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"cnn.training.{_LAZY[name]}"), name)
    globals()[name] = value
    return value

# what the pages, the CLI, the tests and docs/ENGINE_API.md use from the package; the rest of
# each module (the config's option lists, the loop's limits) is imported from that module
__all__ = [
    "PRESETS", "SLOTS", "Prepared", "StopTraining", "TrainConfig", "TrainResult",
    "TrainingError", "TrainingEvent", "TrainingJob", "TrainingSlots", "estimate_memory",
    "input_shape_for", "memory_budget", "preprocessing_for", "preset_settings", "prepare",
    "train", "training_backend",
]  # fmt: skip
