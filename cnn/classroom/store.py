"""The class board's operations: create, join, share, submit, show, remove, delete.

`ClassStore` is the one way into the class tables. A class is found by its code's digest
(`keys.code_digest`); what a teacher may do needs the teacher key (checked against its
scrypt hash in constant time); what a student may do needs the `Member` that joining gave,
and is checked again against the database each time (a removed student is told so). Every
value a person typed is bound as a parameter and stored as the text it was.

Example:
    >>> store = ClassStore()                      # CNN_DB_URL, else ~/.cnn_lab/class.db
    >>> made = store.create("7B maths")
    >>> amy = store.join(made.code, "Amy", session="browser-1")
    >>> store.share(amy, "artifacts/20261124-133544-mnist-vgg_wide-bf0813")
    >>> store.show(made.code, made.teacher_key).runs[0].dataset
    'mnist'
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker, undefer

from cnn import artifacts, i18n, settings
from cnn.classroom import database, keys
from cnn.classroom.errors import ClassError
from cnn.classroom.limits import ClassLimits, JoinLimiter
from cnn.classroom.models import (
    NAME_CHARS,
    NICK_CHARS,
    Classroom,
    SharedRun,
    Student,
    Submission,
)
from cnn.classroom.pictures import wall_png
from cnn.classroom.rows import Board, Member, NewClass, RunRow, StudentRow, SubmissionRow
from cnn.classroom.run_cache import run_digest
from cnn.i18n import N_, tr

NO_CLASS = N_("No class has that code: check it with your teacher.")
WRONG_KEY = N_("That teacher key does not open this class.")
NICKNAME_TAKEN = N_("Someone in this class has that nickname already: choose another.")
# what is typed -> (empty, too long, control characters): one whole sentence each
TYPED = {
    "class name": (
        N_("Give a class name."),
        N_("A class name has at most {most} characters."),
        N_("A class name cannot hold control characters."),
    ),
    "nickname": (
        N_("Give a nickname."),
        N_("A nickname has at most {most} characters."),
        N_("A nickname cannot hold control characters."),
    ),
    "label": (
        N_("Give a label."),
        N_("A label has at most {most} characters."),
        N_("A label cannot hold control characters."),
    ),
}
REMOVED = {  # a removed kind -> the sentence when it is not in the class
    "student": N_("This student is not in the class (removed already?)."),
    "run": N_("This run is not in the class (removed already?)."),
    "submission": N_("This submission is not in the class (removed already?)."),
}


def typed_text(value: object, what: str, most: int) -> str:
    """What a person typed, as stored: stripped, one line, at most `most` characters, no
    control characters; otherwise a sentence naming `what` (a key of TYPED)."""
    empty, too_long, control = TYPED[what]
    text = " ".join(str(value or "").split())
    if not text:
        raise ClassError(tr(empty))
    if len(text) > most:
        raise ClassError(tr(too_long).format(most=i18n.number(most)))
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text):
        raise ClassError(tr(control))
    return text


@dataclass
class ClassStore:
    """The class tables of the database at `url` (default: CNN_DB_URL's).

    Args:
        url: an SQLAlchemy URL; None reads `settings.current().db_url`.
        limits: what one class may hold.
        joins: the rate limit on joining (one per server: keep one store per server).
    """

    url: str | None = None
    limits: ClassLimits = field(default_factory=ClassLimits)
    joins: JoinLimiter = field(default_factory=JoinLimiter)

    def __post_init__(self) -> None:
        self.url = self.url or settings.current().db_url
        self.sessions = sessionmaker(database.engine_for(self.url), expire_on_commit=False)

    def __repr__(self) -> str:
        return f"ClassStore({self.sessions.kw['bind'].url.render_as_string()!r})"

    # --- classes -------------------------------------------------------------------------

    def create(self, name: str) -> NewClass:
        """A new class: its code (for the board) and teacher key (shown once, kept hashed)."""
        name = typed_text(name, "class name", NAME_CHARS)
        key = keys.new_teacher_key()
        salt, key_hash = keys.hash_key(key)
        for _ in range(5):  # a code already taken (one in millions) gets another
            code = keys.new_code()
            try:
                with self.sessions.begin() as db:
                    row = Classroom(code_digest=keys.code_digest(code), name=name)
                    row.key_salt, row.key_hash = salt, key_hash
                    db.add(row)
                return NewClass(name=name, code=code, teacher_key=key)
            except IntegrityError:
                continue
        raise ClassError(tr("No free class code was found: try again."))

    def show(self, code: str, teacher_key: str) -> Board:
        """Everything in a class, for its teacher: students, shared runs, submissions.

        Raises:
            ClassError: no such class, or a wrong key (one sentence, nothing else).
        """
        with self.sessions() as db:
            room = self._teacher_class(db, code, teacher_key)
            students = db.scalars(select(Student).where(Student.class_id == room.id)).all()
            runs = db.scalars(
                select(SharedRun).where(SharedRun.class_id == room.id).order_by(SharedRun.id)
            ).all()
            pictures = db.scalars(
                select(Submission).where(Submission.class_id == room.id).order_by(Submission.id)
            ).all()
            names = {s.id: s.nickname for s in students}
            return Board(
                class_id=room.id,
                name=room.name,
                code=keys.normal_code(code),
                students=[
                    StudentRow.of(
                        s,
                        sum(r.student_id == s.id for r in runs),
                        sum(p.student_id == s.id for p in pictures),
                    )
                    for s in sorted(students, key=lambda s: s.id)
                ],
                runs=[RunRow.of(r, names[r.student_id]) for r in runs],
                submissions=[SubmissionRow.of(p, names[p.student_id]) for p in pictures],
                teacher=True,
            )

    def delete(self, code: str, teacher_key: str) -> str:
        """Delete a class and everything in it; returns its name."""
        with self.sessions.begin() as db:
            room = self._teacher_class(db, code, teacher_key)
            for table in (Submission, SharedRun, Student):
                db.execute(delete(table).where(table.class_id == room.id))
            db.delete(room)
            return room.name

    def remove(self, code: str, teacher_key: str, kind: str, item_id: int) -> None:
        """The teacher removes one "student" (with their runs and pictures), "run" or
        "submission" of the class."""
        table = {"student": Student, "run": SharedRun, "submission": Submission}.get(kind)
        if table is None:
            raise ClassError(
                tr("Only a student, a run or a submission can be removed, not {kind}.").format(
                    kind=kind
                )
            )
        with self.sessions.begin() as db:
            room = self._teacher_class(db, code, teacher_key)
            if kind == "student":
                for owned in (Submission, SharedRun):
                    db.execute(
                        delete(owned).where(owned.student_id == item_id, owned.class_id == room.id)
                    )
            gone = db.execute(delete(table).where(table.id == item_id, table.class_id == room.id))
            if gone.rowcount == 0:
                raise ClassError(tr(REMOVED[kind]))

    # --- students ------------------------------------------------------------------------

    def join(self, code: str, nickname: str, session: str) -> Member:
        """A student joins a class with its code and a nickname unique in the class.

        `session` names the browser session (or script) for the rate limit on joining.
        """
        self.joins.check(session)
        nickname = typed_text(nickname, "nickname", NICK_CHARS)
        try:
            with self.sessions.begin() as db:
                room = self._class(db, code)
                if self._student(db, room.id, nickname) is not None:
                    raise ClassError(tr(NICKNAME_TAKEN))
                return self._add_student(db, room, nickname, code)
        except IntegrityError:  # another session took the nickname a moment ago
            raise ClassError(tr(NICKNAME_TAKEN)) from None

    def member(self, code: str, nickname: str) -> Member:
        """The student of that nickname, joining them first if new (the command line's way:
        `class share CODE --student NICK`)."""
        nickname = typed_text(nickname, "nickname", NICK_CHARS)
        with self.sessions.begin() as db:
            room = self._class(db, code)
            found = self._student(db, room.id, nickname)
            if found is not None:
                return Member(room.id, found.id, found.nickname, room.name, keys.normal_code(code))
            return self._add_student(db, room, nickname, code)

    def share(self, member: Member, run_dir: str | Path) -> RunRow:
        """Store a run whole (run.json, model.keras and its familiarity.npz if it has one) in
        the class; sharing the same run twice keeps one copy."""
        run_dir = Path(run_dir)
        info = artifacts.read_run_info(run_dir)
        if not info.ok:
            raise ClassError(tr("This run cannot be shared: {reason}").format(reason=info.error))
        check = run_dir / artifacts.OOD_FILE
        kept = [artifacts.RECORD_FILE, artifacts.MODEL_FILE] + [check.name] * check.is_file()
        size = sum((run_dir / f).stat().st_size for f in kept)
        with self.sessions.begin() as db:
            self._check_member(db, member)
            count, used = db.execute(
                select(func.count(SharedRun.id), func.coalesce(func.sum(SharedRun.size), 0)).where(
                    SharedRun.class_id == member.class_id
                )
            ).one()
            self.limits.check_run(count, used, size)
            record = (run_dir / artifacts.RECORD_FILE).read_text(encoding="utf-8")
            model = (run_dir / artifacts.MODEL_FILE).read_bytes()
            familiarity = check.read_bytes() if check.is_file() else None
            digest = run_digest(record.encode(), model, familiarity)
            row = db.scalars(
                select(SharedRun).where(
                    SharedRun.student_id == member.student_id, SharedRun.digest == digest
                )
            ).first()
            if row is None:
                row = SharedRun(
                    class_id=member.class_id,
                    student_id=member.student_id,
                    dataset=info.record.dataset.key,
                    arch=info.record.arch_name,
                    title=info.title[: 2 * NAME_CHARS],
                    trained=info.created,
                    test_accuracy=info.record.test.accuracy,
                    size=len(record.encode("utf-8")) + len(model) + len(familiarity or b""),
                    digest=digest,
                    record_json=record,
                    model=model,
                    familiarity=familiarity,
                )
                db.add(row)
                db.flush()
            return RunRow.of(row, member.nickname)

    def submit(self, member: Member, picture, label: str, drawn: bool) -> SubmissionRow:
        """Put a picture (an image file's bytes, a path or an array) on the class wall with
        the label it should have; the same picture and label twice is kept once."""
        label = typed_text(label, "label", NICK_CHARS)
        png = wall_png(picture)
        digest = hashlib.sha256(png + b"\0" + label.encode()).hexdigest()
        with self.sessions.begin() as db:
            self._check_member(db, member)
            count = db.scalar(
                select(func.count(Submission.id)).where(Submission.class_id == member.class_id)
            )
            row = db.scalars(
                select(Submission).where(
                    Submission.student_id == member.student_id, Submission.digest == digest
                )
            ).first()
            if row is None:
                self.limits.check_submission(count, len(png))
                row = Submission(
                    class_id=member.class_id,
                    student_id=member.student_id,
                    label=label,
                    drawn=bool(drawn),
                    size=len(png),
                    digest=digest,
                    image=png,
                )
                db.add(row)
                db.flush()
            return SubmissionRow.of(row, member.nickname)

    def student_view(self, member: Member) -> Board:
        """What a student sees: their own runs and submissions, and the whole class wall
        (each picture with who gave it and its label); never another class."""
        with self.sessions() as db:
            self._check_member(db, member)
            runs = db.scalars(
                select(SharedRun)
                .where(SharedRun.student_id == member.student_id)
                .order_by(SharedRun.id)
            ).all()
            wall = db.execute(
                select(Submission, Student.nickname)
                .join(Student, Student.id == Submission.student_id)
                .where(Submission.class_id == member.class_id)
                .order_by(Submission.id)
            ).all()
            return Board(
                class_id=member.class_id,
                name=member.class_name,
                code=member.code,
                students=[],
                runs=[RunRow.of(r, member.nickname) for r in runs],
                submissions=[SubmissionRow.of(s, nick) for s, nick in wall],
            )

    def student_runs(self, member: Member) -> Board:
        """A student's own shared runs, rows only (no model bytes, no wall): what a model
        picker lists on every rerun; never another student's, never another class's.

        Raises:
            ClassError: the student is no longer in the class.
        """
        with self.sessions() as db:
            self._check_member(db, member)
            runs = self._run_rows(db, member.class_id, member.student_id)
        return Board(member.class_id, member.class_name, member.code, runs=runs)

    def teacher_runs(self, seen: Board) -> Board:
        """Every shared run of the class of `seen`, read again now, rows only: a teacher's
        model picker. `seen` must be a Board from `show` (the teacher key was checked then;
        it is not hashed again on every rerun).

        Raises:
            ClassError: `seen` is not a teacher's board, or the class is gone.
        """
        if not seen.teacher:
            raise ClassError(tr("Only the teacher's board lists the whole class's runs."))
        with self.sessions() as db:
            if db.get(Classroom, seen.class_id) is None:
                raise ClassError(tr("This class is gone (deleted by its teacher)."))
            runs = self._run_rows(db, seen.class_id)
        return Board(seen.class_id, seen.name, seen.code, runs=runs, teacher=True)

    # --- the stored things -----------------------------------------------------------------

    def pictures(self, seen: Board, ids: list[int]) -> dict[int, bytes]:
        """The PNGs of submissions `ids` of the class `seen` (a Board from `show` or
        `student_view`: only who may see the wall has one)."""
        with self.sessions() as db:
            rows = db.execute(
                select(Submission.id, Submission.image).where(
                    Submission.class_id == seen.class_id, Submission.id.in_(list(ids))
                )
            ).all()
            return {row.id: row.image for row in rows}

    def run_files(self, seen: Board, run_id: int) -> tuple[str, bytes, str, bytes | None]:
        """(run.json text, model.keras bytes, digest, familiarity.npz bytes or None) of a run
        of the class `seen` (a Board from `show`, or a student's own from `student_view`)."""
        allowed = {r.id for r in seen.runs}
        with self.sessions() as db:
            row = db.scalars(
                select(SharedRun)
                .options(undefer(SharedRun.record_json), undefer(SharedRun.model),
                         undefer(SharedRun.familiarity))  # fmt: skip
                .where(SharedRun.id == run_id, SharedRun.class_id == seen.class_id)
            ).first()
            if row is None or run_id not in allowed:
                raise ClassError(tr("This run is not in the class (removed?)."))
            return row.record_json, row.model, row.digest, row.familiarity

    # --- helpers -------------------------------------------------------------------------

    def _class(self, db: Session, code: str) -> Classroom:
        digest = keys.code_digest(code)
        room = db.scalars(select(Classroom).where(Classroom.code_digest == digest)).first()
        if room is None or not keys.same_digest(room.code_digest, digest):
            raise ClassError(tr(NO_CLASS))
        return room

    def _teacher_class(self, db: Session, code: str, teacher_key: str) -> Classroom:
        room = self._class(db, code)
        if not keys.key_matches(str(teacher_key or ""), room.key_salt, room.key_hash):
            raise ClassError(tr(WRONG_KEY))
        return room

    def _student(self, db: Session, class_id: int, nickname: str) -> Student | None:
        return db.scalars(
            select(Student).where(
                Student.class_id == class_id, Student.nickname_key == nickname.casefold()
            )
        ).first()

    def _run_rows(self, db: Session, class_id: int, student_id: int | None = None) -> list[RunRow]:
        """The shared runs of a class (of one student of it, with `student_id`) with their
        students' nicknames, oldest first; one query, the deferred bytes left unread."""
        query = (
            select(SharedRun, Student.nickname)
            .join(Student, Student.id == SharedRun.student_id)
            .where(SharedRun.class_id == class_id)
            .order_by(SharedRun.id)
        )
        if student_id is not None:
            query = query.where(SharedRun.student_id == student_id)
        return [RunRow.of(run, nick) for run, nick in db.execute(query).all()]

    def _add_student(self, db: Session, room: Classroom, nickname: str, code: str) -> Member:
        count = db.scalar(select(func.count(Student.id)).where(Student.class_id == room.id))
        self.limits.check_students(count)
        student = Student(class_id=room.id, nickname=nickname, nickname_key=nickname.casefold())
        db.add(student)
        db.flush()
        return Member(room.id, student.id, nickname, room.name, keys.normal_code(code))

    def _check_member(self, db: Session, member: Member) -> None:
        found = db.scalar(
            select(Student.id).where(
                Student.id == member.student_id, Student.class_id == member.class_id
            )
        )
        if found is None:
            raise ClassError(
                tr(
                    "You are no longer in this class (the teacher removed you or deleted the "
                    "class): join again."
                )
            )
