"""Robustness at page level: hostile uploads and odd drawings, many sessions, closed tabs.

The engine tests already prove each bad file, zip, model file and setting gives the right
exception (test_preprocess, test_datasets, test_artifacts, test_training). These AppTests
prove what a student sees: every case ends in a Prediction or a sentence (never a
traceback) and the page keeps working; sessions on one server cannot see or delete each
other's uploads, drawings and runs; more trainings than the server allows wait in line and
all finish; a tab closed in the middle of a training leaves a whole run (or none) and no
memory behind.
"""

from __future__ import annotations

import gc
import io
import json
import re
import threading
import time
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import (
    TIMEOUT_S,
    choose_own_images,
    drawn_one,
    open_page,
    png_header_only,
    shapes_zip,
    start_tiny_training,
    train_tiny_model,
)
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from cnn import artifacts, training
from ui import state

PREDICT = "app_pages/predict.py"
TRAIN = "app_pages/train.py"
MODELS = "app_pages/models.py"
DATA = "app_pages/data.py"
CANVAS_PX = 280


# Files a student might upload, made here with Pillow


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """An image as the bytes of a file in format `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def paper_digit() -> Image.Image:
    """A dark "1" written on light paper, away from the edges (what a photo of one looks like)."""
    image = Image.new("L", (120, 120), 235)
    ImageDraw.Draw(image).line([(60, 22), (60, 98)], fill=20, width=9)
    return image


def truncated_jpeg() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)
    data = encode(Image.fromarray(noise), "JPEG", quality=95)
    return data[: len(data) * 6 // 10]


def animated_gif() -> bytes:
    blank = Image.new("L", (120, 120), 235)
    return encode(paper_digit(), "GIF", save_all=True, append_images=[blank, blank], duration=100)


def sixteen_bit_png() -> bytes:
    return encode(Image.fromarray(np.asarray(paper_digit()).astype(np.uint16) * 257), "PNG")


def palette_png_with_transparency() -> bytes:
    ink = np.asarray(paper_digit()) < 128
    image = Image.fromarray(ink.astype(np.uint8), mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    return encode(image, "PNG", transparency=0)


def gray_alpha_png() -> bytes:
    ink = np.asarray(paper_digit()) < 128
    alpha = Image.fromarray(np.where(ink, 255, 0).astype(np.uint8))
    return encode(Image.merge("LA", [Image.new("L", (120, 120), 0), alpha]), "PNG")


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left; a viewer turns it 90 degrees clockwise
    return encode(paper_digit().convert("RGB").rotate(90), "JPEG", exif=exif, quality=95)


UPLOADS = {  # name -> (file name, bytes, what the page must show: "prediction" or error words)
    "text renamed .png": ("essay.png", b"This is my essay, not a picture.\n" * 20, "not an image"),
    "truncated JPEG": ("cut.jpg", truncated_jpeg(), "damaged or incomplete"),
    "zero bytes": ("empty.png", b"", "empty"),
    "1x1 image": ("dot.png", encode(Image.new("RGB", (1, 1)), "PNG"), "too small"),
    "30000x30000 header": ("bomb.png", png_header_only(30000, 30000), "too large"),
    "animated GIF": ("blink.gif", animated_gif(), "prediction"),
    "CMYK JPEG": ("print.jpg", encode(paper_digit().convert("CMYK"), "JPEG"), "prediction"),
    "16-bit PNG": ("scan16.png", sixteen_bit_png(), "prediction"),
    "palette PNG, transparent": ("sticker.png", palette_png_with_transparency(), "prediction"),
    "gray + alpha PNG": ("la.png", gray_alpha_png(), "prediction"),
    "EXIF-rotated JPEG": ("phone.jpg", exif_rotated_jpeg(), "prediction"),
}
MIME = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif"}


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Give the Predict page's uploader one file and rerun."""
    mime = MIME[name.rsplit(".", 1)[1]]
    return at.file_uploader[0].set_value((name, data, mime)).run()


def prediction(at: AppTest) -> str | None:
    """The Prediction metric's value, or None when the page shows none."""
    return next((m.value for m in at.metric if m.label == "Prediction"), None)


