"""A class's shared runs in Predict's model picker (issue 30): a student who joined picks their
own, the teacher with the board open every run of the class, nobody another class's; a picked
run is read from the database once, unpacked, and predicts as the run it was (checked against
Keras); a run the teacher removes falls back to the default model with one sentence.

Real SQLite in a temporary folder (the listing also on PostgreSQL when CI starts one, as in
test_classroom.py); the shared tiny run (tests/conftest.py) and the shipped runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import drawn_one, open_page
from sqlalchemy import event, update
from test_classroom import db_url  # noqa: F401 (a fixture: SQLite; PostgreSQL in CI)

from cnn import artifacts
from cnn.classroom import ClassError, ClassStore, database, run_cache
from cnn.classroom.models import SharedRun
from ui import class_runs, class_teacher, class_views, state

CLASS_PAGE, PREDICT = "app_pages/class_board.py", "app_pages/predict.py"


@pytest.fixture
def classroom(monkeypatch, tmp_path, offline):
    """A fresh class database and run cache; the server's runs are the shipped ones."""
    url = f"sqlite:///{tmp_path / 'class.db'}"
    monkeypatch.setenv("CNN_DB_URL", url)
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    class_views._store.clear()
    return ClassStore(url)


def shipped(dataset: str):
    return next(
        i
        for i in artifacts.list_runs([artifacts.shipped_dir()])
        if i.ok and i.record.dataset.key == dataset
    )


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def join(code: str, nickname: str):
    """A browser session that joined `code` on the Class page."""
    at = open_page(CLASS_PAGE)
    widget(at.text_input, "Class code").set_value(code)
    widget(at.text_input, "Nickname").set_value(nickname)
    widget(at.button, "Join").click().run()
    assert not at.exception and at.session_state[class_views.MEMBER].nickname == nickname
    return at


def picker(at):
    return widget(at.selectbox, "Model")


def keras_answer(at, run_path) -> str:
    """The class Keras gives the input Predict prepared last, with the run at `run_path`."""
    run = artifacts.load_run(run_path)
    x = at.session_state[state.CURRENT_INPUT].steps.input[None]
    return run.class_names[int(np.argmax(run.model(x, training=False)))]


class BlobReads:
    """Counts the queries that read a stored model's bytes (shared_runs.model)."""

    def __init__(self, store: ClassStore):
        self.engine, self.count = database.engine_for(store.url), 0
        event.listen(self.engine, "before_cursor_execute", self.seen)

    def seen(self, _conn, _cursor, statement, *_args) -> None:
        self.count += "shared_runs.model" in statement

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)


def test_listing_is_per_student_and_per_class(db_url, monkeypatch, tmp_path, tiny_run):  # noqa: F811
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    store = ClassStore(db_url)
    a, b = store.create("A"), store.create("B")
    amy, ben = store.member(a.code, "Amy"), store.member(a.code, "Ben")
    cat = store.member(b.code, "Amy")  # the same nickname in another class
    mine = store.share(amy, tiny_run)
    bens = store.share(ben, shipped("mnist").path)
    cats = store.share(cat, shipped("fashion_mnist").path)
    assert [r.id for r in store.student_runs(amy).runs] == [mine.id]
    assert [r.id for r in store.student_runs(cat).runs] == [cats.id]
    board = store.show(a.code, a.teacher_key)
    assert [(r.id, r.student) for r in store.teacher_runs(board).runs] == [
        (mine.id, "Amy"),
        (bens.id, "Ben"),
    ]
    with pytest.raises(ClassError, match="Only the teacher's board"):
        store.teacher_runs(store.student_runs(amy))  # a student's list never widens
    with pytest.raises(ClassError, match="not in the class"):
        store.run_files(store.student_runs(amy), bens.id)
    with pytest.raises(ClassError, match="not in the class"):
        store.run_files(store.show(b.code, b.teacher_key), mine.id)

    assert run_cache.unpacked(mine.digest) is None
    folder = run_cache.cached_run(*store.run_files(store.student_runs(amy), mine.id))
    assert run_cache.unpacked(mine.digest) == folder == run_cache.folder_for(mine.digest)
    assert run_cache.is_unpacked_run(folder) and not run_cache.is_unpacked_run(tiny_run)
    ood_file = artifacts.OOD_FILE  # the run's unfamiliar-input check came along
    assert (folder / ood_file).read_bytes() == (tiny_run / ood_file).read_bytes()

    store.remove(a.code, a.teacher_key, "run", mine.id)
    assert store.student_runs(amy).runs == []
    store.delete(a.code, a.teacher_key)
    with pytest.raises(ClassError, match="gone"):
        store.teacher_runs(board)
    with pytest.raises(ClassError, match="no longer in this class"):
        store.student_runs(amy)


