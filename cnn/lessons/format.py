"""The lesson file format: one Markdown file per lesson, read into a `LessonPlan`, checked.

A lesson file is YAML front matter (`title`, `minutes`, `level`, `summary`) between two `---`
lines, then one step per `## ` heading. In a step:

- a line that is a lesson-link query (`?page=predict&source=Draw`) sets the page up
  (read by `cnn.lesson.parse`, so a bad value is refused with the sentence a link gets);
- a blockquote starting `> Question:` is the step's question; a task list inside it gives the
  choices (`- [x]` the right one, `- [ ]` the others); its text after the list is shown with
  the answer;
- a line `reveal: NAME` (`cnn.lessons.reveals.REVEALS`) makes the question a
  predict-then-reveal measured on the student's own run;
- every other line is the step's text (Markdown).

A file with a mistake raises `LessonFileError` with one sentence naming the line. See
docs/LESSONS.md for a complete example.

Example:
    >>> plan = parse_lesson(Path("lessons/pooling-and-shift.md").read_text(), "pooling-and-shift")
    >>> plan.title, len(plan.steps), plan.steps[2].question.reveal
    ('Pooling and shift', 5, 'shift_flip')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from cnn import lesson as links
from cnn.errors import CnnError
from cnn.i18n import tr
from cnn.lessons.reveals import REVEALS

FIELDS = ("title", "minutes", "level", "summary")  # the front matter, all required
LEVELS = ("beginner", "intermediate", "advanced")
MAX_MINUTES = 180
CHOICE = re.compile(r"^[-*] \[([ xX])\]\s+(.+)$")
REVEAL = re.compile(r"^reveal:\s*(\S*)\s*$")


class LessonFileError(CnnError, ValueError):
    """A lesson file that cannot be used; the message names the line and what is wrong."""


@dataclass
class Question:
    """A step's question.

    Attributes:
        text: the question (Markdown).
        choices: the choices of a multiple-choice question, in the file's order (may be empty).
        answer: index of the right choice, or None without choices.
        explanation: shown with the answer (the text after the choices).
        reveal: a `REVEALS` name: the student predicts, then the run is measured; or None.
    """

    text: str
    choices: list[str] = field(default_factory=list)
    answer: int | None = None
    explanation: str = ""
    reveal: str | None = None


@dataclass
class Step:
    """One step of a lesson: its text, the page it sets up, and an optional question."""

    title: str
    text: str = ""
    query: str | None = None  # the lesson-link query as written ("page=predict&source=Draw")
    setup: links.Lesson | None = None  # that query read by cnn.lesson.parse
    question: Question | None = None
    line: int = 0  # the line of its heading

    @property
    def page(self) -> str | None:
        """The page the step opens ("predict", ...), or None: the Lessons page."""
        return self.setup.page if self.setup is not None else None


@dataclass
class LessonPlan:
    """A whole lesson read from its file."""

    key: str
    title: str
    minutes: int
    level: str
    summary: str
    steps: list[Step]
    source: str = "built-in"  # "built-in", "your folder" (CNN_LESSONS_DIR) or "uploaded"

    def to_dict(self) -> dict:
        """The lesson as `python -m cnn lessons --json` prints it."""
        return {
            "key": self.key,
            "title": self.title,
            "minutes": self.minutes,
            "level": self.level,
            "summary": self.summary,
            "source": self.source,
            "steps": [
                {
                    "title": s.title,
                    "page": s.page,
                    "question": s.question.text if s.question else None,
                    "choices": list(s.question.choices) if s.question else [],
                    "answer": s.question.answer if s.question else None,
                    "reveal": s.question.reveal if s.question else None,
                }
                for s in self.steps
            ],
        }


def key_for(name: str) -> str:
    """A lesson's key from its file name ("Pooling and Shift.md" -> "pooling-and-shift").

    Raises:
        LessonFileError: nothing of the name is left to make a key of.
    """
    stem = name.rsplit("/", 1)[-1].removesuffix(".md").removesuffix(".markdown")
    key = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")[:64]
    if not links.LESSON_KEY.match(key):
        raise LessonFileError(tr("The file name {name} has no letters or digits to name a "
                                 "lesson.").format(name=repr(name)))  # fmt: skip
    return key


def _fail(line: int, what: str) -> LessonFileError:
    return LessonFileError(tr("Line {line}: {what}").format(line=line, what=what))


def _front_matter(lines: list[str]) -> tuple[dict, int]:
    """(the front matter's fields, the index of the first body line)."""
    if not lines or lines[0].strip() != "---":
        raise _fail(1, tr("a lesson starts with front matter between two '---' lines "
                          "(title, minutes, level, summary)."))  # fmt: skip
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise _fail(1, tr("the front matter's closing '---' line is missing."))
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(err, "problem", None) or tr("it is not valid YAML")
        raise _fail(line, tr("the front matter cannot be read ({problem}).").format(
            problem=problem)) from None  # fmt: skip
    if not isinstance(meta, dict):
        raise _fail(2, tr("the front matter must be 'name: value' lines (title, minutes, "
                          "...)."))  # fmt: skip
    _check_fields(meta, lines[1:end])
    return meta, end + 1


def _field_line(front: list[str], name: str) -> int:
    """The file line of a front-matter field (2 when it is not found)."""
    return next((i + 2 for i, text in enumerate(front) if text.startswith(f"{name}:")), 2)


def _check_fields(meta: dict, front: list[str]) -> None:
    for name in meta:
        if name not in FIELDS:
            raise _fail(_field_line(front, str(name)), tr("'{name}' is not a front-matter "
                        "field: use {fields}.").format(name=name, fields=", ".join(FIELDS)))
    for name in FIELDS:
        if meta.get(name) in (None, ""):
            raise _fail(len(front) + 2, tr("the front matter has no '{name}' (it needs "
                        "{fields}).").format(name=name, fields=", ".join(FIELDS)))  # fmt: skip
    minutes = meta["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise _fail(_field_line(front, "minutes"), tr("minutes = {minutes} must be a whole "
                    "number from 1 to {most}.").format(minutes=repr(minutes), most=MAX_MINUTES))
    if str(meta["level"]).lower() not in LEVELS:
        raise _fail(_field_line(front, "level"), tr("level = {level} must be one of "
                    "{levels}.").format(level=repr(meta["level"]), levels=", ".join(LEVELS)))


