"""Honest confidence: temperature scaling and ECE, and the unfamiliar-input flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnn import artifacts, calibration, ood
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


def test_the_reliability_bins_agree_with_scikit_learn():
    from sklearn.calibration import calibration_curve

    logits, labels = sampled(3000, 5, temperature=2.5, seed=3)
    p = calibration.softmax(logits)
    table = calibration.reliability(p, labels)
    # scikit-learn's curve of "top class right" against the top probability, same 15 bins;
    # it leaves out the empty bins and gives no counts, which the ECE and the diagram need
    right, sure = calibration_curve(p.argmax(-1) == labels, p.max(-1), n_bins=calibration.BINS)
    filled = [i for i, n in enumerate(table.counts) if n]
    assert len(filled) < calibration.BINS  # some bins are empty: the alignment is tested
    np.testing.assert_allclose([table.accuracy[i] for i in filled], right, atol=1e-9)
    np.testing.assert_allclose([table.confidence[i] for i in filled], sure, atol=1e-6)


def test_the_reliability_diagram_counts_the_images_of_each_bin():
    from dataclasses import asdict

    from ui.charts import reliability_diagram

    logits, labels = sampled(2000, 5, temperature=2.5)
    before = calibration.reliability(calibration.softmax(logits), labels)
    after = calibration.reliability(calibration.softmax(logits, 2.5), labels)
    fig = reliability_diagram(asdict(before), asdict(after))
    (bars,) = [trace for trace in fig.data if trace.type == "bar"]
    # the calibrated table's bins, one bar per bin that holds an image, labelled with its count
    assert list(bars.y) == [n for n in after.counts if n] and sum(bars.y) == 2000
    assert list(bars.text) == [f"{n:,}" for n in after.counts if n]


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


def test_a_shrunk_covariance_is_fitted_from_a_few_images_per_feature_number():
    """60 features, 3 images per number (the residual cats run had 6): the Ledoit-Wolf
    covariance is fitted and flags points spread every way from points spread the classes'
    correlated way; under 2 images per number nothing is fitted."""
    rng = np.random.default_rng(3)
    mixing = rng.normal(0, 1, (60, 60)) / 8  # correlated features, as a network's are
    labels = rng.integers(0, 2, 240)
    centres = rng.normal(0, 3, (2, 60))
    features = centres[labels] + rng.normal(0, 1, (240, 60)) @ mixing
    gaussian = ood.fit_gaussian(features[:180], labels[:180], 2)
    assert gaussian is not None
    held_out = gaussian.familiarity(features[180:])
    off = centres[rng.integers(0, 2, 60)] + rng.normal(0, 1.5, (60, 60))  # spread every way
    check = ood.measure_scores(held_out, gaussian.familiarity(off), "off", "mahalanobis")
    assert check.detection > 0.9
    assert ood.fit_gaussian(features[:100], labels[:100], 2) is None  # 100 < 2 x 60


def test_the_mahalanobis_score_flags_features_far_from_every_class():
    """Three tight classes in 8 dimensions: points between or beyond them are unfamiliar, and
    the threshold keeps 5% false alarms on held-out points of the classes."""
    rng = np.random.default_rng(2)
    centres = rng.normal(0, 10, (3, 8))
    labels = rng.integers(0, 3, 3000)
    features = centres[labels] + rng.normal(0, 1, (3000, 8))
    gaussian = ood.fit_gaussian(features[:2000], labels[:2000], 3)
    assert np.allclose(gaussian.means, centres, atol=0.2)
    far = rng.normal(0, 10, (500, 8)) * 3  # nowhere near a class
    check = ood.measure_scores(
        gaussian.familiarity(features[2000:]), gaussian.familiarity(far), "far", "mahalanobis"
    )
    assert check.false_alarm == pytest.approx(ood.FALSE_ALARM, abs=0.01)
    assert check.detection > 0.95
    # the distance by hand for one point: sqrt((x - mean)^T P (x - mean)) to the nearest mean
    x = features[2500]
    by_hand = min(np.sqrt((x - m) @ gaussian.precision @ (x - m)) for m in gaussian.means)
    assert gaussian.familiarity(x) == pytest.approx(-by_hand, rel=1e-6)
    assert ood.familiar(np.zeros(3), check, far[0], gaussian) == np.False_
    # without the stored Gaussian a Mahalanobis check cannot judge: no flag
    assert ood.familiar(np.zeros(3), check, far[0], None)


def test_too_wide_features_keep_the_energy_score():
    assert ood.fit_gaussian(np.zeros((10, ood.GAUSSIAN_MAX_DIM + 1)), np.zeros(10), 1) is None


def test_a_broken_familiarity_file_is_no_gaussian(tmp_path):
    (tmp_path / artifacts.OOD_FILE).write_bytes(b"not a numpy file")
    assert artifacts.load_gaussian(tmp_path) is None


def test_a_run_records_its_calibration_and_flag(tmp_path, monkeypatch, empty_data_dir):
    """Offline there are no other datasets' photos: the flag is measured on the classroom
    inputs made on the machine (pictures, drawings; scikit-image's photos where installed)."""
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=2000)
    result = train(config, out_dir=tmp_path)
    record = json.loads((result.run_dir / "run.json").read_text())
    cal = record["calibration"]
    assert cal["temperature"] > 0 and cal["fitted_on"].startswith("200 validation images")
    assert 0 <= cal["ece_after"] <= 1 and sum(cal["reliability_after"]["counts"]) == 1000
    flag = record["ood"]
    # tiny_vgg's feature maps at every size, fitted on 1,800 training images: "layers"
    assert flag["score"] == "layers" and flag["temperature"] == cal["temperature"]
    layers = artifacts.load_gaussian(result.run_dir)
    assert isinstance(layers, ood.Layers) and len(layers.means) == len(layers.centres) >= 2
    assert flag["n_test"] == 1000 and flag["false_alarm"] == pytest.approx(
        ood.FALSE_ALARM, abs=0.01
    )
    assert "photos" not in flag["foreign"].replace("scikit-image photos", "")
    assert 0 <= flag["detection"] <= 1 and flag["n_drawn"] > 0
    assert flag["mahalanobis_detection"] is not None and flag["energy_detection"] is not None
    assert result.record.ood.threshold == flag["threshold"]


@pytest.mark.shared_data
def test_the_flag_is_measured_on_the_other_datasets_photos_too(tmp_path, monkeypatch):
    from conftest import shared_data_or_skip

    monkeypatch.setenv("CNN_DATA_DIR", str(shared_data_or_skip("cats_vs_dogs").parent))
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=600)
    flag = train(config, out_dir=tmp_path).record.ood
    assert "60 cats_vs_dogs photos" in flag.foreign and "60 flowers17 photos" in flag.foreign
    assert flag.n_foreign == sum(int(part.split()[0]) for part in flag.foreign.split("; "))
    assert 0 <= flag.detection <= 1 and 0 <= flag.photo_detection <= 1


def test_a_shown_percentage_never_claims_certainty():
    from ui import charts

    assert charts.percent(0.9961) == "over 99%" and charts.percent(1.0) == "over 99%"
    assert charts.percent(0.994) == "99%" and charts.percent(0.5) == "50%"
    assert charts.percent(0.004) == "under 1%" and charts.percent(0.0) == "under 1%"