@pytest.mark.parametrize("case", list(UPLOADS))
def test_every_odd_upload_gives_a_prediction_or_a_sentence(trained, case):
    name, data, expected = UPLOADS[case]
    class_names = json.loads((trained / "run.json").read_text())["class_names"]
    at = open_page(PREDICT, active_run=trained)
    at.segmented_control[0].set_value("Upload").run()
    upload(at, name, data)
    assert not at.exception
    if expected == "prediction":
        assert prediction(at) in class_names, [e.value for e in at.error + at.info]
    else:
        assert prediction(at) is None
        assert len(at.error) == 1 and expected in at.error[0].value
        assert at.error[0].value.endswith(".")  # a sentence, not an exception's repr

    # the page stays usable: a good picture is then predicted
    upload(at, "good.png", encode(paper_digit(), "PNG"))
    assert not at.exception and not at.error
    assert prediction(at) in class_names


# Drawings: what the canvas sends back, as test_app.py injects it


def data_url(image: Image.Image, kind: str) -> str:
    import base64

    return f"data:image/{kind.lower()};base64," + base64.b64encode(encode(image, kind)).decode()


def canvas_value(image: Image.Image) -> dict:
    """The canvas component's value for a 280x280 drawing."""
    return {"drawing": {"data": data_url(image, "PNG")}}


def canvas(background: str, strokes=(), width: int = 20, ink: str = "white") -> Image.Image:
    """A 280x280 RGBA canvas with lines through each stroke's points."""
    image = Image.new("RGBA", (CANVAS_PX, CANVAS_PX), background)
    pen = ImageDraw.Draw(image)
    for points in strokes:
        pen.line(points, fill=ink, width=width)
    return image


DRAWINGS = {  # name -> (ink option, canvas, what the page must show)
    "empty (white on black)": ("White ink", canvas("black"), "Draw one digit"),
    "empty (black on white)": ("Black ink", canvas("white"), "Draw one digit"),
    "a single dot": ("White ink", canvas("black", [[(140, 140), (141, 141)]]), "only a dot"),
    "ink touching the border": (
        "White ink",
        canvas("black", [[(0, 0), (0, 279)], [(0, 279), (150, 279)]], width=40),
        "prediction",
    ),
    "a full black canvas": ("Black ink", canvas("black"), "one flat dark colour"),
}


@pytest.mark.parametrize("case", list(DRAWINGS))
def test_odd_drawings_give_a_prediction_or_a_sentence(trained, case):
    ink, image, expected = DRAWINGS[case]
    at = open_page(PREDICT, active_run=trained)
    black = ink == "Black ink"
    if black:
        at.toggle(key="black-ink").set_value(True).run()  # new ink clears the canvas (a new key)
    key = f"{state.CANVAS_KEY}-1" if black else state.CANVAS_KEY
    at.session_state[key] = canvas_value(image)
    at.run()
    assert not at.exception
    if expected == "prediction":
        assert prediction(at) is not None
        return
    assert prediction(at) is None
    shown = [e.value for e in at.error] + [i.value for i in at.info]
    assert any(expected in text for text in shown), shown
    if expected == "one flat dark colour":
        assert at.error  # ink everywhere is a mistake to correct, not an empty canvas


FORGED_VALUES = {  # what a tampered browser could send instead of the canvas's PNG
    "not base64": "data:image/png;base64,@@@ not an image @@@",
    "no data URL at all": "hello",
    "a JPEG": data_url(canvas("black", [[(140, 50), (140, 230)]]).convert("RGB"), "JPEG"),
    "a 4,000 px PNG": data_url(Image.new("L", (4000, 4000)), "PNG"),
}


@pytest.mark.parametrize("case", list(FORGED_VALUES))
def test_a_forged_canvas_value_is_read_as_nothing_drawn(trained, case):
    at = open_page(PREDICT, active_run=trained)
    at.session_state[state.CANVAS_KEY] = {"drawing": {"data": FORGED_VALUES[case]}}
    at.run()
    assert not at.exception
    assert prediction(at) is None
    assert any("Draw one digit" in i.value for i in at.info), [i.value for i in at.info]


# Many users on one server: each AppTest is its own browser session in the same process


def models_page_offers_delete(at: AppTest, run: Path) -> bool:
    """Open Models on `run` (as the active run) and say whether it has a Delete button."""
    at.session_state[state.ACTIVE_RUN] = str(run)
    at.switch_page(MODELS).run()
    assert not at.exception
    assert next(s for s in at.selectbox if s.label == "Run").value.path == run
    return any(b.label == "Delete this run" for b in at.button)


