"""Honest confidence: temperature scaling and ECE, and the unfamiliar-input flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnn import calibration, ood
from cnn.training import TrainConfig, train


def sampled(n: int, k: int, temperature: float, seed: int = 0):
    """Logits and labels drawn so that softmax(logits / temperature) is exactly calibrated."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, k))
    p = calibration.softmax(logits, temperature).astype(np.float64)
    labels = np.array([rng.choice(k, p=row / row.sum()) for row in p])
    return logits, labels


def test_temperature_scaling_recovers_the_temperature_that_calibrates():
    logits, labels = sampled(20000, 5, temperature=2.5)
    t = calibration.fit_temperature(logits, labels)
    assert abs(t - 2.5) < 0.1
    after = calibration.expected_calibration_error(calibration.softmax(logits, t), labels)
    before = calibration.expected_calibration_error(calibration.softmax(logits), labels)
    assert after < 0.02 < before  # overconfident at T=1, honest after scaling


def test_expected_calibration_error_by_hand():
    # two bins used: 0.95 sure and right 3 of 4 times; 0.55 sure and right 1 of 2 times
    p = np.array([[0.95, 0.05]] * 4 + [[0.55, 0.45]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 1])
    expected = (4 * abs(0.75 - 0.95) + 2 * abs(0.5 - 0.55)) / 6
    assert calibration.expected_calibration_error(p, labels) == pytest.approx(expected)
    table = calibration.reliability(p, labels)
    assert sum(table.counts) == 6 and len(table.edges) == calibration.BINS + 1


def test_the_flag_keeps_its_false_alarms_on_the_test_split_and_catches_the_unfamiliar():
    rng = np.random.default_rng(1)
    familiar = rng.normal(0, 1, (1000, 10))
    familiar[np.arange(1000), rng.integers(0, 10, 1000)] += 8  # one class stands out
    unfamiliar = rng.normal(0, 1, (500, 10))  # nothing stands out
    check = ood.measure(familiar, unfamiliar, "noise")
    assert check.false_alarm == pytest.approx(ood.FALSE_ALARM, abs=0.002)
    assert check.detection > 0.95 and check.foreign == "noise" and check.n_foreign == 500
    assert ood.familiar(familiar, check).mean() == pytest.approx(1 - ood.FALSE_ALARM, abs=0.002)
    assert not ood.familiar(unfamiliar[0], check)
    alone = ood.measure(familiar, None, None)
    assert alone.detection is None and alone.foreign is None


def test_a_run_records_its_calibration_and_flag(tmp_path, monkeypatch, empty_data_dir):
    """Offline there is no Fashion-MNIST: the flag is set, its detection rate not measured."""
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=600)
    result = train(config, out_dir=tmp_path)
    record = json.loads((result.run_dir / "run.json").read_text())
    cal = record["calibration"]
    assert cal["temperature"] > 0 and cal["fitted_on"].startswith("60 validation images")
    assert 0 <= cal["ece_after"] <= 1 and sum(cal["reliability_after"]["counts"]) == 1000
    flag = record["ood"]
    assert flag["score"] == "energy" and flag["temperature"] == cal["temperature"]
    assert flag["n_test"] == 1000 and flag["false_alarm"] == pytest.approx(0.05, abs=0.01)
    assert flag["foreign"] is None and flag["detection"] is None
    assert result.record.ood.threshold == flag["threshold"]


@pytest.mark.shared_data
def test_the_flag_is_measured_on_fashion_for_a_digit_run(tmp_path, monkeypatch):
    from conftest import shared_data_or_skip

    monkeypatch.setenv("CNN_DATA_DIR", str(shared_data_or_skip("fashion-mnist").parent))
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=600)
    flag = train(config, out_dir=tmp_path).record.ood
    assert flag.foreign == "fashion_mnist" and flag.n_foreign == ood.MAX_FOREIGN
    assert 0 <= flag.detection <= 1
