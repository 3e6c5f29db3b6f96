"""The one error of the class board: a sentence for the teacher or the student who met it."""

from __future__ import annotations

from cnn.errors import CnnError


class ClassError(CnnError, ValueError):
    """A class operation that cannot be done (no such class, a wrong key, a limit reached)."""
