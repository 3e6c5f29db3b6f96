"""Lesson links: a Train or Predict setup in the URL, read with a sentence for every bad part."""

from __future__ import annotations

import pytest
from helpers import APP, TIMEOUT_S
from streamlit.testing.v1 import AppTest

from cnn import architectures, artifacts, datasets, lesson
from cnn.training import preset_settings
from ui import lesson as lesson_ui
from ui import state


def test_a_setup_survives_a_round_trip_through_its_link():
    spec = architectures.REGISTRY["tiny_vgg"].spec((28, 28, 1), 10).to_dict()
    spec["conv_blocks"][0]["filters"] = 7
    setup = lesson.Lesson(
        page="train", dataset="fashion_mnist", arch="tiny_vgg", spec=spec, preset="Full",
        settings={"epochs": 3, "learning_rate": 0.003, "optimizer": "sgd",
                  "augmentation": "strong", "seed": 5, "batch_size": 32},
        lock=True, present=True,
    )  # fmt: skip
    params = lesson.encode(setup)
    assert params["lr"] == "0.003" and params["augmentation"] == "strong"
    assert len(params["spec"]) < 400
    assert lesson.parse(params) == setup


def test_an_older_link_with_augment_still_opens():
    assert lesson.parse({"augment": "1"}).settings == {"augmentation": "standard"}
    assert lesson.parse({"augment": "0"}).settings == {"augmentation": "none"}
    assert (
        "Augmentation (augmentation) = maybe is not a choice"
        in (lesson.parse({"augment": "maybe"}).problems[0])
    )


def test_every_bad_part_of_a_link_is_a_sentence_and_the_default_is_kept():
    read = lesson.parse(
        {"dataset": "imagenet", "epochs": "many", "lr": "-1", "optimizer": "lion", "colour": "red",
         "spec": "not-a-spec", "run": "../etc", "batch_size": "64", "arch": "tiny_vgg"}
    )  # fmt: skip
    assert read.dataset is None and read.run is None and read.spec is None
    assert read.settings == {"batch_size": 64} and read.arch == "tiny_vgg"
    assert len(read.problems) == 6
    assert read.problems[0] == (
        "Dataset (dataset) = imagenet is not a choice: it must be one of mnist, fashion_mnist, "
        "cats_vs_dogs, flowers17, folder. The link's dataset=imagenet was ignored."
    )
    assert "Epochs (epochs) = many is not a whole number" in read.problems[1]
    assert "Learning rate (lr) = -1 is out of range" in read.problems[2]
    assert any("'colour' is not one CNN Lab knows" in p for p in read.problems)
    assert any("architecture is damaged" in p for p in read.problems)
    with pytest.raises(architectures.SpecError, match="too long"):
        lesson.decode_spec("A" * (lesson.MAX_SPEC_CHARS + 1))


def open_link(page: str, params: dict[str, str]) -> AppTest:
    """A fresh session opened on a lesson link (its page= sends the router to the page)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update({**params, "page": page})
    return at.run()


def test_a_locked_training_lesson_gives_exactly_its_setup(offline):
    link = {"dataset": "mnist", "arch": "tiny_vgg", "epochs": "1", "lr": "0.003",
            "optimizer": "rmsprop", "seed": "5", "batch_size": "32", "lock": "1"}  # fmt: skip
    at = open_link("train", link)
    assert not at.exception and not at.warning
    assert not [w for w in at.number_input if w.label == "Epochs"]  # settings hidden
    assert not [w for w in at.get("expandable") if "Edit the layers" in w.label]
    next(b for b in at.button if b.label == "Start training").click().run()
    job = at.session_state[state.TRAINING_JOB]
    job.join(TIMEOUT_S)
    config = job.config
    assert (config.arch, config.epochs, config.learning_rate, config.optimizer) == (
        "tiny_vgg",
        1,
        0.003,
        "rmsprop",
    )
    assert (config.seed, config.batch_size, config.dataset) == (5, 32, "mnist")
    assert job.state == "finished", job.error
    assert lesson_ui.LESSON in at.session_state


def test_a_bad_link_opens_the_defaults_with_sentences(offline):
    at = open_link("predict", {"run": "nope", "source": "Webcam", "x": "1"})
    assert not at.exception
    shown = " ".join(w.value for w in at.warning)
    assert "run nope is not on this server" in shown and "source=Webcam" in shown
    assert "'x' is not one CNN Lab knows" in shown
    assert at.metric == [] and any("Draw" in i.value for i in at.info)  # the defaults: Draw


def test_the_predict_link_picks_the_run_and_the_input(trained):
    at = open_link("predict", {"run": trained.name, "source": "Upload", "lock": "1"})
    assert not at.exception
    assert at.session_state[state.ACTIVE_RUN] == str(trained)
    title = artifacts.read_run_info(trained).title
    assert any(title in c.value for c in at.caption)  # the model, named, not pickable
    assert not at.segmented_control and at.get("file_uploader")


def test_a_link_with_no_browser_address_is_its_query_with_a_sentence(offline):
    # AppTest, like a client that sends no context, gives st.context.url as None: the box
    # held "b''://b''b''?page=..." before
    at = open_link("predict", {"source": "Draw"})
    assert not at.exception
    link = next(c.value for c in at.code if "page=predict" in c.value)
    assert link.startswith("?page=predict") and "b''" not in link
    assert any("add this to the end of it" in c.value for c in at.caption)


def test_a_link_with_a_value_out_of_range_says_so_and_keeps_the_default(offline):
    at = open_link("train", {"lr": "5", "epochs": "5000"})
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert any(w.startswith("Learning rate (lr) = 5 is out of range: it must be") for w in shown)
    assert any(w.startswith("Epochs (epochs) = 5000 is out of range: it must be") for w in shown)
    # the page's defaults: Quick's, for the digits this machine has (the embedded 5,000 here)
    quick = preset_settings("Quick", "digits", len(datasets.load("mnist").train))
    rate = next(w for w in at.select_slider if w.label == "Learning rate")
    assert rate.value == quick["learning_rate"]  # the default, kept
    epochs = next(w for w in at.number_input if w.label == "Epochs")
    assert epochs.value == quick["epochs"]


def test_a_link_can_open_every_page_of_the_app():
    """Every page the router knows (app.py, by its file's name) is a page a link may name."""
    import ast

    from conftest import REPO

    tree = ast.parse((REPO / "app.py").read_text())
    named = {
        node.elts[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple) and len(node.elts) == 3
        and isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str)
    }  # fmt: skip
    assert named and named == set(lesson.PAGES)
    for page in named:
        assert lesson.parse({"page": page}).page == page
