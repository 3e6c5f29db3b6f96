"""The lessons a server offers: the built-in ones in lessons/ and a teacher's own folder.

`load_library()` reads every `*.md` file of the repository's lessons/ folder and of the
folder `CNN_LESSONS_DIR` names (cnn.settings). A file with a mistake is left out with its
sentence in `Library.problems`; the others stay available. A teacher's file with the key
(file name) of a built-in lesson replaces it. Lessons are listed beginners' first, then by
their minutes.

Lessons are translatable, one file per language: `lessons/zh/<key>.md` and
`lessons/es/<key>.md` beside the English `lessons/<key>.md` (a teacher's folder the same way:
`<folder>/zh/<key>.md`). The library is read in `cnn.i18n.language()`; a lesson with no file
in that language, or whose translation does not match its English file step for step (the
same steps, links, reveals, choices and answers), is the English one, its key listed in
`Library.untranslated`.

Example:
    >>> library = load_library()
    >>> [plan.key for plan in library.lessons.values()], library.problems
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cnn import i18n, settings
from cnn.i18n import tr
from cnn.lessons.format import LEVELS, LessonFileError, LessonPlan, key_for, parse_lesson

BUILT_IN_DIR = Path(__file__).resolve().parents[2] / "lessons"
MAX_FILE_BYTES = 200_000  # a lesson is a page of text; a bigger file is refused


@dataclass
class Library:
    """Lessons by key, in the order listed, and one sentence per file left out."""

    lessons: dict[str, LessonPlan] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    language: str = i18n.DEFAULT  # the language the lessons were read in
    untranslated: list[str] = field(default_factory=list)  # keys shown in English instead


def read_lesson_file(path: Path, source: str = "built-in") -> LessonPlan:
    """One lesson file, read and checked.

    Raises:
        LessonFileError: the file cannot be read or has a mistake (one sentence, its line).
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LessonFileError(
                tr("{name} is over {size} bytes: too big to be a lesson.").format(
                    name=path.name, size=i18n.number(MAX_FILE_BYTES)
                )
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LessonFileError(tr("{name} cannot be read as a text file ({err}).").format(
            name=path.name, err=err)) from None  # fmt: skip
    return parse_lesson(text, key_for(path.name), source)


def parse_upload(name: str, data: bytes) -> LessonPlan:
    """A lesson file a teacher uploaded (kept by the caller for their session only).

    Raises:
        LessonFileError: not UTF-8 text, too big, or a mistake in it.
    """
    if len(data) > MAX_FILE_BYTES:
        raise LessonFileError(tr("{name} is over {size} bytes: too big to be a lesson.").format(
            name=name, size=i18n.number(MAX_FILE_BYTES)))  # fmt: skip
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonFileError(tr("{name} is not a text file (UTF-8 Markdown).").format(
            name=name)) from None  # fmt: skip
    return parse_lesson(text, key_for(name), "uploaded")


def lesson_folders() -> list[tuple[Path, str]]:
    """(folder, what it is) of every folder lessons are read from, built-in first."""
    folders = [(BUILT_IN_DIR, "built-in")]
    own = settings.current().lessons_dir
    if own is not None:
        folders.append((own, "your folder"))
    return folders


def outline(plan: LessonPlan) -> list[tuple]:
    """What a translation must keep of its English file: per step its link, its reveal, how
    many choices and which is right (the words are the translator's)."""
    return [
        (step.query, step.question is not None,
         step.question.reveal if step.question else None,
         len(step.question.choices) if step.question else 0,
         step.question.answer if step.question else None)
        for step in plan.steps
    ]  # fmt: skip


def translation_problem(english: LessonPlan, translated: LessonPlan) -> str | None:
    """Why `translated` cannot stand in for `english` (one sentence), or None when it keeps
    the same steps, links, reveals, choices, answers, minutes and level."""
    if len(translated.steps) != len(english.steps):
        return tr("it has {n} steps, its English file {m}.").format(
            n=len(translated.steps), m=len(english.steps))  # fmt: skip
    for number, (mine, theirs) in enumerate(
        zip(outline(translated), outline(english), strict=True), 1
    ):
        if mine != theirs:
            return tr("its step {n} differs from the English file in its link, question, "
                      "reveal, choices or answer.").format(n=number)  # fmt: skip
    if (translated.minutes, translated.level) != (english.minutes, english.level):
        return tr("its minutes or level differ from the English file.")
    return None


def _translated(english: LessonPlan, folder: Path, code: str, library: Library) -> LessonPlan:
    """The lesson in language `code` from `folder/code/<key>.md`, else `english`."""
    path = folder / code / f"{english.key}.md"
    if not path.is_file():
        library.untranslated.append(english.key)
        return english
    try:
        plan = read_lesson_file(path, english.source)
        problem = translation_problem(english, plan)
    except LessonFileError as err:
        problem = str(err)
    if problem is None:
        return plan
    library.problems.append(f"{code}/{path.name}: {problem}")
    library.untranslated.append(english.key)
    return english


def load_library(code: str | None = None) -> Library:
    """Every lesson of the built-in folder and of CNN_LESSONS_DIR, each file checked, in
    language `code` (default: `cnn.i18n.language()`)."""
    library = Library(language=code or i18n.language())
    english_titles: dict[str, str] = {}  # the same order in every language
    for folder, source in lesson_folders():
        if not folder.is_dir():
            named = f" ({settings.LESSONS_DIR_ENV})" if source == "your folder" else ""
            library.problems.append(
                tr("The lessons folder {folder}{named} does not exist or is not a folder.").format(
                    folder=folder, named=named
                )
            )
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                plan = read_lesson_file(path, source)
            except LessonFileError as err:
                library.problems.append(f"{path.name}: {err}")
                continue
            library.untranslated = [k for k in library.untranslated if k != plan.key]
            english_titles[plan.key] = plan.title
            if library.language != i18n.DEFAULT:
                plan = _translated(plan, folder, library.language, library)
            library.lessons[plan.key] = plan
    # beginners' lessons first, then by length: the order a class would take them
    ordered = sorted(
        library.lessons.values(),
        key=lambda p: (LEVELS.index(p.level), p.minutes, english_titles[p.key]),
    )
    library.lessons = {plan.key: plan for plan in ordered}
    return library