def parse_lesson(text: str, key: str, source: str = "built-in") -> LessonPlan:
    """Read a lesson file.

    Args:
        text: the file's text.
        key: the lesson's key (`key_for` its file name).
        source: where it came from, shown beside it.

    Raises:
        LessonFileError: one sentence naming the line and what is wrong.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    meta, first = _front_matter(lines)
    steps: list[Step] = []
    reader: _StepReader | None = None
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.startswith("## "):
            if reader is not None:
                steps.append(reader.finish())
            reader = _StepReader(line[3:].strip(), number)
        elif reader is not None:
            reader.read(line, number)
        elif line.strip().startswith(("?", "> Question", "reveal:", "- [")):
            raise _fail(number, tr("this belongs in a step, but no step has started: each "
                        "step starts with a line '## Step title'."))  # fmt: skip
    if reader is not None:
        steps.append(reader.finish())
    if not steps:
        raise _fail(len(lines), tr("the lesson has no steps: each step starts with a line "
                    "'## Step title'."))  # fmt: skip
    return LessonPlan(key, str(meta["title"]).strip(), int(meta["minutes"]),
                      str(meta["level"]).lower(), str(meta["summary"]).strip(), steps,
                      source)  # fmt: skip


class _StepReader:
    """Collects one step's lines: text, its link, its question (a blockquote), its reveal."""

    def __init__(self, title: str, line: int) -> None:
        if not title:
            raise _fail(line, tr("a step heading '## ' needs a title after it."))
        self.step = Step(title, line=line)
        self.text: list[str] = []
        self.question: list[tuple[int, str]] | None = None  # the blockquote's lines
        self.reveal: tuple[int, str] | None = None
        self.in_quote = False

    def read(self, line: str, number: int) -> None:
        stripped = line.strip()
        if stripped.startswith(">"):
            inner = stripped[1:].strip()
            if inner.lower().startswith("question:") and self.question is None:
                self.question, self.in_quote = [(number, inner[len("question:") :].strip())], True
            elif self.in_quote and self.question is not None:
                self.question.append((number, inner))
            else:
                self.text.append(line)  # a blockquote of the text, not a question
            return
        self.in_quote = False
        if stripped.startswith("?") and len(stripped) > 1 and "=" in stripped:
            self._link(stripped[1:], number)
        elif REVEAL.match(stripped):
            self._reveal(REVEAL.match(stripped).group(1), number)
        elif CHOICE.match(stripped):
            raise _fail(number, tr("a choice ('- [x]' or '- [ ]') must be inside the "
                        "question's blockquote, its line starting with '> '."))  # fmt: skip
        else:
            self.text.append(line)

    def _link(self, query: str, number: int) -> None:
        if self.step.query is not None:
            raise _fail(number, tr("a step has one lesson link; this is its second."))
        setup = links.parse(links.query_params(query))
        if setup.problems:
            raise _fail(number, setup.problems[0])
        if setup.lesson_key is not None:
            raise _fail(number, tr("a step's link sets a page up; it cannot open a lesson "
                        "(lesson=)."))  # fmt: skip
        self.step.query, self.step.setup = query, setup

    def _reveal(self, name: str, number: int) -> None:
        if name not in REVEALS:
            raise _fail(number, tr("reveal: {name} is not one CNN Lab can measure: use one "
                        "of {names}.").format(name=name or tr("(nothing)"),
                                             names=", ".join(REVEALS)))  # fmt: skip
        if self.reveal is not None:
            raise _fail(number, tr("a step has one reveal; this is its second."))
        self.reveal = (number, name)

    def finish(self) -> Step:
        self.step.text = "\n".join(self.text).strip()
        if self.question is not None:
            self.step.question = _question(self.question, self.reveal)
        elif self.reveal is not None:
            raise _fail(self.reveal[0], tr("a reveal needs a question to answer first: add "
                        "a blockquote '> Question: ...' to the step."))  # fmt: skip
        return self.step


