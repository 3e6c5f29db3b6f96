"""The Class page (AppTest): a teacher creates a class, students join, share, draw for the
wall; the board shows them, answers with a chosen run (checked against Keras), sums a
confusion matrix, makes a class dataset, removes and deletes. SQLite in a temporary folder;
the shipped MNIST run (no training)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import canvas_value, open_page, symbol_canvas

from cnn import artifacts, preprocess
from cnn.classroom.pictures import wall_pixels
from ui import class_teacher, class_views

PAGE = "app_pages/class_board.py"
HOSTILE = ["Robert'); DROP TABLE students;--", "<img src=x onerror=alert(1)>"]


@pytest.fixture
def classroom(monkeypatch, tmp_path, offline):
    """A fresh class database, and the class store cache emptied (it is per URL)."""
    monkeypatch.setenv("CNN_DB_URL", f"sqlite:///{tmp_path / 'class.db'}")
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    class_views._store.clear()
    return tmp_path


def mnist_run():
    return next(
        i
        for i in artifacts.list_runs([artifacts.shipped_dir()])
        if i.ok and i.record.dataset.key == "mnist"
    )


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def texts(at) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.error])


def create_class(name: str = "7B"):
    at = open_page(PAGE)
    widget(at.text_input, "Class name").set_value(name)
    widget(at.button, "Create").click().run()
    assert not at.exception
    return at, *at.session_state[class_teacher.TEACHER]


def join(code: str, nickname: str, active=None):
    at = open_page(PAGE, active_run=active)
    widget(at.text_input, "Class code").set_value(code)
    widget(at.text_input, "Nickname").set_value(nickname)
    widget(at.button, "Join").click().run()
    assert not at.exception
    return at


def test_a_class_from_creation_to_the_board(classroom):
    teacher, code, key = create_class(HOSTILE[1])
    assert [c.value for c in teacher.code] == [key]  # the key, shown once
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in texts(teacher)
    assert not re.search(r"(?<!\\)<img", texts(teacher))  # never a raw tag
    amy = join(code.lower(), HOSTILE[0], active=mnist_run().path)
    assert "You are **Robert'\\); DROP TABLE students;\\-\\-**" in texts(amy)
    widget(amy.button, "Share this model with the class").click().run()
    assert amy.success[0].value.startswith("Shared: your teacher sees it on the board")
    ben = join(code, HOSTILE[1])
    ben.session_state["class-canvas-0"] = canvas_value(symbol_canvas("bar", 1))
    widget(ben.text_input, "It shows").set_value("1")
    widget(ben.button, "Put on the wall").click().run()
    assert not ben.error and "**1** · \\<img" in texts(ben.run())

    teacher.run()
    assert [c.value for c in teacher.code] == [key]  # still this session, which made it
    students = teacher.dataframe[0].value
    assert list(students["student"]) == HOSTILE and list(students["shared runs"]) == [1, 0]
    best = teacher.dataframe[1].value
    assert list(best["dataset"]) == ["mnist"] and best["test accuracy"][0] == pytest.approx(
        mnist_run().record.test.accuracy
    )
    choice = next(c for c in widget(teacher.selectbox, "Answers of").options if "class run" in c)
    widget(teacher.selectbox, "Answers of").set_value(choice).run()
    run = artifacts.load_run(mnist_run().path)
    board = class_views._store(f"sqlite:///{classroom / 'class.db'}").show(code, key)
    png = class_views._store(f"sqlite:///{classroom / 'class.db'}").pictures(
        board, [board.submissions[0].id]
    )[board.submissions[0].id]
    x = preprocess.prepare_drawing(wall_pixels(png), run.preprocessing).input[None]
    expected = run.class_names[int(run.model.predict(x, verbose=0).argmax())]
    mark = ":green[✓]" if expected == "1" else ":red[✗]"
    assert f"before: {expected} {mark}" in [c.value for c in teacher.caption]


def test_the_board_sums_a_confusion_matrix_and_makes_a_dataset(classroom):
    teacher, code, key = create_class()
    amy = join(code, "Amy", active=mnist_run().path)
    widget(amy.button, "Share this model with the class").click().run()
    for seed in range(5):
        for symbol in ("bar", "ring"):
            amy.session_state[f"class-canvas-{seed * 2 + (symbol == 'ring')}"] = canvas_value(
                symbol_canvas(symbol, seed)
            )
            widget(amy.text_input, "It shows").set_value(symbol)
            widget(amy.button, "Put on the wall").click().run()
            assert not amy.error, amy.error[0].value
    teacher.run()
    teacher.toggle(key="class-eval").set_value(True).run()
    assert not teacher.exception and not teacher.error
    assert "1 run x the first 500 test images of mnist: 500 answers." in texts(teacher)
    assert len(teacher.get("plotly_chart")) == 1
    picked = teacher.multiselect(key="class-picked")
    picked.set_value([int(o.split(":")[0]) for o in picked.options]).run()
    assert "bar: 5, ring: 5" in texts(teacher) and not teacher.warning
    assert teacher.get("download_button")


def test_the_wrong_key_opens_nothing(classroom):
    _, code, key = create_class()
    at = open_page(PAGE)
    widget(at.text_input, "Teacher key").set_value(key + "x")
    [w for w in at.text_input if w.label == "Class code"][1].set_value(code)  # the board's
    widget(at.button, "Open the board").click().run()
    assert [e.value for e in at.error] == ["That teacher key does not open this class."]
    assert not at.dataframe and class_teacher.TEACHER not in at.session_state


def test_a_lesson_links_class_code_fills_the_join_form(classroom):
    _, code, _ = create_class()
    at = open_page(PAGE)
    at.session_state[class_views.CLASS_CODE] = code
    at.run()
    assert widget(at.text_input, "Class code").value == code
    assert f"Your link is for class **{code}**" in texts(at)


def test_the_teacher_removes_a_student_and_deletes_the_class(classroom):
    teacher, code, key = create_class()
    amy = join(code, "Amy")
    remove = teacher.run().selectbox(key="class-remove")
    amy_id = amy.session_state[class_views.MEMBER].student_id
    remove.set_value(("student", amy_id, "student Amy")).run()
    widget(teacher.button, "Remove student Amy").click().run()
    assert "0 students" in texts(teacher)
    amy.run()
    assert "no longer in this class" in texts(amy)
    teacher.checkbox(key="class-del").check().run()
    widget(teacher.button, "Delete the class").click().run()
    assert class_teacher.TEACHER not in teacher.session_state
    assert np.all([b.label != "Delete the class" for b in teacher.button])


def predict_button_script(run_path: str) -> None:
    """What Predict will run after its answer: the one-click button under it."""
    from helpers import symbol_canvas

    from cnn import artifacts
    from ui import class_views

    drawing = symbol_canvas("bar", 7)[..., :3]
    class_views.submit_from_predict(drawing, artifacts.read_run_info(run_path))


def test_one_click_from_predict_puts_the_input_on_the_wall(classroom):
    from streamlit.testing.v1 import AppTest

    _, code, key = create_class()
    path = str(mnist_run().path)
    at = AppTest.from_function(predict_button_script, args=(path,), default_timeout=60).run()
    assert not at.button  # not in a class: nothing to show
    store = class_views._store(f"sqlite:///{classroom / 'class.db'}")
    at.session_state[class_views.MEMBER] = store.join(code, "Amy", session="s")
    at.run()
    widget(at.selectbox, "It should be").set_value("1")
    widget(at.button, "Put it on the class wall").click().run()
    assert [s.value for s in at.success] == ["It is on the class wall."]
    (picture,) = store.show(code, key).submissions
    assert (picture.student, picture.label, picture.drawn) == ("Amy", "1", True)