def shipped_run() -> Path:
    shipped = [r.path for r in artifacts.list_runs() if r.shipped and r.ok]
    if not shipped:
        pytest.skip("no shipped run in artifacts/")
    return shipped[0]


def session_folder(at: AppTest) -> Path:
    """The private upload folder of an AppTest's session."""
    return state.UPLOADS_ROOT / at.session_state[state.SESSION_ID]


def test_sessions_see_only_their_own_runs_uploads_and_drawings(offline):
    alice, bob = open_page(TRAIN), open_page(MODELS)
    run = train_tiny_model(alice).result.run_dir

    # only the session that trained a run may delete it; shipped runs nobody may
    assert not models_page_offers_delete(bob, run)
    assert any("Read-only" in c.value for c in bob.caption)
    assert not models_page_offers_delete(alice, shipped_run())
    assert not models_page_offers_delete(bob, shipped_run())
    assert models_page_offers_delete(alice, run)

    # the same .zip uploaded by both lands in two private folders, named by its content
    archive = shapes_zip()  # once: a zip's entries carry the time they were written
    for at in (alice, bob):
        at.switch_page(DATA).run()
        choose_own_images(at, "data-dataset", archive, name="../../etc/passwd.zip")
        assert not at.exception
    alice_files, bob_files = (list(session_folder(at).iterdir()) for at in (alice, bob))
    assert session_folder(alice) != session_folder(bob)
    assert [p.name for p in alice_files] == [p.name for p in bob_files]
    assert len(alice_files) == 1 and "passwd" not in alice_files[0].name
    assert not alice_files[0].is_relative_to(session_folder(bob))

    # a drawing in one session is not in the other
    for at in (alice, bob):
        at.session_state[state.ACTIVE_RUN] = str(run)
        at.switch_page(PREDICT).run()
    alice.session_state[state.CANVAS_KEY] = drawn_one()
    alice.run()
    bob.run()
    assert prediction(alice) is not None
    assert prediction(bob) is None and any("Draw one digit" in i.value for i in bob.info)

    # and the owner can delete its run
    models_page_offers_delete(alice, run)
    next(b for b in alice.button if b.label == "Delete this run").click().run()
    assert not alice.exception and not run.exists()


def queue_message(at: AppTest) -> str:
    return next((i.value for i in at.info if "in line" in i.value), "")


def test_more_trainings_than_the_limit_wait_in_line_and_all_finish(offline, monkeypatch):
    """The one slot is held by another training (30 s to go by its own estimate) until every
    session has been told its place: no training can end before the line is seen, however
    fast the machine. Then the slot frees, and the three run one after another and finish."""
    monkeypatch.setenv("CNN_MAX_TRAININGS", "1")
    slots = training.TrainingSlots()
    monkeypatch.setattr(training.jobs, "SLOTS", slots)  # the limit is read here
    other = SimpleNamespace(asked_at=time.monotonic(), remaining_s=30.0)
    assert slots.acquire(other, threading.Event())
    sessions = [open_page(TRAIN) for _ in range(3)]
    jobs = [start_tiny_training(at) for at in sessions]

    # while the slot is taken, each is told its place in line ...
    told = [queue_message(at) for at in sessions]
    waits = []
    for place, message in enumerate(told, start=1):
        found = re.match(
            rf"Waiting for a free training slot: you are number {place} in line, "
            r"so about (\d+) s to go\.",
            message,
        )
        assert found, message
        waits.append(int(found.group(1)))
    # ... and about how long: each waits a training longer than the one before it
    assert waits[0] < waits[1] < waits[2]
    assert [job.state for job in jobs] == ["queued"] * 3
    slots.release(other)
    for job in jobs:
        job.join(TIMEOUT_S)
    runs = []
    for at, job in zip(sessions, jobs, strict=True):
        at.run()
        assert not at.exception and job.state == "finished", job.error
        assert any("Test accuracy" in s.value for s in at.success)
        assert at.session_state[state.ACTIVE_RUN] == str(job.result.run_dir)
        assert set(at.session_state[state.SESSION_RUNS]) == {str(job.result.run_dir)}
        runs.append(job.result.run_dir)
    listed = artifacts.list_runs([offline])
    assert len(set(runs)) == 3 and {r.path for r in listed} == set(runs)
    assert all(r.ok for r in listed)


