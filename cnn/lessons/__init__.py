"""Lessons that teach themselves: lesson files (format), the lessons a server offers
(library) and what their predict-then-reveal questions measure on the student's run
(reveals). See docs/LESSONS.md for the file format."""

from cnn.lessons.format import LessonFileError, LessonPlan, Question, Step, parse_lesson
from cnn.lessons.library import Library, load_library, parse_upload, read_lesson_file
from cnn.lessons.reveals import REVEALS, Measured, RevealError, RunView, measure

__all__ = [
    "REVEALS",
    "LessonFileError",
    "LessonPlan",
    "Library",
    "Measured",
    "Question",
    "RevealError",
    "RunView",
    "Step",
    "load_library",
    "measure",
    "parse_lesson",
    "parse_upload",
    "read_lesson_file",
]
