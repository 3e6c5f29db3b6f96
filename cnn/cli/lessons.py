"""`lessons`: the lessons this server offers, and `lessons check FILE` for a teacher's file.

`python -m cnn lessons --json` prints every lesson (built-in and CNN_LESSONS_DIR's) as
`[{"key", "title", "minutes", "steps": [{"title", "page", "question", "choices", "answer",
"reveal"}]}]`; a file with a mistake is one sentence on stderr and the others still print
(exit status 1). `python -m cnn lessons check FILE` exits 0 for a good file, and 2 with the
sentence naming the line for a bad one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cnn import i18n
from cnn.cli import CliError, print_json
from cnn.i18n import tr
from cnn.lessons import LessonFileError, load_library, read_lesson_file


def cmd_lessons(args) -> int:
    if args.action == "check":
        return _check(args)
    if args.file is not None:
        raise CliError(tr("'{word}' is not a lessons command: use 'lessons' or 'lessons check "
                          "FILE'.").format(word=args.file))  # fmt: skip
    library = load_library()
    plans = [plan.to_dict() for plan in library.lessons.values()]
    if args.json:
        print_json(plans)
    else:
        for plan in plans:
            revealed = sum(step["reveal"] is not None for step in plan["steps"])
            about = tr("{minutes} min  {steps} steps  {measured} measured").format(
                minutes=f"{plan['minutes']:>3}", steps=len(plan["steps"]), measured=revealed)
            print(f"{plan['key']:<24} {about}  {plan['title']}")  # fmt: skip
    for problem in library.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if library.problems else 0


def _check(args) -> int:
    if args.file is None:
        raise CliError(tr("Say which file to check: python -m cnn lessons check FILE."))
    path = Path(args.file)
    if not path.is_file():
        raise CliError(tr("There is no file {path}.").format(path=path))
    try:
        plan = read_lesson_file(path, "checked")
    except LessonFileError as err:
        raise CliError(f"{path.name}: {err}") from None
    if args.json:
        print_json(plan.to_dict())
    else:
        print(tr("{name} is a good lesson: '{title}', {steps} steps.").format(
            name=path.name, title=plan.title, steps=i18n.number(len(plan.steps))))
    return 0


def register(sub, common) -> None:
    """Add `lessons` and `lessons check FILE`."""
    p = sub.add_parser("lessons", parents=[common], help="list lessons, or check a lesson file")
    p.add_argument("action", nargs="?", choices=["check"], help="check one lesson file")
    p.add_argument("file", nargs="?", help="the lesson file to check")
    p.set_defaults(run=cmd_lessons, needs_tensorflow=False)
