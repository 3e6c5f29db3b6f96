"""How much one class may hold, each limit with its sentence, and the rate limit on joining.

A class lives in a shared database (on Community Cloud, a small free one), so every class is
bounded: students, shared runs and their bytes, submissions and their bytes. Reaching a limit
is a `ClassError` saying which limit and what to do. Joining is rate-limited per browser
session (`JoinLimiter`): codes are short, so guessing them must be slow.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from cnn import i18n
from cnn.classroom.errors import ClassError
from cnn.i18n import tr

MB = 1024**2


@dataclass(frozen=True)
class ClassLimits:
    """The most one class holds (the defaults suit a class of 40 on a free database)."""

    students: int = 60
    runs: int = 80  # shared runs, all students together
    run_bytes: int = 25 * MB  # one shared run: run.json, model.keras and familiarity.npz
    runs_bytes: int = 400 * MB  # all shared runs of the class
    submissions: int = 400  # pictures on the wall
    submission_bytes: int = 2 * MB  # one picture, as stored (PNG)

    def check_students(self, count: int) -> None:
        """Refuse a new student when the class has `count` already."""
        if count >= self.students:
            raise ClassError(
                tr(
                    "This class is full ({students} students): ask your teacher to remove "
                    "someone who left, or to make a second class."
                ).format(students=i18n.number(self.students))
            )

    def check_run(self, count: int, used: int, size: int) -> None:
        """Refuse a run of `size` bytes when the class has `count` runs of `used` bytes."""
        if size > self.run_bytes:
            raise ClassError(
                tr(
                    "This run is {size} MB, more than the {most} MB a shared run may be: "
                    "share a smaller model."
                ).format(size=i18n.number(round(size / MB)), most=i18n.number(self.run_bytes // MB))
            )
        if count >= self.runs:
            raise ClassError(
                tr(
                    "The class has {count} shared runs, the most it keeps: ask your teacher to "
                    "remove some before sharing more."
                ).format(count=i18n.number(count))
            )
        if used + size > self.runs_bytes:
            raise ClassError(
                tr(
                    "The class's shared runs take {used} MB of the {most} MB it may use: ask "
                    "your teacher to remove some before sharing more."
                ).format(
                    used=i18n.number(round(used / MB)), most=i18n.number(self.runs_bytes // MB)
                )
            )

    def check_submission(self, count: int, size: int) -> None:
        """Refuse a picture of `size` bytes when the wall has `count` already."""
        if size > self.submission_bytes:
            raise ClassError(
                tr(
                    "This picture is {size} MB, more than the {most} MB a picture on the wall "
                    "may be."
                ).format(
                    size=i18n.number(size / MB, 1), most=i18n.number(self.submission_bytes // MB)
                )
            )
        if count >= self.submissions:
            raise ClassError(
                tr(
                    "The class wall is full ({pictures} pictures): ask your teacher to remove some."
                ).format(pictures=i18n.number(self.submissions))
            )


class JoinLimiter:
    """At most `attempts` joins per `window_s` seconds per session (a browser session's id).

    Kept in the server's memory (one server answers a class); sessions that have not tried
    for a window are forgotten, so it never grows past the sessions of the last minute.
    """

    def __init__(self, attempts: int = 5, window_s: float = 60.0):
        self.attempts, self.window_s = attempts, window_s
        self._tries: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JoinLimiter({self.attempts} per {self.window_s:g} s)"

    def check(self, session: str) -> None:
        """Count one join by `session`, or refuse it with a sentence when it tried too often."""
        now = time.monotonic()
        with self._lock:
            self._forget(now)
            tries = self._tries.setdefault(session, deque())
            if len(tries) >= self.attempts:
                wait = tries[0] + self.window_s - now
                raise ClassError(
                    tr(
                        "Too many tries to join: wait {seconds} s, then check the code with "
                        "your teacher."
                    ).format(seconds=i18n.number(round(wait)))
                )
            tries.append(now)

    def _forget(self, now: float) -> None:
        for session in list(self._tries):
            tries = self._tries[session]
            while tries and tries[0] <= now - self.window_s:
                tries.popleft()
            if not tries:
                del self._tries[session]
