"""AppTest page tests: every page renders, a drawing is predicted, a tiny training finishes.

Each test points CNN_RUNS_DIR at its own folder and CNN_DATA_DIR at an empty one (MNIST then
comes from the embedded offline subset). `run_every` never fires in AppTest, so the training
test joins the job from session state and reruns the page.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from ui import state

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = [
    "app_pages/home.py",
    "app_pages/train.py",
    "app_pages/predict.py",
    "app_pages/models.py",
    "app_pages/data.py",
]
TIMEOUT_S = 120


def open_page(page: str, active_run: Path | None = None) -> AppTest:
    """Run the app once, then switch to `page` (optionally with an active run) and run it."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    if active_run is not None:
        at.session_state[state.ACTIVE_RUN] = str(active_run)
    at.switch_page(page)
    return at.run()


def drawn_one() -> dict:
    """What st_canvas sends back after a vertical white stroke on black (a "1")."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line([(140, 50), (140, 230)], fill=(255, 255, 255, 255), width=22)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"drawing": {"raw": {"objects": []}, "data": data_url}}


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
    assert any("Draw a digit" in i.value for i in at.info)
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
    assert at.selectbox[0].value.record["dataset"]["key"] == "mnist"
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert not at.exception and at.metric[0].value == "1"


def test_predict_samples_and_upload_inputs(trained):
    at = open_page("app_pages/predict.py", active_run=trained)
    at.segmented_control[0].set_value("Samples").run()
    assert not at.exception
    assert at.metric[0].value in json.loads((trained / "run.json").read_text())["class_names"]
    at.segmented_control[0].set_value("Upload").run()
    assert not at.exception


def start_tiny_training(at: AppTest, dataset: str = "mnist", max_samples: int = 300, epochs=1):
    """Set the Train page to TinyVGG, `epochs`, `max_samples` images (0: all); start; the job."""
    at.selectbox(key=f"arch-Quick-{dataset}").set_value("tiny_vgg")
    next(w for w in at.number_input if w.label == "Epochs").set_value(epochs)
    next(w for w in at.number_input if w.label.startswith("Max training")).set_value(max_samples)
    next(b for b in at.button if b.label == "Start training").click().run()
    return at.session_state[state.TRAINING_JOB]


def train_tiny_model(at: AppTest, dataset: str = "mnist", max_samples: int = 300):
    """Train TinyVGG for 1 epoch on `max_samples` images (0: all): start, join, rerun."""
    job = start_tiny_training(at, dataset, max_samples)
    job.join(TIMEOUT_S)
    at.run()
    assert not at.exception
    return job


def test_train_page_trains_then_models_page_shows_and_deletes_the_run(offline):
    at = open_page("app_pages/train.py")
    assert not at.exception
    job = train_tiny_model(at)
    assert job.state == "finished", job.error
    assert any("Test accuracy" in s.value for s in at.success)
    run_dir = job.result.run_dir
    assert at.session_state[state.ACTIVE_RUN] == str(run_dir)

    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    assert run_dir.name in at.dataframe[0].value["run"].tolist()
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


def shapes_zip(classes=("dark squares", "light ☀ circles"), per_class=10) -> bytes:
    """A real .zip of class subfolders (names with a space and unicode) plus a stray text file."""
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as zf:
        for value, name in zip((50, 200), classes, strict=True):
            for i in range(per_class):
                pixels = np.clip(rng.normal(value, 25, (40, 40, 3)), 0, 255).astype(np.uint8)
                png = io.BytesIO()
                Image.fromarray(pixels).save(png, "PNG")
                zf.writestr(f"shapes/{name}/{i}.png", png.getvalue())
        zf.writestr("shapes/readme.txt", "not an image")
    return buffer.getvalue()


def choose_own_images(at: AppTest, key: str, data: bytes, name: str = "my photos.zip") -> None:
    """Pick "Your own images" (the registry's last entry) and upload `data` as a .zip."""
    picker = at.selectbox(key=key)
    picker.select_index(len(picker.options) - 1).run()
    at.file_uploader(key=f"{key}-zip").set_value((name, data, "application/zip")).run()


def test_train_page_trains_on_an_uploaded_zip(offline):
    at = open_page("app_pages/train.py")
    choose_own_images(at, "train-dataset", shapes_zip())
    assert not at.exception
    job = train_tiny_model(at, dataset="folder", max_samples=0)
    assert job.state == "finished", job.error
    record = json.loads((job.result.run_dir / "run.json").read_text())
    assert record["class_names"] == ["dark squares", "light ☀ circles"]
    # the user's file name never becomes a path on the server
    assert "my photos" not in json.dumps(record["config"])


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
