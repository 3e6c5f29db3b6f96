"""The errors a user can meet. Each message is one sentence a student understands.

Every error the engine raises on purpose for a person to read derives from `CnnError`, so
a page or the CLI catches one class and shows its message; anything else is a bug and keeps
its traceback (in the server log, never on screen).
"""

from __future__ import annotations


class CnnError(Exception):
    """Base class: something a user did or has (a file, a setting, the data) that cannot work."""


class DatasetError(CnnError):
    """A dataset cannot be found, read or downloaded."""


class SpecError(CnnError, ValueError):
    """An architecture spec that cannot be built."""


class TrainingError(CnnError, RuntimeError):
    """A training that cannot start or cannot go on."""


class ArtifactError(CnnError, RuntimeError):
    """A run that cannot be written or read."""


class PreprocessError(CnnError, ValueError):
    """An input that cannot become a model input."""


class ExplainError(CnnError, ValueError):
    """A layer, channel or position that cannot be explained."""


class NothingDrawn(PreprocessError):
    """The canvas or photo holds no ink to read: nothing to predict yet."""


class SettingError(CnnError, ValueError):
    """An environment variable of CNN Lab holds a value it cannot have."""


class ExportError(CnnError, RuntimeError):
    """A run that cannot be exported in the format asked for (or failed its check)."""
