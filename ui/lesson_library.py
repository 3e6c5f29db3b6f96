"""The lessons this session can take: the server's (built-in and CNN_LESSONS_DIR's, read
again when a file changes, in the session's language: cnn.lessons.library) and the ones
uploaded in this session, which no one else sees."""

from __future__ import annotations

import streamlit as st

from cnn import i18n, lessons
from cnn.lessons import LessonPlan, Library
from cnn.lessons.library import lesson_folders

UPLOADS = "lesson-uploads"  # session key: key -> LessonPlan uploaded in this session


def _stamp(code: str) -> tuple:
    """Every lesson file's path, modification time and size (the English ones and those of
    language `code`): a changed file, a new file or another CNN_LESSONS_DIR reads the library
    again."""
    files = []
    for folder, _source in lesson_folders():
        if folder.is_dir():
            found = [*folder.glob("*.md"), *folder.glob(f"{code}/*.md")]
            for path in sorted(found):
                stat = path.stat()
                files.append((str(path), stat.st_mtime_ns, stat.st_size))
        else:
            files.append((str(folder), None, None))
    return tuple(files)


@st.cache_data(show_spinner=False, max_entries=8)
def _library(stamp: tuple, code: str) -> Library:
    return lessons.load_library(code)


def library() -> Library:
    """The server's lessons in this session's language and the sentences of the files left
    out."""
    code = i18n.language()
    return _library(_stamp(code), code)


def uploads() -> dict[str, LessonPlan]:
    """The lessons uploaded in this session (never shown to another session)."""
    return st.session_state.setdefault(UPLOADS, {})


def all_lessons() -> list[LessonPlan]:
    """Every lesson this session can take: this session's uploads first."""
    mine = uploads()
    return [*mine.values(), *(p for k, p in library().lessons.items() if k not in mine)]


def find(key: str) -> LessonPlan | None:
    """The lesson `key` (an upload of this session before the server's), or None."""
    return uploads().get(key) or library().lessons.get(key)
