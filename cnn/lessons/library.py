"""The lessons a server offers: the built-in ones in lessons/ and a teacher's own folder.

`load_library()` reads every `*.md` file of the repository's lessons/ folder and of the
folder `CNN_LESSONS_DIR` names (cnn.settings). A file with a mistake is left out with its
sentence in `Library.problems`; the others stay available. A teacher's file with the key
(file name) of a built-in lesson replaces it. Lessons are listed beginners' first, then by
their minutes.

Example:
    >>> library = load_library()
    >>> [plan.key for plan in library.lessons.values()], library.problems
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cnn import settings
from cnn.lessons.format import LEVELS, LessonFileError, LessonPlan, key_for, parse_lesson

BUILT_IN_DIR = Path(__file__).resolve().parents[2] / "lessons"
MAX_FILE_BYTES = 200_000  # a lesson is a page of text; a bigger file is refused


@dataclass
class Library:
    """Lessons by key, in the order listed, and one sentence per file left out."""

    lessons: dict[str, LessonPlan] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_lesson_file(path: Path, source: str = "built-in") -> LessonPlan:
    """One lesson file, read and checked.

    Raises:
        LessonFileError: the file cannot be read or has a mistake (one sentence, its line).
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LessonFileError(f"{path.name} is over {MAX_FILE_BYTES:,} bytes: too big "
                                  "to be a lesson.")  # fmt: skip
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LessonFileError(f"{path.name} cannot be read as a text file ({err}).") from None
    return parse_lesson(text, key_for(path.name), source)


def parse_upload(name: str, data: bytes) -> LessonPlan:
    """A lesson file a teacher uploaded (kept by the caller for their session only).

    Raises:
        LessonFileError: not UTF-8 text, too big, or a mistake in it.
    """
    if len(data) > MAX_FILE_BYTES:
        raise LessonFileError(f"{name} is over {MAX_FILE_BYTES:,} bytes: too big to be a lesson.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonFileError(f"{name} is not a text file (UTF-8 Markdown).") from None
    return parse_lesson(text, key_for(name), "uploaded")


def lesson_folders() -> list[tuple[Path, str]]:
    """(folder, what it is) of every folder lessons are read from, built-in first."""
    folders = [(BUILT_IN_DIR, "built-in")]
    own = settings.current().lessons_dir
    if own is not None:
        folders.append((own, "your folder"))
    return folders


def load_library() -> Library:
    """Every lesson of the built-in folder and of CNN_LESSONS_DIR, each file checked."""
    library = Library()
    for folder, source in lesson_folders():
        if not folder.is_dir():
            named = f" ({settings.LESSONS_DIR_ENV})" if source == "your folder" else ""
            library.problems.append(f"The lessons folder {folder}{named} does not exist or "
                                    "is not a folder.")  # fmt: skip
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                plan = read_lesson_file(path, source)
            except LessonFileError as err:
                library.problems.append(f"{path.name}: {err}")
                continue
            library.lessons[plan.key] = plan
    # beginners' lessons first, then by length: the order a class would take them
    ordered = sorted(
        library.lessons.values(), key=lambda p: (LEVELS.index(p.level), p.minutes, p.title)
    )
    library.lessons = {plan.key: plan for plan in ordered}
    return library
