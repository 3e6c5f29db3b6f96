"""The class board's tables, as SQLAlchemy 2.x ORM classes (Alembic's migrations create them).

A class has students; a student shares runs (run.json, model.keras and familiarity.npz stored
whole, so a run outlives the server's disk) and submits pictures to the class wall. Deleting a
class deletes everything in it, both by the ORM's cascade and by the database's ON DELETE
CASCADE. The large columns (a model's bytes, a picture's PNG) are deferred: listing a class
never reads them.

Everything a person typed (a class name, a nickname, a label) is a plain text column, only
ever bound as a query parameter, never part of SQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAME_CHARS = 60  # a class's name
NICK_CHARS = 40  # a nickname, and a submission's label
DIGEST_CHARS = 64  # a SHA-256 in hex


def utc_now() -> dt.datetime:
    """Now, in UTC (every time column holds UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """The metadata of every class-board table."""


class Classroom(Base):
    """A class: its name, the SHA-256 of its code and the scrypt hash of its teacher key."""

    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(DIGEST_CHARS), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_CHARS))
    key_salt: Mapped[bytes] = mapped_column(LargeBinary)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    students: Mapped[list[Student]] = relationship(
        back_populates="classroom", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Classroom({self.id}, {self.name!r})"


class Student(Base):
    """A student of one class, known by a nickname unique (ignoring case) within it."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("class_id", "nickname_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    nickname: Mapped[str] = mapped_column(String(NICK_CHARS))
    nickname_key: Mapped[str] = mapped_column(String(3 * NICK_CHARS))  # casefolded: unique
    joined: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    classroom: Mapped[Classroom] = relationship(back_populates="students")
    runs: Mapped[list[SharedRun]] = relationship(
        back_populates="student", cascade="all, delete-orphan", passive_deletes=True
    )
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="student", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Student({self.id}, {self.nickname!r})"


class SharedRun(Base):
    """A run a student shared: what the board lists, and the run itself (run.json, model.keras,
    and familiarity.npz, the unfamiliar-input check's arrays, when it has one)."""

    __tablename__ = "shared_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    dataset: Mapped[str] = mapped_column(String(NAME_CHARS))
    arch: Mapped[str] = mapped_column(String(NAME_CHARS))
    title: Mapped[str] = mapped_column(String(2 * NAME_CHARS))
    test_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    trained: Mapped[str] = mapped_column(String(40))  # the run's own ISO save time
    shared: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    size: Mapped[int] = mapped_column(Integer)  # bytes of run.json + model.keras (+ familiarity)
    digest: Mapped[str] = mapped_column(String(DIGEST_CHARS))  # SHA-256 of them: the run's stamp
    record_json: Mapped[str] = mapped_column(Text, deferred=True)
    model: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # familiarity.npz, the unfamiliar-input check's arrays (migration 0002; None before it)
    familiarity: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, nullable=True)
    student: Mapped[Student] = relationship(back_populates="runs")

    def __repr__(self) -> str:
        return f"SharedRun({self.id}, {self.dataset}/{self.arch}, {self.test_accuracy})"


class Submission(Base):
    """A picture on the class wall: the student's drawing or photo (PNG) and its label."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(NICK_CHARS))
    drawn: Mapped[bool] = mapped_column(Boolean)  # a canvas drawing (else a photo or file)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(DIGEST_CHARS))
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    student: Mapped[Student] = relationship(back_populates="submissions")

    def __repr__(self) -> str:
        return f"Submission({self.id}, {self.label!r})"