def test_a_student_predicts_with_their_shared_run(classroom, tiny_run):
    store = classroom
    a, b = store.create("A"), store.create("B")
    amy = join(a.code, "amy")
    mine = store.share(amy.session_state[class_views.MEMBER], tiny_run)
    store.share(store.member(a.code, "ben"), shipped("mnist").path)
    store.share(store.member(b.code, "cat"), shipped("mnist").path)
    accuracy = artifacts.read_run_info(tiny_run).record.test.accuracy
    label = f"class {a.code} · amy · mnist tiny_vgg {accuracy:.1%} · run {mine.id}"
    reads = BlobReads(store)
    try:
        amy.switch_page(PREDICT).run()
        assert not amy.exception
        shown = [o for o in picker(amy).options if o.startswith("class ")]
        assert shown == [label]  # her own only: not ben's, not class B's
        assert reads.count == 0  # listing reads rows, never a model's bytes

        picker(amy).set_value(class_runs.SharedChoice(mine, a.code)).run()
        assert not amy.exception and not amy.error
        folder = run_cache.folder_for(mine.digest)
        assert state.ACTIVE_RUN in amy.session_state
        assert amy.session_state[state.ACTIVE_RUN] == str(folder) and reads.count == 1
        # the page's run folder has the unfamiliar-input check the run had: Predict can warn
        check = artifacts.OOD_FILE
        assert (folder / check).read_bytes() == (tiny_run / check).read_bytes()
        amy.session_state[state.CANVAS_KEY] = drawn_one()
        amy.run()
        assert not amy.exception and picker(amy).index == picker(amy).options.index(label)
        assert amy.metric[0].value == keras_answer(amy, tiny_run)  # the run she shared
        widget(amy.button, "Show where it looked").click().run()
        assert not amy.exception
        captions = [i.caption for element in amy.get("image") for i in element.proto.imgs]
        assert any("Where it looked for '" in c for c in captions)
        widget(amy.selectbox, "It should be").set_value("7").run()
        widget(amy.button, "Put it on the class wall").click().run()
        assert [s.value for s in amy.success] == ["It is on the class wall."]
        wall = store.student_view(amy.session_state[class_views.MEMBER]).submissions
        assert [(s.student, s.label) for s in wall] == [("amy", "7")]
        assert reads.count == 1  # the picked run was read once, then used from its folder
    finally:
        reads.close()

    store.remove(a.code, a.teacher_key, "run", mine.id)  # the teacher removes it
    amy.run()
    assert not amy.exception
    assert [w.value for w in amy.warning] == [
        "The class run you had picked is no longer there (the teacher removed it, or you "
        f"left the class): back to {shipped('mnist').title}."
    ]
    assert amy.session_state[state.ACTIVE_RUN] == str(shipped("mnist").path)
    sidebar = [c.value for c in amy.sidebar.caption]  # the sidebar names it too, at once
    assert f"Active model: **{shipped('mnist').title}**" in sidebar
    assert not any(o.startswith("class ") for o in picker(amy).options)
    amy.run()
    assert not amy.warning and amy.metric[0].value  # said once; Predict goes on


def test_the_teacher_picks_any_run_of_the_class_and_no_other(classroom, tiny_run):
    store = classroom
    a, b = store.create("A"), store.create("B")
    amys = store.share(store.member(a.code, "amy"), tiny_run)
    bens = store.share(store.member(a.code, "ben"), shipped("mnist").path)
    store.share(store.member(b.code, "cat"), shipped("fashion_mnist").path)
    teacher = open_page(CLASS_PAGE)
    codes = [w for w in teacher.text_input if w.label == "Class code"]
    codes[-1].set_value(a.code.lower())  # the board's form (the first is the join form)
    widget(teacher.text_input, "Teacher key").set_value(a.teacher_key)
    widget(teacher.button, "Open the board").click().run()
    assert not teacher.exception and class_teacher.TEACHER_BOARD in teacher.session_state
    teacher.switch_page(PREDICT).run()
    shown = [o.split(" · ")[1] for o in picker(teacher).options if o.startswith("class ")]
    assert shown == ["amy", "ben"]
    with store.sessions.begin() as db:  # amy's stored model gets damaged
        db.execute(update(SharedRun).where(SharedRun.id == amys.id).values(model=b"not a model"))
    before = teacher.session_state[state.ACTIVE_RUN]
    picker(teacher).set_value(class_runs.SharedChoice(amys, a.code)).run()
    assert not teacher.exception and teacher.session_state[state.ACTIVE_RUN] == before
    assert [w.value for w in teacher.warning] == [
        "That class run could not be opened: This stored run is damaged (its files do not "
        "match their digest)."
    ]
    picker(teacher).set_value(class_runs.SharedChoice(bens, a.code)).run()
    assert not teacher.exception
    assert teacher.session_state[state.ACTIVE_RUN] == str(run_cache.folder_for(bens.digest))
    teacher.session_state[state.CANVAS_KEY] = drawn_one()
    teacher.run()
    assert not teacher.exception
    assert teacher.metric[0].value == keras_answer(teacher, shipped("mnist").path)

    cat = join(b.code, "dan")
    cat.switch_page(PREDICT).run()
    assert not any(o.startswith("class ") for o in picker(cat).options)  # not cat's, not A's
