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

from cnn.cli import CliError, print_json
from cnn.lessons import LessonFileError, load_library, read_lesson_file


def cmd_lessons(args) -> int:
    if args.action == "check":
        return _check(args)
    if args.file is not None:
        raise CliError(f"'{args.file}' is not a lessons command: use 'lessons' or "
                       "'lessons check FILE'.")  # fmt: skip
    library = load_library()
    plans = [plan.to_dict() for plan in library.lessons.values()]
    if args.json:
        print_json(plans)
    else:
        for plan in plans:
            revealed = sum(step["reveal"] is not None for step in plan["steps"])
            print(f"{plan['key']:<24} {plan['minutes']:>3} min  {len(plan['steps'])} steps  "
                  f"{revealed} measured  {plan['title']}")  # fmt: skip
    for problem in library.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if library.problems else 0


def _check(args) -> int:
    if args.file is None:
        raise CliError("Say which file to check: python -m cnn lessons check FILE.")
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"There is no file {path}.")
    try:
        plan = read_lesson_file(path, "checked")
    except LessonFileError as err:
        raise CliError(f"{path.name}: {err}") from None
    if args.json:
        print_json(plan.to_dict())
    else:
        print(f"{path.name} is a good lesson: '{plan.title}', {len(plan.steps)} steps.")
    return 0


def register(sub, common) -> None:
    """Add `lessons` and `lessons check FILE`."""
    p = sub.add_parser("lessons", parents=[common], help="list lessons, or check a lesson file")
    p.add_argument("action", nargs="?", choices=["check"], help="check one lesson file")
    p.add_argument("file", nargs="?", help="the lesson file to check")
    p.set_defaults(run=cmd_lessons, needs_tensorflow=False)
