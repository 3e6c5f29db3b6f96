"""A dataset made in the browser (`cnn.datasets.builder`): names, limits, deletion, the zip
round trip through `cnn.datasets.load("folder", ...)`, and a real tiny training on drawings
whose model then reads new drawings through Predict's preprocessing.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from helpers import SYMBOL_STROKES, symbol_canvas
from PIL import Image, ImageDraw

from cnn import datasets, preprocess
from cnn.datasets import builder
from cnn.datasets.builder import DatasetBuilder

SYMBOLS = list(SYMBOL_STROKES)  # bar, cross, ring


def drawn(made: DatasetBuilder, symbol: str, seed: int):
    """Add one drawing of `symbol` the way the page does (Predict's drawing preprocessing)."""
    steps = preprocess.prepare_drawing(symbol_canvas(symbol, seed), made.preprocessing)
    return made.add(symbol, steps.input), steps


def drawn_set(folder, per_class: int, seeds_from: int = 0) -> DatasetBuilder:
    made = DatasetBuilder(folder)
    for symbol in SYMBOLS:
        made.add_class(symbol)
        for i in range(per_class):
            drawn(made, symbol, seeds_from + i)
    return made


def paper_photo(symbol: str) -> bytes:
    """A JPEG of a symbol drawn in dark ink on light paper (what a phone camera sends)."""
    image = Image.new("RGB", (480, 360), (225, 222, 210))
    pen = ImageDraw.Draw(image)
    for stroke in SYMBOL_STROKES[symbol]:
        pen.line([(x + 100, y + 40) for x, y in stroke], fill=(30, 30, 40), width=12)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, words",
    [("", "Give the class"), ("a/b", "letters, digits"), ("..", "letters, digits"),
     (" test ", "names a split"), ("x" * 31, "at most 30")],
)  # fmt: skip
def test_bad_class_names_are_refused_with_a_sentence(tmp_path, name, words):
    with pytest.raises(datasets.DatasetError, match=words):
        DatasetBuilder(tmp_path).add_class(name)


def test_classes_are_unique_and_at_most_ten(tmp_path):
    made = DatasetBuilder(tmp_path)
    assert made.add_class("  smiley ") == "smiley"
    with pytest.raises(datasets.DatasetError, match="already"):
        made.add_class("Smiley")
    for i in range(builder.MAX_CLASSES - 1):
        made.add_class(f"class {i}")
    with pytest.raises(datasets.DatasetError, match="at most 10 classes"):
        made.add_class("one more")


def test_a_drawing_is_stored_as_exactly_what_predict_gives_the_model(tmp_path):
    """Stored PNG -> the training pipeline's decode gives Predict's model input, bit for bit."""
    from cnn.datasets.pipeline import decode_photo

    made = DatasetBuilder(tmp_path)
    made.add_class("ring")
    path, steps = drawn(made, "ring", 0)
    assert path.suffix == ".png" and path.parent.name == "ring"
    assert made.preprocessing["method"] == "digits"
    decoded = decode_photo(str(path), (28, 28), 1)
    np.testing.assert_array_equal(decoded.astype(np.float32) / 255, steps.input)
    assert drawn(made, "ring", 0)[0] == path  # the same drawing twice is stored once
    assert made.counts() == {"ring": 1}


def test_a_photo_of_paper_becomes_a_drawing_example_and_a_photo_stays_a_photo(tmp_path):
    drawings = DatasetBuilder(tmp_path / "d")
    drawings.add_class("cross")
    stored = preprocess.load_image(drawings.add_picture("cross", paper_photo("cross")))
    assert stored.shape == (28, 28, 3) and stored[0, 0].max() == 0  # white on black, MNIST-style
    photos = DatasetBuilder(tmp_path / "p", kind="photos")
    photos.add_class("cross")
    path = photos.add_picture("cross", paper_photo("cross"))
    assert path.suffix == ".jpg"
    assert preprocess.load_image(path).shape == (builder.PHOTO_SIDE, builder.PHOTO_SIDE, 3)
    with pytest.raises(preprocess.PreprocessError):
        photos.add_picture("cross", b"not an image at all")


def test_a_full_dataset_refuses_more_with_a_sentence(tmp_path, monkeypatch):
    made = DatasetBuilder(tmp_path)
    made.add_class("bar")
    monkeypatch.setattr(builder, "MAX_EXAMPLES", 3)
    for seed in range(3):
        drawn(made, "bar", seed)
    with pytest.raises(datasets.DatasetError, match="This dataset is full"):
        drawn(made, "bar", 3)
    monkeypatch.setattr(builder, "MAX_EXAMPLES", 100)
    monkeypatch.setattr(builder, "MAX_BYTES", made.used_bytes() + 10)
    with pytest.raises(datasets.DatasetError, match="delete some before adding more"):
        drawn(made, "bar", 4)
    assert made.counts() == {"bar": 3}  # nothing half-written


