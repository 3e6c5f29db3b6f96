"""Shared fixtures: an offline environment, the real shared data when present, one tiny real run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CNN_OFFLINE"] = "1"  # nothing is downloaded from a dataset hub at test time

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CNN_DATA_DIR") or REPO.parent / "shared" / "data")


def shared_data_or_skip(name: str) -> Path:
    """The real dataset folder ../shared/data/<name>, or skip: it exists only on team machines."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"real dataset {name} not present at {folder} (set CNN_DATA_DIR to run this)")
    return folder


@pytest.fixture(scope="session")
def empty_data_dir(tmp_path_factory) -> Path:
    """A data directory with nothing in it: loaders must fall back to what works offline."""
    return tmp_path_factory.mktemp("empty-data")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, empty_data_dir) -> Path:
    """One real run: TinyVGG trained 1 epoch on 600 embedded MNIST digits, saved to disk."""
    from cnn.training import TrainConfig, train

    out = tmp_path_factory.mktemp("runs")
    old = os.environ.get("CNN_DATA_DIR")
    os.environ["CNN_DATA_DIR"] = str(empty_data_dir)
    try:
        result = train(
            TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=600, batch_size=32),
            out_dir=out,
        )
    finally:
        if old is None:
            os.environ.pop("CNN_DATA_DIR")
        else:
            os.environ["CNN_DATA_DIR"] = old
    assert result.state == "finished", result.message
    return result.run_dir


@pytest.fixture
def offline(monkeypatch, tmp_path, empty_data_dir) -> Path:
    """An empty user runs folder and an empty data folder; returns the runs folder."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs))
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    return runs


@pytest.fixture
def trained(monkeypatch, tiny_run, empty_data_dir) -> Path:
    """The shared tiny MNIST run, its folder used as the user runs folder; returns the run."""
    monkeypatch.setenv("CNN_RUNS_DIR", str(tiny_run.parent))
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    return tiny_run
