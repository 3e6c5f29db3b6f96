"""One geometry: a picture becomes the same model input through training and through Predict.

The training pipeline (`cnn.datasets.make_pipeline`) and the Predict path
(`cnn.preprocess.load_image` + `prepare_upload`) must give the same pixels, and so `evaluate
--data` and `predict` must agree on a folder of photos. Classes are matched by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn import datasets, geometry, preprocess
from cnn.__main__ import main
from cnn.datasets import Split
from cnn.training import TrainConfig, train
from conftest import shared_data_or_skip

PHOTO = {"method": "photos", "image_size": [48, 48], "channels": 3}
GRAY_PHOTO = {"method": "photos", "image_size": [40, 40], "channels": 1}
FASHION = {"method": "grayscale", "image_size": [28, 28], "channels": 1}


def write_photos(folder: Path, classes: dict[str, int], seed: int = 0) -> list[Path]:
    """Real JPEG files of several sizes and aspect ratios, one EXIF-rotated, per class folder.

    Class 0 holds dark blobs on light, class 1 light blobs on dark: learnable in one epoch.
    """
    rng = np.random.default_rng(seed)
    paths = []
    for c, (name, count) in enumerate(classes.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            h, w = int(rng.integers(30, 120)), int(rng.integers(30, 160))
            base = 200 if c == 0 else 40
            pixels = np.clip(rng.normal(base, 30, (h, w, 3)), 0, 255).astype(np.uint8)
            top, left = h // 4, w // 4
            pixels[top : top + h // 2, left : left + w // 2] = 255 - base
            path = folder / name / f"{i}.jpg"
            exif = Image.Exif()
            if i == 0:
                exif[0x0112] = 6  # view rotated: both paths must turn it upright
            Image.fromarray(pixels).save(path, quality=90, exif=exif)
            paths.append(path)
    return paths


def pipeline_inputs(split: Split, record: dict) -> np.ndarray:
    size, channels = tuple(record["image_size"]), record["channels"]
    return np.concatenate([x.numpy() for x, _ in datasets.make_pipeline(split, size, channels, 4)])


@pytest.mark.parametrize("record", [PHOTO, GRAY_PHOTO], ids=["rgb", "gray"])
def test_a_photo_is_the_same_input_in_training_and_on_predict(tmp_path, record):
    paths = write_photos(tmp_path, {"a": 4, "b": 3})
    split = Split(labels=np.zeros(len(paths), np.int64), paths=np.array([str(p) for p in paths]))
    trained = pipeline_inputs(split, record)
    predicted = np.stack(
        [preprocess.prepare_upload(preprocess.load_image(p), record).input for p in paths]
    )
    assert (
        trained.shape == predicted.shape == (len(paths), *record["image_size"], record["channels"])
    )
    assert np.abs(trained - predicted).max() <= 1 / 255
    # the EXIF-rotated photo is upright in both: 30-120 rows by 30-160 columns were swapped
    upright = preprocess.load_image(paths[0])
    with Image.open(paths[0]) as raw:
        assert upright.shape[:2] == raw.size  # (h, w) of the viewed image = (w, h) stored


def test_a_fashion_item_is_the_same_input_in_training_and_on_predict(tmp_path):
    rng = np.random.default_rng(1)
    items = np.zeros((5, 28, 28, 1), np.uint8)
    items[:, 6:22, 8:20] = rng.integers(120, 256, (5, 16, 12, 1))  # light items on black
    trained = pipeline_inputs(Split(labels=np.zeros(5, np.int64), images=items), FASHION)
    for item, expected in zip(items, trained, strict=True):
        path = tmp_path / "item.png"
        Image.fromarray(item[:, :, 0]).save(path)
        steps = preprocess.prepare_upload(preprocess.load_image(path), FASHION)
        assert np.abs(steps.input - expected).max() <= 1 / 255
        assert not steps.notes  # a gray item needs no conversion and no inversion


def test_thumbnails_use_the_same_crop():
    image = np.arange(60 * 90 * 3, dtype=np.uint8).reshape(60, 90, 3)
    thumb = geometry.thumbnail(image, 20)
    assert thumb.shape == (20, 20, 3)
    np.testing.assert_array_equal(thumb, geometry.fit(image, (20, 20), 3))
    np.testing.assert_array_equal(geometry.centre_crop(image, 1.0), image[:, 15:75])


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    """A real run trained for one epoch on a folder of JPEG photos, and that folder."""
    root = tmp_path_factory.mktemp("photos")
    write_photos(root / "set", {"dark": 24, "light": 24}, seed=3)
    result = train(
        TrainConfig(dataset="folder", data=str(root / "set"), arch="tiny_vgg", epochs=3,
                    image_size=32, batch_size=8, learning_rate=3e-3),
        out_dir=root / "runs",
    )  # fmt: skip
    assert result.state == "finished", result.message
    return result.run_dir, root / "set"


def run_cli(capsys, *argv) -> tuple[int, list]:
    code = main([*argv, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    return code, [json.loads(line) for line in lines]


def test_evaluate_and_predict_agree_on_a_folder_of_photos(photo_run, capsys):
    run_dir, folder = photo_run
    code, [evaluated] = run_cli(capsys, "evaluate", "--model", str(run_dir), "--data", str(folder))
    assert code == 0
    files = sorted(folder.rglob("*.jpg"))
    code, predicted = run_cli(capsys, "predict", "--model", str(run_dir), *map(str, files))
    assert code == 0 and len(predicted) == len(files)
    names = json.loads((run_dir / "run.json").read_text())["class_names"]
    confusion = np.zeros((len(names), len(names)), np.int64)
    for path, doc in zip(files, predicted, strict=True):
        confusion[names.index(path.parent.name), names.index(doc["label"])] += 1
    np.testing.assert_array_equal(confusion, np.array(evaluated["confusion"]))
    assert evaluated["n"] == len(files)


def test_evaluate_matches_classes_by_name_not_by_order(trained, tmp_path, capsys):
    """The tiny MNIST run on a folder of three of its classes, listed in another order."""
    data = datasets.load("mnist")
    folder = tmp_path / "digits"
    chosen = {"7": 6, "1": 4, "3": 5}  # alphabetical order 1, 3, 7 differs from this
    for name, count in chosen.items():
        (folder / name).mkdir(parents=True)
        members = np.flatnonzero(data.test.labels == int(name))[:count]
        for i in members:
            Image.fromarray(data.test.images[i, :, :, 0]).save(folder / name / f"{i}.png")
    code, [doc] = run_cli(capsys, "evaluate", "--model", str(trained), "--data", str(folder))
    assert code == 0
    counts = {row["name"]: row["n"] for row in doc["per_class"]}
    assert {name: counts[name] for name in chosen} == chosen
    assert sum(counts.values()) == doc["n"] == 15
    assert sorted(doc["classes_without_images"]) == ["0", "2", "4", "5", "6", "8", "9"]


def test_evaluate_names_classes_the_model_does_not_know(trained, tmp_path, capsys):
    for name in ("1", "cat"):
        (tmp_path / "odd" / name).mkdir(parents=True)
        Image.new("L", (28, 28), 0).save(tmp_path / "odd" / name / "x.png")
    code = main(["evaluate", "--model", str(trained), "--data", str(tmp_path / "odd")])
    assert code == 2
    assert "does not know: cat" in capsys.readouterr().err


@pytest.mark.shared_data
def test_evaluate_the_shipped_flowers_run_on_the_release_folder(capsys):
    """The folder lists the 17 classes alphabetically; the run keeps Oxford's release order."""
    folder = shared_data_or_skip("flowers17")
    runs = sorted(Path(__file__).resolve().parents[1].glob("artifacts/*-flowers17-*"))
    if not runs:
        pytest.skip("no shipped flowers17 run in artifacts/")
    code, [doc] = run_cli(capsys, "evaluate", "--model", str(runs[-1]), "--data", str(folder))
    assert code == 0 and doc["n"] == 1020
    assert doc["accuracy"] > 0.8  # 80% of these trained it; chance is 6%
