"""`class create|share|submit|show|delete`: a class board from scripts (and for the tests).

    python -m cnn class create "7B maths" --json        # {"name", "code", "teacher_key"}
    python -m cnn class share CODE --student NICK --model RUN --json
    python -m cnn class submit CODE --student NICK IMAGE --label LABEL [--drawing] --json
    python -m cnn class show CODE --teacher-key KEY --json
    python -m cnn class delete CODE --teacher-key KEY

All of them read CNN_DB_URL (`cnn.settings`; default SQLite in ~/.cnn_lab/class.db). A
student named with --student who is not in the class yet joins it. A wrong key, an unknown
code or a full class is one sentence on stderr and exit status 2.
"""

from __future__ import annotations

from cnn import i18n
from cnn.cli import print_json
from cnn.i18n import tr, trn


def _store():
    from cnn.classroom import ClassStore

    return ClassStore()


def cmd_create(args) -> int:
    made = _store().create(args.name)
    if args.json:
        print_json({"name": made.name, "code": made.code, "teacher_key": made.teacher_key})
    else:
        print(tr("class {name}: code {code}").format(name=made.name, code=made.code))
        print(tr("teacher key (shown once, keep it): {key}").format(key=made.teacher_key))
    return 0


def cmd_share(args) -> int:
    store = _store()
    row = store.share(store.member(args.code, args.student), args.model)
    doc = {
        "run": row.id,
        "student": row.student,
        "dataset": row.dataset,
        "arch": row.arch,
        "test_accuracy": row.test_accuracy,
        "bytes": row.bytes,
    }
    print_json(doc) if args.json else print(
        tr("shared as run {id}: {title}").format(id=row.id, title=row.title)
    )
    return 0


def cmd_submit(args) -> int:
    from pathlib import Path

    from cnn.classroom import ClassError

    if not Path(args.image).is_file():
        raise ClassError(tr("{file} is not a file.").format(file=Path(args.image).name))
    store = _store()
    row = store.submit(store.member(args.code, args.student), args.image, args.label, args.drawing)
    doc = {"submission": row.id, "student": row.student, "label": row.label, "bytes": row.bytes}
    print_json(doc) if args.json else print(tr("on the wall as picture {id}").format(id=row.id))
    return 0


def cmd_show(args) -> int:
    board = _store().show(args.code, args.teacher_key)
    if args.json:
        print_json(board.to_dict())
        return 0
    students = trn("{n} student", "{n} students", len(board.students))
    print(
        tr("class {name} ({code}): {students}").format(
            name=board.name, code=board.code, students=students
        )
    )
    for run in board.runs:
        acc = "-" if run.test_accuracy is None else i18n.percent(run.test_accuracy, 1)
        print(
            "  "
            + tr("run {id}  {student}  {dataset}  {arch}  {accuracy}").format(
                id=run.id, student=run.student, dataset=run.dataset, arch=run.arch, accuracy=acc
            )
        )
    for pic in board.submissions:
        print(
            "  "
            + tr("picture {id}  {student}  label {label}").format(
                id=pic.id, student=pic.student, label=pic.label
            )
        )
    return 0


def cmd_delete(args) -> int:
    name = _store().delete(args.code, args.teacher_key)
    print_json({"deleted": name}) if args.json else print(
        tr("deleted class {name}").format(name=name)
    )
    return 0


def register(sub, common) -> None:
    """Add `class` with its five commands."""
    group = sub.add_parser("class", help=tr("a class board: create, share, submit, show, delete"))
    commands = group.add_subparsers(dest="class_command", required=True)
    p = commands.add_parser("create", parents=[common], help=tr("make a class"))
    p.add_argument("name")
    p.set_defaults(run=cmd_create)
    for name, run, helped in (
        ("share", cmd_share, tr("share a run")),
        ("submit", cmd_submit, tr("put a picture on the wall")),
    ):
        p = commands.add_parser(name, parents=[common], help=helped)
        p.add_argument("code")
        p.add_argument("--student", required=True, help=tr("nickname (joins when new)"))
        if name == "share":
            p.add_argument("--model", required=True, help=tr("run folder"))
        else:
            p.add_argument("image")
            p.add_argument("--label", required=True, help=tr("the class it should be"))
            p.add_argument("--drawing", action="store_true", help=tr("a canvas drawing"))
        p.set_defaults(run=run)
    for name, run, helped in (
        ("show", cmd_show, tr("the teacher's board")),
        ("delete", cmd_delete, tr("delete the class and all in it")),
    ):
        p = commands.add_parser(name, parents=[common], help=helped)
        p.add_argument("code")
        p.add_argument("--teacher-key", required=True)
        p.set_defaults(run=run)
    group.set_defaults(needs_tensorflow=False)
    for parser in commands.choices.values():
        parser.set_defaults(needs_tensorflow=False)
