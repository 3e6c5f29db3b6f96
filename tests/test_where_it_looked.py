"""Predict's "Where it looked" (issue 28 section 1): the tested map by default, each method's
recorded faithfulness on the run, this input's own deletion test; and a model opening on its
own kind of input (section 5.1)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from helpers import drawn_one, open_page, symbol_canvas

from cnn import artifacts, preprocess
from cnn.explain import checks, faithfulness, saliency
from cnn.lesson import Lesson
from cnn.record import RunRecord, SaliencyCheck
from ui import inputs, saliency_views, state

LESSON = "lesson"  # ui.lesson.LESSON: the session's lesson link


def _digit(run_dir) -> tuple[artifacts.Run, np.ndarray]:
    """The run, and a drawn bar (a "1" or a "7") prepared as Predict prepares a drawing."""
    run = artifacts.load_run(run_dir)
    canvas = symbol_canvas("bar", 0)[..., :3]
    return run, preprocess.prepare_drawing(canvas, run.preprocessing).input


def test_an_input_check_is_the_deletion_test_of_its_own_map(tiny_run):
    run, image = _digit(tiny_run)
    found = checks.check_input(run.model, image, "digits", "default")
    name, params = saliency.DEFAULTS["digits"]
    expected = saliency.saliency(run.model, image[None], name, None, "digits", **params)[0]
    np.testing.assert_allclose(found.map, expected, atol=1e-6)
    assert found.target == int(run.model.predict(image[None], verbose=0).argmax())
    # the curve is the model's own probability as the map's pixels are removed, highest first
    ground = saliency.background(image[None], "digits")[0]
    order = faithfulness.order_of(found.map, np.random.default_rng(0))
    curve = faithfulness.deletion_curve(run.model, image, ground, order, found.target)
    np.testing.assert_allclose(found.curve, curve, atol=1e-5)
    assert found.curve[0] == pytest.approx(
        run.model.predict(image[None], verbose=0)[0, found.target], abs=1e-5
    )
    assert found.fractions[0] == 0 and found.fractions[-1] == 1


def test_measured_figures_are_the_tests_and_the_targets_decide(tiny_run, tmp_path, capsys):
    from cnn.cli import main

    copy = shutil.copytree(tiny_run, tmp_path / tiny_run.name)
    args = ["saliency", "--model", str(copy), "--measure", "--images", "6", "--json"]
    assert main([*args, "--methods", "default", "gradcam"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows] == ["rise", "gradcam"]
    record = artifacts.read_run_info(copy).record
    for row in rows:
        check = record.saliency_check(row["method"])
        assert check == SaliencyCheck(**row) and check.images == 6
        missed = checks.missed_targets(
            "digits", check.deletion_ratio, check.beating, check.correlation
        )
        assert check.passed == (not missed)
    # the same figures as the tests give on the same draw of test images
    run = artifacts.load_run(copy)
    images = checks.test_images(run.record, 6)
    classes = saliency.top_classes(run.model, images)
    maps = saliency.saliency(run.model, images, "gradcam", classes, "digits")
    test = faithfulness.deletion(run.model, images, maps, classes, "digits")
    assert record.saliency_check("gradcam").deletion_ratio == pytest.approx(test.ratio, abs=1e-4)
    # measured again: replaced, not added twice
    assert main([*args, "--methods", "gradcam"]) == 0
    again = artifacts.read_run_info(copy).record
    assert [c.method for c in again.saliency] == ["rise", "gradcam"]


def test_saliency_checks_survive_run_json():
    check = SaliencyCheck("rise", 100, 0.26, 0.92, -0.02, True, 1.1, 0)
    preprocessing = {"method": "digits", "image_size": [28, 28], "channels": 1}
    doc = {"class_names": ["a"], "preprocessing": preprocessing, "dataset": {"key": "mnist"}}
    record = RunRecord.from_dict({**doc, "saliency": [check.__dict__, "junk"]})
    assert record.saliency == [check]
    assert RunRecord.from_dict(record.to_dict()).saliency == [check]
    assert RunRecord.from_dict(doc).saliency == []  # older records: not measured


def test_predict_shows_the_tested_map_with_its_figures(trained, tmp_path, monkeypatch):
    copy = shutil.copytree(trained, tmp_path / "runs" / trained.name)
    monkeypatch.setenv("CNN_RUNS_DIR", str(copy.parent))
    at = open_page("app_pages/predict.py", active_run=copy)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "Map")
    assert picker.value == "rise" and "not tested yet" in picker.options[0]
    # a map costs a second of the server's time: it waits until the student asks
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert not any("Where it looked for '" in caption for caption in captions)
    assert not any("Removing pixels" in chart.proto.spec for chart in at.get("plotly_chart"))
    next(b for b in at.button if b.label == "Show where it looked").click().run()
    assert not at.exception
    assert any("a thousand times, each time with random patches" in m.value for m in at.markdown)
    assert any("has not been tested on this model yet" in m.value for m in at.markdown)
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert any("Where it looked for '" in caption for caption in captions)
    assert any("Removing pixels" in chart.proto.spec for chart in at.get("plotly_chart"))

    # the student tests the map on their own model: run.json gets its figures, shown at once
    next(b for b in at.button if b.label.startswith("Test this map")).click().run()
    assert not at.exception
    check = artifacts.read_run_info(copy).record.saliency_check("rise")
    assert check is not None and check.images == saliency_views.TESTED_NOW
    picker = next(s for s in at.selectbox if s.label == "Map")
    verdict = "passed" if check.passed else "failed"
    assert picker.options[0].endswith(f"{verdict} the test")
    shown = " ".join(m.value for m in at.markdown)
    assert f"on {check.images} of this model's test images" in shown
    assert f"rank correlation {check.correlation:.2f}" in shown
    picker.set_value("gradcam").run()
    assert not at.exception
    assert any("last convolution layer's feature maps" in m.value for m in at.markdown)


def test_models_open_on_their_own_input(tiny_run):
    digits = artifacts.read_run_info(tiny_run).record
    assert inputs.sources_for(digits)[0] == "Draw"
    photos = RunRecord.from_dict(
        {
            "class_names": ["cats", "dogs"],
            "preprocessing": {"method": "photos", "image_size": [64, 64], "channels": 3},
            "dataset": {"key": "cats_vs_dogs"},
        }
    )
    assert inputs.sources_for(photos) == ["Samples", "Upload"]  # no canvas for a photo model
    assert inputs.sources_for(photos, asked="Draw")[-1] == "Draw"  # unless a link asks
    assert inputs.draw_prompt(digits) == "Draw one digit on the canvas"
    shapes = RunRecord.from_dict(
        {
            "class_names": ["circle", "square", "star"],
            "preprocessing": {"method": "digits", "image_size": [28, 28], "channels": 1},
            "dataset": {"key": "folder"},
        }
    )
    assert inputs.draw_prompt(shapes) == "Draw one of: circle, square, star on the canvas"


def test_a_link_for_the_digit_model_does_not_follow_to_a_photo_model(trained):
    shipped = [
        i for i in artifacts.list_runs([artifacts.shipped_dir()])
        if i.ok and i.record.preprocessing.method == "photos"
    ]  # fmt: skip
    if not shipped:
        pytest.skip("no shipped photo run in artifacts/")
    at = open_page("app_pages/predict.py", active_run=trained)
    # the session was opened by a link that put the digit model on the canvas
    at.session_state[LESSON] = Lesson(page="predict", run=trained.name, source="Draw")
    at.run()
    assert not at.exception
    control = at.get("button_group")[0]
    assert control.value == "Draw"
    at.session_state[state.ACTIVE_RUN] = str(shipped[0].path)
    at.run()
    assert not at.exception
    control = at.get("button_group")[0]
    assert control.value == "Samples" and "Draw" not in control.options


def test_only_the_open_tab_is_drawn(trained):
    """The map costs a second of RISE per input: the other tabs draw only when opened."""
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception
    assert [s.label for s in at.main.selectbox][-2:] == ["Map", "Explain the class"]
    assert not any(r.label == "Colour scale" for r in at.radio)
    at.session_state["inside-tab"] = "Feature maps"
    at.run()
    assert not at.exception
    assert any(r.label == "Colour scale" for r in at.radio)
    assert not any(s.label == "Map" for s in at.selectbox)


def test_a_student_in_a_class_puts_a_drawing_on_the_wall_from_predict(
    trained, tmp_path, monkeypatch
):
    """Issue 30: Predict's one click, for a session that joined a class (a real SQLite)."""
    from cnn.classroom.store import ClassStore
    from ui import class_views

    monkeypatch.setenv("CNN_DB_URL", f"sqlite:///{tmp_path / 'class.db'}")
    class_views._store.clear()
    store = ClassStore(f"sqlite:///{tmp_path / 'class.db'}")
    made = store.create("7B")
    code, key = made.code, made.teacher_key
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not any(b.label == "Put it on the class wall" for b in at.button)  # not in a class
    at.session_state[class_views.MEMBER] = store.join(code, "amy", "session-1")
    at.run()
    next(s for s in at.selectbox if s.label == "It should be").set_value("1")
    next(b for b in at.button if b.label == "Put it on the class wall").click().run()
    assert not at.exception
    assert any("on the class wall" in s.value for s in at.success)
    board = store.show(code, key)
    assert [(s.student, s.label) for s in board.submissions] == [("amy", "1")]


