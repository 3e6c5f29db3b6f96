"""AppTest of the "Make a dataset" page: classes, drawn examples, deletion, "Train on it"
training a small CNN right on the page (the new run becomes the active model), "Go to Train"
opening the Train page on it; sessions never see each other's datasets.
"""

from __future__ import annotations

import json
import re

import pytest
from helpers import SYMBOL_STROKES, TIMEOUT_S, canvas_value, open_page, symbol_canvas

from cnn.datasets import builder
from ui import state

PAGE = "app_pages/make.py"


@pytest.fixture
def sessions_root(monkeypatch, tmp_path):
    """Session folders under the test's own temporary folder."""
    monkeypatch.setattr(state, "UPLOADS_ROOT", tmp_path / "sessions")
    return tmp_path / "sessions"


def add_class(at, name: str) -> None:
    at.text_input[0].input(name)
    next(b for b in at.button if b.label == "Add class").click().run()


def add_drawing(at, symbol: str, seed: int) -> None:
    """Draw on the page's canvas (as the canvas reports it) and click "Add to <class>"."""
    generation = at.session_state[state.CANVAS_GENERATION] if (
        state.CANVAS_GENERATION in at.session_state
    ) else 0  # fmt: skip
    key = state.CANVAS_KEY if generation == 0 else f"{state.CANVAS_KEY}-{generation}"
    at.session_state[key] = canvas_value(symbol_canvas(symbol, seed))
    at.run()
    at.segmented_control[0].set_value(symbol).run()
    next(b for b in at.button if b.label == f"Add to '{symbol}'").click().run()
    assert not at.exception


def made_folder(at):
    return state.UPLOADS_ROOT / at.session_state[state.SESSION_ID] / "made"


def test_a_bad_class_name_is_a_sentence(offline, sessions_root):
    at = open_page(PAGE)
    add_class(at, "a/b")
    assert not at.exception
    assert "letters, digits" in at.error[0].value
    assert at.info[0].value.startswith("Name your first class")


def test_make_a_drawn_dataset_delete_one_then_train_on_it(offline, sessions_root):
    at = open_page(PAGE)
    symbols = list(SYMBOL_STROKES)[:2]
    for symbol in symbols:
        add_class(at, symbol)
    assert "Name at least" not in " ".join(i.value for i in at.info)
    for symbol in symbols:
        for seed in range(builder.MIN_PER_CLASS + 1):
            add_drawing(at, symbol, seed)
    made = builder.DatasetBuilder(made_folder(at))
    assert made.counts() == dict.fromkeys(symbols, builder.MIN_PER_CLASS + 1)

    # delete one example with its ✕
    victim = made.examples(symbols[0])[0]
    at.button(key=f"delete-{symbols[0]}-{victim.name}").click().run()
    assert not victim.exists()
    assert made.counts()[symbols[0]] == builder.MIN_PER_CLASS

    # Train on it: a frozen copy becomes this session's own dataset and trains right here
    next(b for b in at.button if b.label == "Train on it").click().run()
    assert not at.exception
    copy = state.UPLOADS_ROOT / at.session_state[state.SESSION_ID] / "snapshots"
    assert at.session_state[state.OWN_DATASET] == str(copy / made.fingerprint())
    job = at.session_state[state.TRAINING_JOB]
    assert job.config.data == str(copy / made.fingerprint())
    from ui import maker  # (importing ui.inputs first meets cnn.record's import cycle)

    assert job.config.arch == maker.SMALL_SET_ARCHS["digits"]
    job.join(TIMEOUT_S)
    at.run()
    assert not at.exception and job.state == "finished", job.error
    assert any("Test accuracy" in s.value for s in at.success)  # the Train page's live view
    # the new run is the active model: Predict opens on it
    assert at.session_state[state.ACTIVE_RUN] == str(job.result.run_dir)
    record = json.loads((job.result.run_dir / "run.json").read_text())
    assert record["class_names"] == sorted(symbols)
    assert record["preprocessing"]["method"] == "digits"  # reads drawings on Predict
    assert not digit_words(at), digit_words(at)

    # Go to Train: the Train page opens on this dataset, with every setting
    next(b for b in at.button if b.label == "Go to Train").click().run()
    assert not at.exception
    assert at.toggle(key="train-dataset-made").value


def digit_words(at) -> list[str]:
    """The page's texts that speak of digits (a made set is the teacher's own symbols)."""
    texts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in at.get(kind)]  # fmt: skip
    texts += [w.label for kind in ("button", "segmented_control", "text_input", "radio")
              for w in at.get(kind)]  # fmt: skip
    return [t for t in texts if re.search(r"\bdigits?\b|MNIST's pen", str(t), re.IGNORECASE)]


def test_the_canvas_asks_for_the_class_being_drawn(offline, sessions_root):
    """Issue 28, 5.1: the canvas speaks of the class it draws for, never of digits."""
    at = open_page(PAGE)
    for symbol in ("star", "moon"):
        add_class(at, symbol)
    at.segmented_control[0].set_value("moon").run()
    assert any(c.value == "Draw one 'moon', as large as the square:" for c in at.caption)
    assert not digit_words(at), digit_words(at)


def test_sessions_never_see_each_others_datasets(offline, sessions_root):
    first = open_page(PAGE)
    add_class(first, "secret")
    second = open_page(PAGE)
    assert made_folder(first) != made_folder(second)
    assert not (made_folder(second) / "secret").exists()
    assert second.info[0].value.startswith("Name your first class")
