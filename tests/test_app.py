"""AppTest page tests: every page renders, a drawing is predicted, a tiny training finishes.

Each test points CNN_RUNS_DIR at its own folder and CNN_DATA_DIR at an empty one (MNIST then
comes from the embedded offline subset). `run_every` never fires in AppTest, so the training
test joins the job from session state and reruns the page.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import (
    TIMEOUT_S,
    choose_own_images,
    drawn_one,
    open_page,
    shapes_zip,
    train_tiny_model,
)

from cnn import artifacts
from ui import state

PAGES = [
    "app_pages/home.py",
    "app_pages/train.py",
    "app_pages/predict.py",
    "app_pages/inside.py",
    "app_pages/models.py",
    "app_pages/data.py",
    "app_pages/make.py",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_runs(offline, page):
    at = open_page(page)
    assert not at.exception


@pytest.mark.parametrize("page", ["app_pages/predict.py", "app_pages/models.py"])
def test_broken_run_is_listed_not_fatal(offline, page):
    broken = offline / "20260101-000000-broken"
    broken.mkdir()
    (broken / "run.json").write_text("{ not json")
    (broken / "model.keras").write_bytes(b"truncated")
    at = open_page(page, active_run=broken)
    assert not at.exception
    shown = [e.value for e in at.error] + [str(d.value) for d in at.dataframe]
    assert any("broken" in text or "cannot be read" in text for text in shown)


def test_predict_shows_the_class_of_a_drawing(trained):
    at = open_page("app_pages/predict.py", active_run=trained)
    assert not at.exception
    assert any("Draw one digit" in i.value for i in at.info)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception
    class_names = json.loads((trained / "run.json").read_text())["class_names"]
    assert at.metric[0].label == "Prediction"
    assert at.metric[0].value in class_names


def test_a_fresh_session_draws_for_the_shipped_digit_model(offline):
    """Several shipped runs, none chosen yet: Predict starts on the MNIST one, not the newest."""
    at = open_page("app_pages/predict.py")
    assert not at.exception
    assert at.selectbox[0].value.record.dataset.key == "mnist"
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception and at.metric[0].value == "1"
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert not any("brush width you pick" in t for t in texts)  # a picture alone

    at.session_state[state.CANVAS_KEY] = drawn_one(paths=True)  # the canvas sends its paths
    at.run()
    assert not at.exception and at.metric[0].value == "1"
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert any("brush width you pick" in t for t in texts), texts


def test_predict_samples_and_upload_inputs(trained):
    at = open_page("app_pages/predict.py", active_run=trained)
    at.segmented_control[0].set_value("Samples").run()
    assert not at.exception
    assert at.metric[0].value in json.loads((trained / "run.json").read_text())["class_names"]
    at.segmented_control[0].set_value("Upload").run()
    assert not at.exception


def test_train_page_trains_then_models_page_shows_and_deletes_the_run(offline):
    at = open_page("app_pages/train.py")
    assert not at.exception
    # digits can be trained on redrawn copies (the shipped digit model's recipe)
    next(c for c in at.checkbox if c.label == "Redraw digits with the app's pen").check()
    # a mirrored digit is another digit: no mirror reading for them; elastic bending is theirs
    assert not any(c.label == "Also read the mirror image" for c in at.checkbox)
    strength = next(s for s in at.selectbox if s.label == "Augmentation")
    assert strength.options == ["none", "standard", "strong", "elastic"]
    # distillation: the shipped digit run (and no run of other data) can be a teacher
    teachers = next(m for m in at.multiselect if m.label == "Learn from trained models too")
    shipped = [str(r.path) for r in artifacts.list_runs() if r.shipped]
    digits = [path for path in shipped if "-mnist-" in path]
    assert digits and len(teachers.options) == len(digits)
    assert all(option.startswith("mnist · ") for option in teachers.options)
    teachers.select(digits[0]).run()
    job = train_tiny_model(at)
    assert job.state == "finished", job.error
    assert job.config.redraw_strokes == 0.5
    assert job.config.teachers == digits and job.config.distill == 0.5
    assert any("Test accuracy" in s.value for s in at.success)
    run_dir = job.result.run_dir
    assert at.session_state[state.ACTIVE_RUN] == str(run_dir)

    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    assert run_dir.name in at.dataframe[0].value["run"].tolist()
    taught = [c.value for c in at.caption if "knowledge distillation" in c.value]
    assert taught and Path(digits[0]).name in taught[0]
    # the run's time-lapse, as an animation with one frame per snapshot
    lapse = next(c for c in at.get("plotly_chart") if "How it learned" in c.proto.spec)
    frames = json.loads(lapse.proto.spec)["frames"]
    assert len(frames) == job.result.record.timelapse.frames
    next(t for t in at.text_input if t.label == "Name this run").input("first try")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert json.loads((run_dir / "run.json").read_text())["title"] == "first try"
    assert "first try" in at.dataframe[0].value["name"].tolist()
    next(b for b in at.button if b.label == "Delete this run").click().run()
    assert not at.exception
    assert not run_dir.exists()


def test_train_page_offers_the_model_when_it_cannot_be_saved(offline, monkeypatch):
    blocker = offline / "not-a-folder"
    blocker.write_text("a file where the runs folder should be")
    monkeypatch.setenv("CNN_RUNS_DIR", str(blocker / "runs"))
    at = open_page("app_pages/train.py")
    job = train_tiny_model(at)
    assert job.result.save_error
    assert any("Could not save" in e.value for e in at.error)
    assert any(
        b.proto.label.startswith("Download the trained model") for b in at.get("download_button")
    )


def test_data_page_browses_mnist(offline):
    at = open_page("app_pages/data.py")
    assert not at.exception
    assert any(m.label == "Classes" and m.value == "10" for m in at.metric)
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert "augmented 1" in captions
    strength = at.segmented_control(key="data-augmentation-level")
    assert strength.options == ["standard", "strong", "elastic"]
    strength.set_value("elastic").run()  # digits bent by the elastic distortion, on show
    assert not at.exception
    assert "augmented 6" in [i.caption for e in at.get("image") for i in e.proto.imgs]


def test_train_page_trains_on_an_uploaded_zip(offline):
    at = open_page("app_pages/train.py")
    choose_own_images(at, "train-dataset", shapes_zip())
    assert not at.exception
    next(c for c in at.checkbox if c.label == "Also read the mirror image").check()
    strength = next(s for s in at.selectbox if s.label == "Augmentation")
    assert "elastic" not in strength.options  # photos are not pen strokes
    job = train_tiny_model(at, dataset="folder", max_samples=0)
    assert job.state == "finished", job.error
    record = json.loads((job.result.run_dir / "run.json").read_text())
    assert record["class_names"] == ["dark squares", "light ☀ circles"]
    assert record["config"]["tta"] == "mirror"  # test-time augmentation, as the box asked
    # the user's file name never becomes a path on the server
    assert "my photos" not in json.dumps(record["config"])


def test_the_quick_preset_adapts_to_a_small_set_of_own_images(offline):
    """120 images in 3 classes: all of them, enough steps to learn, well above chance."""
    at = open_page("app_pages/train.py")
    choose_own_images(at, "train-dataset", shapes_zip(("dark", "grey", "light"), per_class=40))
    assert not at.exception and not at.error
    next(b for b in at.button if b.label == "Start training").click().run()
    job = at.session_state[state.TRAINING_JOB]
    job.join(TIMEOUT_S)
    at.run()
    assert job.state == "finished", job.error
    config = job.config
    steps = -(-job.result.record.dataset.train_samples // config.batch_size)
    assert config.max_samples is None and config.epochs * steps >= 60
    assert job.result.test_accuracy > 0.6  # chance is 1 in 3
    assert any("Test accuracy" in s.value for s in at.success)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"this is not a zip", "zip"),
        (shapes_zip(classes=("only", "only")), "class"),
    ],
)
def test_bad_zip_uploads_give_a_sentence(offline, data, words):
    at = open_page("app_pages/data.py")
    choose_own_images(at, "data-dataset", data)
    assert not at.exception
    assert at.error and words in at.error[0].value.lower()


def test_models_compares_the_active_run_alone_before_you_train(offline):
    """Issue 11 item 9: no two unrelated shipped runs side by side by default."""
    shipped = {r.record.dataset.key: r.path for r in artifacts.list_runs() if r.shipped and r.ok}
    if "cats_vs_dogs" not in shipped:
        pytest.skip("no shipped cats_vs_dogs run in artifacts/")
    at = open_page("app_pages/models.py", active_run=shipped["cats_vs_dogs"])
    assert not at.exception
    compared = next(m for m in at.multiselect if m.label == "Runs to compare").value
    assert [r.path for r in compared] == [shipped["cats_vs_dogs"]]


SURE = re.compile(r"((?:over |under )?\d+%) sure")


def test_predict_inside_and_probe_say_the_same_confidence(tiny_run, tmp_path, monkeypatch,
                                                          empty_data_dir):  # fmt: skip
    """One drawing: Predict, Look inside and Probe give the top class the same percentage,
    the run's calibrated one, while Look inside's bars keep the network's raw output."""
    run = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, run)
    # the tiny run is calibrated by its training; a temperature far from 1 makes the
    # calibrated and the raw numbers differ whatever the 1-epoch model learned
    record = json.loads((run / "run.json").read_text())
    record["calibration"]["temperature"] = 0.25
    (run / "run.json").write_text(json.dumps(record))
    monkeypatch.setenv("CNN_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))

    at = open_page("app_pages/predict.py", active_run=run)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception
    answer, predict = at.metric[0].value, SURE.fullmatch(at.metric[0].delta).group(1)
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception
    said = next(c.value for c in at.caption if "it says" in c.value)
    assert f"**{answer}**, {predict} sure" in said
    raw = next(c.value for c in at.caption if "raw output" in c.value)
    shown_raw = re.search(r"raw output: '(.+?)' gets ((?:over |under )?\d+%)", raw).group(2)
    assert shown_raw != predict  # the raw output is shown, and differs at this temperature
    at.switch_page("app_pages/probe.py").run()
    assert not at.exception
    about = next(m.value for m in at.markdown if m.value.startswith("Model **"))
    assert f"says **{answer}**, {predict} sure" in about
    unchanged = next(m.value for m in at.markdown if "Unchanged, the model says" in m.value)
    assert f"**{answer}**, {predict} sure" in unchanged  # the sweep's curves are calibrated


def test_models_figures_follow_a_rewritten_run_json(offline, tiny_run):
    """Issue 28 item 5.8: the Models page's figures are built once per run.json, not per
    rerun; a run.json rewritten on disk (by `python -m cnn calibrate`, say) is drawn again."""
    run = shutil.copytree(tiny_run, offline / tiny_run.name)
    at = open_page("app_pages/models.py", active_run=run)
    assert not at.exception
    assert not any('"42%"' in chart.proto.spec for chart in at.get("plotly_chart"))
    # the kept mistakes in a sentence (it said "3 kept of 3 mistakes")
    said = next(m.value for m in at.markdown if m.value.startswith("Mistakes on the test"))
    assert re.fullmatch(r"Mistakes on the test images: (all \d+ are|it is|[\d,]+ in all; "
                        r"the run kept \d+ of them,) shown below\.", said)  # fmt: skip
    record = json.loads((run / "run.json").read_text())
    for row in record["test"]["per_class"]:
        row["accuracy"] = 0.42
    (run / "run.json").write_text(json.dumps(record, indent=2))
    at.run()
    assert not at.exception
    assert any('"42%"' in chart.proto.spec for chart in at.get("plotly_chart"))


def test_explain_the_class_keeps_showing_the_answer_it_gave(trained):
    """Issue 28 item 5.7: after a rerun (an upload, a model switch) the Grad-CAM class picker
    said "Choose an option": a None option loses the widget's shown choice on a rerun."""
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.session_state["saliency-auto"] = True  # the map for every new picture
    for _ in range(3):
        at.run()
        assert not at.exception
        picker = next(s for s in at.selectbox if s.label == "Explain the class")
        assert picker.proto.HasField("default") and picker.proto.default == 0
        assert picker.options[0] == "the answer it gave"
    picker.select_index(2).run()
    assert not at.exception
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert any("looked for '1'" in caption for caption in captions)


def plotly_figures(at) -> list[dict]:
    """The plotly figures on the page, as the JSON the browser gets."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_look_inside_labels_are_legible_and_grow_on_a_projector(trained):
    """Issue 28, 5.5: every label of Look inside's network figure is at least 12 px, with no
    unexplained "+26"; its colour scale is said; in presenter mode its labels and Predict's
    probability bars grow as the pictures do (presenter.px)."""
    from ui import charts, network, presenter

    first = artifacts.load_run(trained).model.get_layer("conv1_1").output.shape[1:]  # Keras's
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    for on in (False, True):
        at.session_state[presenter.PRESENTER] = on
        at.switch_page("app_pages/predict.py").run()
        assert not at.exception
        bars = next(f for f in plotly_figures(at) if f["data"][0].get("orientation") == "h")
        assert bars["layout"]["font"]["size"] == (20 if on else charts.BAR_FONT_PX)
        at.switch_page("app_pages/inside.py").run()
        assert not at.exception
        figure = next(f for f in plotly_figures(at) if f["layout"].get("images"))  # the maps
        least = 18 if on else 12  # presenter.SCALE 1.5
        labels = figure["layout"]["annotations"]
        assert labels and all(label["font"]["size"] >= least for label in labels)
        assert not [a["text"] for a in labels if re.fullmatch(r"\+\d+", a["text"])]
        softmax = next(t for t in figure["data"] if t["type"] == "bar")
        assert softmax["textfont"]["size"] >= least
        headers = [a["text"] for a in labels if a["text"].startswith("<b>conv1_1</b>")]
        assert headers == [f"<b>conv1_1</b><br>3x3<br>{'×'.join(map(str, first))}"]
    caption = next(c.value for c in at.caption if "Colour scale" in c.value)
    assert f"strongest {network.BRIGHT_SHARE:.0%} of the values shown" in caption