def _question(lines: list[tuple[int, str]], reveal: tuple[int, str] | None) -> Question:
    """A question from its blockquote's lines (without their '>')."""
    asked, explained, choices, answers = [], [], [], []
    for number, inner in lines:
        if inner.startswith("reveal:") and REVEAL.match(inner):
            raise _fail(number, tr("write 'reveal: NAME' on a line of its own, outside the "
                        "question's blockquote."))  # fmt: skip
        choice = CHOICE.match(inner)
        if choice:
            if explained and any(explained):
                raise _fail(number, tr("the choices must come one after another, before the "
                            "text shown with the answer."))  # fmt: skip
            if choice.group(1) in "xX":
                answers.append((number, len(choices)))
            choices.append(choice.group(2).strip())
        elif choices:
            explained.append(inner)
        else:
            asked.append(inner)
    first = lines[0][0]
    if not choices and "" in asked:  # a reveal's question: its first paragraph; then the
        blank = asked.index("")  # text shown with the measurement
        asked, explained = asked[:blank], asked[blank + 1 :]
    text = "\n".join(asked).strip()
    if not text:
        raise _fail(first, tr("the question has no text after 'Question:'."))
    if choices and len(choices) < 2:
        raise _fail(first, tr("a multiple-choice question needs at least two choices."))
    if choices and len(answers) != 1:
        where = answers[1][0] if len(answers) > 1 else first
        raise _fail(where, tr("mark exactly one choice right with '- [x]' (this question has "
                    "{count}).").format(count=len(answers)))  # fmt: skip
    if not choices and reveal is None:
        raise _fail(first, tr("the question has no choices ('> - [x] ...') and no 'reveal: "
                    "NAME', so there is nothing to answer."))  # fmt: skip
    answer = answers[0][1] if choices else None
    return Question(text, choices, answer, "\n".join(explained).strip(),
                    reveal[1] if reveal else None)  # fmt: skip
