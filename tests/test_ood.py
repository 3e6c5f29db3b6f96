"""The unfamiliar-input flag on what a class shows a model (issue 28, section 2).

A tiny real digit run (tests/conftest.py's `tiny_run`: its training measured the check on
`cnn.foreign`'s classroom set): drawings that are no digit, through the canvas path, and
photos, through the upload path and `predict --json`, are flagged as the run recorded; its
own test digits stay within the false-alarm budget; old run.json records and familiarity
files still load.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnn import artifacts, drawn, foreign, ood, preprocess
from cnn.record import RunRecord


@pytest.fixture(scope="module")
def run(tiny_run):
    return artifacts.load_run(tiny_run)


@pytest.fixture(scope="module")
def inspector(run):
    from cnn.inspect import Inspector

    return Inspector(run.model, jit_compile=False)


def flagged(run, inspector, model_input) -> bool:
    """Would the Predict page warn on this input? (`ui.answer.answer_ui`'s own call.)"""
    seen = inspector.run(model_input, gradcam=False)
    return not ood.familiar(
        seen.logits, run.record.ood, seen.features, run.gaussian, seen.activations
    )


def test_a_tiny_digit_run_checks_its_feature_maps_against_classroom_inputs(run):
    check = run.record.ood
    assert check.score == "layers" and isinstance(run.gaussian, ood.Layers)
    assert "drawings (letters, shapes, scribbles)" in check.foreign
    # tiny_run trained offline: no other dataset's photos, so "layers" was measured on these
    assert check.n_foreign == sum(int(part.split()[0]) for part in check.foreign.split("; "))
    assert check.photo_detection is not None and check.drawing_detection is not None
    assert check.n_drawn > 0 and 0 <= check.drawn_false_alarm <= 1


def test_drawings_that_are_no_digit_are_flagged_through_the_canvas_path(run, inspector):
    """Each drawing goes the page's way (`prepare_drawing` with its strokes): the flags agree
    with the rate the training recorded, and a scribble is flagged."""
    items = foreign.drawings()
    flags = [
        flagged(
            run, inspector, preprocess.prepare_drawing(i.image, run.preprocessing, i.paths).input
        )
        for i in items
    ]
    check = run.record.ood
    assert np.mean(flags) == pytest.approx(check.drawing_detection, abs=2 / len(items))
    # a model trained one epoch on 600 digits still flags far more of them than of its
    # own test digits (5%), and almost every scribble and hatching
    assert check.drawing_detection > 10 * check.false_alarm
    scribbles = [f for f, i in zip(flags, items, strict=True) if i.name in ("scribble", "hatching")]
    assert np.mean(scribbles) >= 0.9


def test_photos_are_flagged_through_the_upload_path_and_predict_json(run, inspector, tmp_path):
    from cnn.cli.runs import predict_file

    photos = [i for i in foreign.made_photos() if i.name == "made: page"][:3]  # printed words
    photos += [i for i in foreign.skimage_photos() if i.name in ("rocket", "text")][::3]
    answers = []
    for n, item in enumerate(photos):
        file = tmp_path / f"photo{n}.png"
        file.write_bytes(foreign._png(item.image))
        answers.append(predict_file(run, inspector, str(file)))
    read = [a for a in answers if "error" not in a]  # the rest: "no digit found" (caught)
    assert len(read) >= 4 and sum(a["in_distribution"] is False for a in read) >= len(read) - 1
    for a in read:  # predict --json says what the page's own call says
        steps = preprocess.prepare_upload(preprocess.load_image(a["file"]), run.preprocessing)
        assert flagged(run, inspector, steps.input) == (not a["in_distribution"])


def test_the_threshold_keeps_the_false_alarm_budget_on_the_test_digits(
    run, inspector, monkeypatch, empty_data_dir
):
    """The run's own test split, rebuilt as its training built it, read in batches the way
    the page reads one image: the share flagged is the recorded one, within the budget."""
    from dataclasses import replace

    from cnn.training.loop import prepare

    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))  # where tiny_run's digits came from
    record, check = run.record, run.record.ood
    test = prepare(replace(record.config, spec=record.spec.to_dict())).data.test
    assert len(test) == check.n_test
    flags = []
    for start in range(0, len(test), 200):
        seen = inspector.run_batch(test.images[start : start + 200] / 255.0, gradcam=False)
        flags += list(~ood.familiar(seen.logits, check, seen.features, run.gaussian,
                                    seen.activations))  # fmt: skip
    assert check.false_alarm <= ood.FALSE_ALARM + 1 / check.n_test
    assert np.mean(flags) == pytest.approx(check.false_alarm, abs=2 / check.n_test)


def test_honest_drawn_digits_are_rarely_flagged(run, inspector):
    from cnn import datasets

    digits = datasets.load("mnist", download=False).test.images[:60]
    flags = [
        flagged(run, inspector, preprocess.prepare_drawing(picture, run.preprocessing, paths).input)
        for picture, paths in drawn.digit_drawings(digits, seed=3)
    ]
    assert np.mean(flags) <= 0.2  # the shipped digit run: 4.3% (artifacts/README.md)