def test_deleting_examples_and_classes(tmp_path):
    made = drawn_set(tmp_path / "made", per_class=2)
    victim = made.examples("bar")[0]
    made.delete(victim)
    assert not victim.exists() and made.counts()["bar"] == 1
    outsider = tmp_path / "elsewhere.png"
    outsider.write_bytes(b"x")
    with pytest.raises(datasets.DatasetError, match="not an example of this dataset"):
        made.delete(outsider)
    assert outsider.exists()
    made.remove_class("ring")
    assert made.classes == ["bar", "cross"]


def test_problems_and_balance_say_what_to_do(tmp_path):
    made = DatasetBuilder(tmp_path)
    made.add_class("bar")
    assert made.problems() == ["Name at least 2 classes."]
    made.add_class("ring")
    for seed in range(builder.MIN_PER_CLASS * 3):
        drawn(made, "bar", seed)
    assert "at least 5 examples (ring)" in made.problems()[0]
    for seed in range(builder.MIN_PER_CLASS):
        drawn(made, "ring", seed)
    assert made.problems() == []
    assert made.balance_note().startswith("'ring' has 3x fewer examples than 'bar'")


def test_zip_round_trip_loads_as_a_drawing_dataset(tmp_path):
    made = drawn_set(tmp_path / "made", per_class=5)
    archive = tmp_path / "my_dataset.zip"
    archive.write_bytes(made.zip_bytes())
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "dataset.json" in names
    assert {n.split("/")[0] for n in names if n != "dataset.json"} == set(SYMBOLS)
    data = datasets.load("folder", archive)
    assert data.info.kind == "digits" and data.info.image_size == (28, 28)
    assert data.info.channels == 1 and data.info.method == "digits"
    assert data.class_names == SYMBOLS
    assert len(data.train) + len(data.test) == 15
    # a zip of plain photo folders (no manifest) still loads as photos
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        for name in made.classes:
            for path in made.examples(name):
                zf.write(path, f"set/{name}/{path.name}")
    assert datasets.load("folder", plain).info.kind == "photos"


def test_snapshots_are_named_by_content_and_bounded(tmp_path):
    made = drawn_set(tmp_path / "made", per_class=1)
    first = made.snapshot(tmp_path / "snaps")
    assert made.snapshot(tmp_path / "snaps") == first
    assert datasets.load("folder", first).info.kind == "digits"
    copies = [first]
    for seed in range(1, 4):
        drawn(made, "bar", seed)
        copies.append(made.snapshot(tmp_path / "snaps"))
    assert len(set(copies)) == 4
    kept = sorted(p for p in (tmp_path / "snaps").iterdir())
    assert kept == sorted(copies[-builder.KEEP_SNAPSHOTS :])


def test_a_model_trained_on_drawings_reads_new_drawings(tmp_path):
    """Real tiny training with the Quick preset on 3 x 12 drawings; new drawings predicted."""
    from cnn import artifacts
    from cnn.inspect import Inspector
    from cnn.training import TrainConfig, preset_settings, train

    made = drawn_set(tmp_path / "made", per_class=12)
    copy = made.snapshot(tmp_path / "snaps")
    data = datasets.load("folder", copy)
    settings = preset_settings("Quick", data.info.kind, len(data.train))
    result = train(TrainConfig(dataset="folder", data=str(copy), **settings), out_dir=tmp_path)
    assert result.state == "finished", result.message
    run = artifacts.load_run(result.run_dir)
    assert run.preprocessing["method"] == "digits"
    assert run.record.input_shape == [28, 28, 1]
    inspector = Inspector(run.model, jit_compile=False)
    new = [(i, s) for i, s in enumerate(SYMBOLS) for _ in range(4)]
    inputs = np.stack(
        [preprocess.prepare_drawing(symbol_canvas(s, 1000 + k), run.preprocessing).input
         for k, (_, s) in enumerate(new)]
    )  # fmt: skip
    predicted = inspector.probabilities(inputs).argmax(axis=1)
    correct = (predicted == np.array([i for i, _ in new])).mean()
    print(f"\nnew drawings read right: {correct:.0%} (test split {result.test_accuracy:.0%})")
    assert correct >= 0.75
