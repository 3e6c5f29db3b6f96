"""What the class store hands out: plain dataclasses, never ORM objects (no session needed).

`Board.to_dict` is the JSON of `python -m cnn class show --json`. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field


def iso(when: dt.datetime | None) -> str:
    """A stored time as ISO 8601 in UTC (SQLite hands times back without their zone)."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class NewClass:
    """A class just made: the code for the board and the teacher key, shown once."""

    name: str
    code: str
    teacher_key: str


@dataclass(frozen=True)
class Member:
    """A student who joined a class: what their browser session keeps."""

    class_id: int
    student_id: int
    nickname: str
    class_name: str
    code: str


@dataclass(frozen=True)
class StudentRow:
    """A student as the teacher's board lists them."""

    id: int
    nickname: str
    joined: str
    runs: int
    submissions: int

    @classmethod
    def of(cls, student, runs: int, submissions: int) -> StudentRow:
        return cls(student.id, student.nickname, iso(student.joined), runs, submissions)


@dataclass(frozen=True)
class RunRow:
    """A shared run as listed: who, what it learned and how well (its files stay stored)."""

    id: int
    student: str
    dataset: str
    arch: str
    title: str
    test_accuracy: float | None
    trained: str
    shared: str
    bytes: int
    digest: str  # SHA-256 of run.json, model.keras (and familiarity.npz): a cache key

    @classmethod
    def of(cls, run, student: str) -> RunRow:
        return cls(
            run.id,
            student,
            run.dataset,
            run.arch,
            run.title,
            run.test_accuracy,
            run.trained,
            iso(run.shared),
            run.size,
            run.digest,
        )


@dataclass(frozen=True)
class SubmissionRow:
    """A picture on the class wall as listed (its PNG is read apart: `ClassStore.pictures`)."""

    id: int
    student: str
    label: str
    drawn: bool
    created: str
    bytes: int
    digest: str

    @classmethod
    def of(cls, picture, student: str) -> SubmissionRow:
        return cls(
            picture.id,
            student,
            picture.label,
            picture.drawn,
            iso(picture.created),
            picture.size,
            picture.digest,
        )


@dataclass(frozen=True)
class Board:
    """A class as one viewer may see it: the teacher everything (`ClassStore.show`), a
    student their own runs and the wall (`ClassStore.student_view`, no students).

    `teacher` is True only on a Board from `ClassStore.show` (the teacher key was given):
    `ClassStore.teacher_runs` lists the whole class's runs again for no other.
    """

    class_id: int
    name: str
    code: str
    students: list[StudentRow] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    teacher: bool = False

    def to_dict(self) -> dict:
        """{"name", "code", "students", "runs", "submissions"}: the `class show` JSON."""
        return {
            "name": self.name,
            "code": self.code,
            "students": [asdict(s) for s in self.students],
            "runs": [asdict(r) for r in self.runs],
            "submissions": [asdict(s) for s in self.submissions],
        }