def test_a_record_written_before_the_classroom_check_still_loads(run, tmp_path):
    """run.json of the first checks: a dataset as the foreign set, no per-kind rates."""
    from cnn.export.card import model_card
    from ui.answer import unfamiliar_words

    doc = run.record.to_dict()
    doc["ood"] = {
        "score": "mahalanobis", "temperature": 0.52, "threshold": -40.6, "false_alarm": 0.01,
        "foreign": "fashion_mnist", "detection": 0.921, "n_test": 10000, "n_foreign": 2000,
        "energy_detection": 0.822, "mahalanobis_detection": None, "detection_at_5": 0.995,
    }  # fmt: skip
    record = RunRecord.from_dict(json.loads(json.dumps(doc)))
    assert record.ood.detection == 0.921 and record.ood.photo_detection is None
    assert "92% of unfamiliar pictures" in unfamiliar_words(record, 10)
    assert "1% of real pictures of its classes" in unfamiliar_words(record, 10)
    assert "| foreign inputs caught | 92.1% of 2,000 |" in model_card(record)
    # its familiarity.npz (a Gaussian) is read as one, and a layers check without its file
    # never flags
    gaussian = ood.Gaussian(np.zeros((2, 3)), np.eye(3))
    artifacts.save_gaussian(tmp_path, gaussian)
    assert isinstance(artifacts.load_gaussian(tmp_path), ood.Gaussian)
    assert ood.familiar(np.zeros(2), run.record.ood, None, None, None)


def test_the_warning_says_the_runs_own_figures(run):
    from ui import charts
    from ui.answer import unfamiliar_words

    check = run.record.ood
    words = unfamiliar_words(run.record, len(run.class_names))
    assert f"caught {charts.percent(check.photo_detection)} of photos and " in words
    assert f"{charts.percent(check.drawing_detection)} of scribbles, letters and shapes" in words
    assert f"{charts.percent(check.drawn_false_alarm)} of real hand-drawn digits" in words


def test_a_layers_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    stages = [rng.normal(0, 1, (400, 4)), rng.normal(0, 1, (400, 6))]
    layers = ood.fit_layers(stages)
    artifacts.save_gaussian(tmp_path, layers)
    again = artifacts.load_gaussian(tmp_path)
    assert isinstance(again, ood.Layers)
    far = [s[:5] + 10 for s in stages]
    assert np.allclose(again.familiarity(far), layers.familiarity(far), rtol=1e-5)
    assert (layers.familiarity(far) < layers.familiarity([s[:5] for s in stages])).all()
    artifacts.save_gaussian(tmp_path, None)
    assert artifacts.load_gaussian(tmp_path) is None


def test_predict_warns_on_an_uploaded_photo_with_the_runs_own_figures(trained, run, inspector):
    """AppTest: a photo of a printed page uploaded to the tiny digit run's Predict page gets
    the warning, worded from run.json, exactly when the page's own check flags it."""
    from helpers import open_page

    from ui.answer import unfamiliar_words

    page = next(i for i in foreign.made_photos() if i.name == "made: page")
    steps = preprocess.prepare_upload(page.image, run.preprocessing)
    at = open_page("app_pages/predict.py", active_run=trained)
    at.segmented_control[0].set_value("Upload").run()
    at.file_uploader[0].set_value(("page.png", foreign._png(page.image), "image/png")).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    expected = unfamiliar_words(run.record, len(run.class_names))
    assert (expected in warnings) == flagged(run, inspector, steps.input)
    assert expected in warnings  # a printed page is no digit: the tiny run flags it


def test_the_recorded_foreign_set_is_said_in_the_readers_language():
    """run.json keeps the classroom set's description in English; the Models page says it in
    the reader's language, part by part, and an older record's description as it was."""
    from cnn import i18n

    recorded = ("57 scikit-image photos; 16 made pictures; 60 flowers17 photos; "
                "150 drawings (letters, shapes, scribbles)")  # fmt: skip
    with i18n.speaking("en"):
        assert foreign.said(recorded) == recorded
    with i18n.speaking("es"):
        assert foreign.said(recorded) == (
            "57 fotos de scikit-image; 16 imágenes generadas; 60 fotos de flowers17; "
            "150 dibujos (letras, formas, garabatos)"
        )
        assert foreign.said("1 scikit-image photos") == "1 foto de scikit-image"
        assert foreign.said("Fashion-MNIST") == "Fashion-MNIST"
    with i18n.speaking("zh"):
        assert foreign.said(recorded) == (
            "57 张 scikit-image 照片；16 张生成的图片；60 张 flowers17 照片；"
            "150 幅手绘（字母、形状、涂鸦）"
        )
