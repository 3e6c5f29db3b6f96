"""Quick is good, not just quick (issue 33): on the embedded 5,000 digits a new user meets
offline, the Quick preset trains the fast recipe and reaches at least 95% on the test split;
with more digits it samples them, and a small made set keeps its own epoch count."""

from __future__ import annotations

from cnn import datasets
from cnn.training import TrainConfig, preset_settings, train


def test_quick_on_the_embedded_digits_reaches_95_percent(monkeypatch, tmp_path, empty_data_dir):
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    data = datasets.load("mnist")
    assert data.source == datasets.EMBEDDED_MNIST_SOURCE
    settings = preset_settings("Quick", data.info.kind, len(data.train))
    assert settings["arch"] == "fast_cnn" and settings["epochs"] == 4
    result = train(TrainConfig(dataset="mnist", **settings), out_dir=tmp_path)
    assert result.state == "finished", result.message
    assert result.test_accuracy >= 0.95, result.test_accuracy


def test_quick_samples_a_big_set_and_leaves_a_small_one_its_own_epochs():
    full = preset_settings("Quick", "digits", 60_000)
    assert (full["epochs"], full["max_samples"]) == (1, 16_000)
    made = preset_settings("Quick", "digits", 300)  # a class's 300 drawings
    assert made["max_samples"] is None and made["epochs"] >= 4
    steps = made["epochs"] * -(-round(300 * 0.9) // made["batch_size"])
    assert steps >= 60  # MIN_QUICK_STEPS: enough steps to learn something
