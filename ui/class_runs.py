"""The class's shared runs in Predict's model picker: which ones this session may pick, how
they are labelled, and the picked one brought back from the class database.

A student who joined a class (`class_views.member`) may pick their own shared runs; a teacher
with the board open (`class_teacher.teacher`) every run of that class; nobody another
class's. The list is read again on every rerun, rows only (`ClassStore.student_runs`,
`ClassStore.teacher_runs`: no model bytes), so a run the teacher removes drops out at once.
Only a picked run's bytes are read, and only when this server has not unpacked that digest
yet (`cnn.classroom.run_cache`: CNN_CACHE_DIR/class_runs/<digest>); from then on it is a run
folder like any other, the session's active run. A session in no class never opens the
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cnn import i18n
from cnn.classroom import Board, ClassStore, RunRow, run_cache
from cnn.errors import CnnError
from cnn.i18n import tr
from ui import class_teacher, class_views, state

TOLD = "class_pick_told"  # what happened to the class run picked (not opened, gone), said once


@dataclass(frozen=True)
class SharedChoice:
    """A class's shared run as a model picker's option (its files stay in the database until
    it is picked)."""

    row: RunRow
    code: str

    @property
    def title(self) -> str:
        """A label told apart from the server's runs, e.g.
        "class 7KQ2MX · ana · mnist modern_cnn 98.9% · run 4"."""
        row, accuracy = self.row, self.row.test_accuracy
        model = f"{row.dataset} {row.arch}"
        if accuracy is not None:
            model += " " + i18n.percent(accuracy, 1)
        return tr("class {code} · {student} · {model} · run {id}").format(
            code=self.code, student=row.student, model=model, id=row.id
        )

    @property
    def folder(self) -> Path:
        """Where this run is (or will be) unpacked on this server."""
        return run_cache.folder_for(self.row.digest)


def _views(store: ClassStore) -> list[Board]:
    """The class runs this session may see: the student's own, the teacher's whole class."""
    views = []
    joined = class_views.member()
    if joined is not None:
        views.append(store.student_runs(joined))
    board = class_teacher.opened_board(store)
    if board is not None:
        views.append(store.teacher_runs(board))
    return views


def in_a_class() -> bool:
    """Whether this session joined a class or opened a class's board."""
    return class_views.member() is not None or class_teacher.teacher() is not None


def choices() -> list[SharedChoice]:
    """The class runs this session may pick, oldest first, each once; [] outside a class or
    when the class database cannot be read (the Class page says why)."""
    if not in_a_class():
        return []
    try:
        views = _views(class_views.server_store())
    except CnnError:
        return []
    found: dict[tuple[int, int], SharedChoice] = {}
    for view in views:
        for row in view.runs:
            found.setdefault((view.class_id, row.id), SharedChoice(row, view.code))
    return list(found.values())


def unpacked(choice: SharedChoice) -> Path:
    """The picked run's folder: unpacked already on this server, else read from the database
    (checked again that this session may see it) and unpacked.

    Raises:
        CnnError: the run is gone, damaged or refused (its sentence).
    """
    folder = run_cache.unpacked(choice.row.digest)
    if folder is not None:
        return folder
    store = class_views.server_store()
    for view in _views(store):
        if view.code == choice.code and any(r.id == choice.row.id for r in view.runs):
            return run_cache.cached_run(*store.run_files(view, choice.row.id))
    raise CnnError(tr("This class run is no longer there (the teacher removed it)."))


def pick(choice: SharedChoice) -> None:
    """Make a class run the active model (a picker's callback); a refusal is said by
    `told_ui` and the model stays as it was."""
    try:
        state.set_active_run(unpacked(choice))
    except CnnError as err:
        tell(tr("That class run could not be opened: {reason}").format(reason=err))


def tell(sentence: str) -> None:
    """Keep a sentence about the picked class run for `told_ui` (in the next run)."""
    st.session_state[TOLD] = sentence


def told_ui() -> None:
    """The sentence about the picked class run, once."""
    sentence = st.session_state.pop(TOLD, None)
    if sentence:
        st.warning(sentence, icon=":material/info:")


def is_class_run(path: str | Path) -> bool:
    """Whether `path` is a class run unpacked on this server (not one of the server's runs)."""
    return run_cache.is_unpacked_run(path)


def choice_for(path: str | Path, shared: list[SharedChoice]) -> SharedChoice | None:
    """The option of the unpacked class run at `path`, if this session may still pick it."""
    return next((c for c in shared if c.folder == Path(path)), None)