def test_the_picture_colours_pixels_in_the_order_the_test_removes_them():
    """The overlay colours by rank: the same order as the map (and the deletion test), every
    colour used equally, so a map whose values crowd together still shows its top."""
    from scipy import stats

    from ui import pictures

    rng = np.random.default_rng(0)
    crowded = 0.5 + 1e-3 * rng.standard_normal((28, 28))  # SmoothGrad-like: all near 0.5
    shown = pictures.ranked(crowded)
    assert stats.spearmanr(shown.ravel(), crowded.ravel()).statistic == pytest.approx(1.0)
    assert shown.min() == 0 and shown.max() == 1
    assert np.mean(shown >= 0.9) == pytest.approx(0.1, abs=0.01)  # the red tenth


def test_a_new_drawing_waits_to_be_asked_and_an_asked_map_stays(trained):
    """Each stroke is a new picture: its map is worked out only when asked for (or for every
    picture, the switch for a demonstration), and stays through reruns once asked."""
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()

    def shown(at) -> bool:
        captions = [i.caption for element in at.get("image") for i in element.proto.imgs]
        return any("Where it looked for '" in caption for caption in captions)

    assert not shown(at)
    next(b for b in at.button if b.label == "Show where it looked").click().run()
    assert shown(at)
    assert not any(b.label == "Show where it looked" for b in at.button)  # the offer has gone
    at.run()  # a rerun with the same picture (a widget elsewhere): still shown
    assert shown(at)
    next(s for s in at.selectbox if s.label == "Map").set_value("gradcam").run()
    assert not shown(at)  # another map of the same picture: asked for again
    next(t for t in at.toggle if t.label == "Show it for every new picture").set_value(True).run()
    assert shown(at) and not at.exception
