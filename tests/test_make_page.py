"""AppTest of the "Make a dataset" page: classes, drawn examples, deletion, "Train on it" and
the Train page training on it; sessions never see each other's datasets.
"""

from __future__ import annotations

import json

import pytest
from helpers import SYMBOL_STROKES, canvas_value, open_page, symbol_canvas, train_tiny_model

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

    # Train on it: a frozen copy becomes this session's own dataset, the Train page offers it
    next(b for b in at.button if b.label == "Train on it").click().run()
    assert not at.exception
    copy = state.UPLOADS_ROOT / at.session_state[state.SESSION_ID] / "snapshots"
    assert at.session_state[state.OWN_DATASET] == str(copy / made.fingerprint())
    assert any("Your own images" in s.value for s in at.success)
    at.switch_page("app_pages/train.py").run()
    picker = at.selectbox(key="train-dataset")
    picker.select_index(len(picker.options) - 1).run()
    assert at.toggle(key="train-dataset-made").value
    job = train_tiny_model(at, dataset="folder", max_samples=0)
    assert job.state == "finished", job.error
    record = json.loads((job.result.run_dir / "run.json").read_text())
    assert record["class_names"] == sorted(symbols)
    assert record["preprocessing"]["method"] == "digits"  # reads drawings on Predict


def test_sessions_never_see_each_others_datasets(offline, sessions_root):
    first = open_page(PAGE)
    add_class(first, "secret")
    second = open_page(PAGE)
    assert made_folder(first) != made_folder(second)
    assert not (made_folder(second) / "secret").exists()
    assert second.info[0].value.startswith("Name your first class")