def test_a_training_a_cluster_started_again_says_so_on_the_train_page(offline):
    """A "restarted" event (a Ray cluster lost the worker training the model and started the
    task again, tests/test_ray.py) is a warning on the Train page beside the end banner."""
    from cnn.training.events import TrainingEvent

    at = open_page(TRAIN)
    job = start_tiny_training(at)
    sentence = (
        "The cluster lost the worker training this model; training started again from the "
        "beginning (try 2 of 4)."
    )
    job.events.put(TrainingEvent("restarted", message=sentence))
    job.join(TIMEOUT_S)
    at.run()
    assert not at.exception and job.state == "finished", job.error
    assert sentence in [w.value for w in at.warning]
    assert any("Test accuracy" in s.value for s in at.success)


def test_a_tab_closed_mid_training_stops_the_job_and_frees_its_memory(offline, monkeypatch):
    monkeypatch.setenv("CNN_ABANDON_AFTER_S", "1")
    at = open_page(TRAIN)
    job = start_tiny_training(at, epochs=20, max_samples=2000)
    assert job.abandon_after == 1 and not job.done
    del at  # the tab is closed: nobody polls the job again
    gc.collect()

    job.join(TIMEOUT_S)
    assert job.state == "stopped" and "tab went away" in job.result.message
    listed = artifacts.list_runs([offline])
    assert [r.path for r in listed] == [job.result.run_dir] and listed[0].ok
    assert not [p for p in offline.iterdir() if p.name.startswith(artifacts.TMP_PREFIX)]

    # once the session has dropped the job, the model's memory can be reclaimed
    model = weakref.ref(job.result.model)
    del job
    gc.collect()
    assert model() is None


# Training settings the page lets a student choose: each ends in a sentence


def set_widget(widgets, label: str, value) -> None:
    next(w for w in widgets if w.label == label).set_value(value)


@pytest.mark.parametrize(
    "settings, words, shown_as",
    [
        (
            {"optimizer": "rmsprop", "learning_rate": 1.0},
            "learning rate is probably too high",
            "warning",
        ),
        ({"max_samples": 10_000}, "Asked for 10000 training samples", "error"),
        ({"memory_budget": 1024}, "GB of memory per step", "error"),
    ],
    ids=["diverging learning rate", "more samples than exist", "would not fit in memory"],
)
def test_train_page_turns_bad_settings_into_a_sentence(
    offline, monkeypatch, settings, words, shown_as
):
    if "memory_budget" in settings:
        monkeypatch.setenv("CNN_TRAIN_MEMORY_BUDGET", str(settings["memory_budget"]))
    at = open_page(TRAIN)
    if "optimizer" in settings:
        set_widget(at.selectbox, "Optimizer", settings["optimizer"])
        set_widget(at.select_slider, "Learning rate", settings["learning_rate"])
    job = start_tiny_training(at, max_samples=settings.get("max_samples", 300))
    job.join(TIMEOUT_S)
    at.run()
    assert not at.exception
    messages = getattr(at, shown_as)  # st.warning: it trained, but learned nothing useful
    assert any(words in m.value for m in messages), [m.value for m in at.error + at.warning]
    assert not at.success


def test_reruns_during_a_background_training_do_not_corrupt_it(trained, tmp_path):
    """Streamlit clears the Keras session after every rerun; a training running meanwhile must
    end exactly as the same training with no reruns (same seed, same weights)."""
    config = training.TrainConfig(
        dataset="mnist", arch="tiny_vgg", epochs=3, max_samples=2000, batch_size=32, seed=7
    )
    reference = training.train(config)
    job = training.TrainingJob(config, out_dir=tmp_path).start()
    at = open_page(PREDICT, active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    reruns_while_training = 0
    for _ in range(50):
        at.run()
        assert not at.exception
        reruns_while_training += job.state == "running"
    job.join(TIMEOUT_S)
    assert reruns_while_training >= 10, "the training ended before the reruns could overlap it"
    assert job.state == "finished", job.error
    assert job.result.history["loss"] == reference.history["loss"]
    for got, want in zip(
        job.result.model.get_weights(), reference.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert artifacts.load_run(job.result.run_dir).class_names == reference.record.class_names
