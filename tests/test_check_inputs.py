"""The unfamiliar-input check's weight-free inputs are prepared once and read back from the
cache folder, equal to what the Predict page's preprocessing makes, and prepared afresh when
what they are made from changes (`cnn.training.check_inputs`, `cnn.array_cache`)."""

from __future__ import annotations

import numpy as np
import pytest

from cnn import array_cache, datasets, foreign, ood, preprocess
from cnn.training import check_inputs

DIGITS = {"method": "digits", "image_size": [28, 28], "channels": 1}
PHOTOS = {"method": "photos", "image_size": [32, 32], "channels": 3}


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_foreign_set_is_the_pages_preprocessing_and_is_read_back_from_the_cache(cache):
    ready, description = check_inputs.foreign_set("mnist", DIGITS)
    direct = foreign.prepare(foreign.classroom("mnist").items, DIGITS)
    np.testing.assert_array_equal(ready.inputs, direct.inputs)
    assert ready.kinds == direct.kinds and ready.names == direct.names
    assert ready.refused == direct.refused
    assert description == foreign.classroom("mnist").description
    assert len(list(cache.glob("foreign-*.npz"))) == 1

    again, _ = check_inputs.foreign_set("mnist", DIGITS)
    np.testing.assert_array_equal(again.inputs, direct.inputs)
    assert len(list(cache.glob("foreign-*.npz"))) == 1  # read, not written again

    photos, _ = check_inputs.foreign_set("mnist", PHOTOS)  # another preprocessing: its own file
    assert photos.inputs.shape[1:] == (32, 32, 3)
    assert len(list(cache.glob("foreign-*.npz"))) == 2


def test_a_broken_cache_file_only_costs_the_time_to_prepare_again(cache):
    first, _ = check_inputs.foreign_set("mnist", DIGITS)
    (path,) = cache.glob("foreign-*.npz")
    path.write_bytes(b"not an npz")
    again, _ = check_inputs.foreign_set("mnist", DIGITS)
    np.testing.assert_array_equal(again.inputs, first.inputs)


def test_drawn_digits_are_the_canvas_path_and_keyed_by_the_digits_themselves(
    cache, monkeypatch, empty_data_dir
):
    monkeypatch.setattr(check_inputs, "N_DRAWN", 20)
    data = datasets.load("mnist")
    drawn = check_inputs.drawn_digits(data, DIGITS, seed=0)
    assert drawn is not None and 15 <= len(drawn) <= 20 and drawn.dtype == np.float32

    from cnn import drawn as canvas

    picked = datasets.stratified_subset(data.test, 20, 0)
    direct = []
    for picture, paths in canvas.digit_drawings(picked.images, 0):
        try:
            direct.append(preprocess.prepare_drawing(picture, DIGITS, paths).input)
        except preprocess.PreprocessError:
            continue
    np.testing.assert_array_equal(drawn, np.stack(direct))
    assert len(list(cache.glob("drawn-*.npz"))) == 1
    check_inputs.drawn_digits(data, DIGITS, seed=1)  # other digits picked: another key
    assert len(list(cache.glob("drawn-*.npz"))) == 2


def test_digests_see_every_byte_and_the_code():
    a = np.zeros((2, 2), np.uint8)
    b = a.copy()
    b[1, 1] = 1
    assert array_cache.digest(a) != array_cache.digest(b)
    assert array_cache.digest(a) != array_cache.digest(a.astype(np.float32))
    assert array_cache.digest({"x": 1, "y": 2}) == array_cache.digest({"y": 2, "x": 1})
    assert array_cache.code_digest("cnn.foreign") != array_cache.code_digest("cnn.drawn")


def test_the_quadratic_form_is_einsums():
    rng = np.random.default_rng(0)
    diff = rng.normal(size=(50, 8))
    root = rng.normal(size=(8, 8))
    precision = root @ root.T
    expected = np.einsum("ij,jk,ik->i", diff, precision, diff)
    np.testing.assert_allclose(ood._quadratic(diff, precision), expected, rtol=1e-10)


def test_the_checks_batch_reader_gives_the_pages_numbers(trained):
    """Features, logits and stage features of a batch read inside TensorFlow equal the page's
    reading (`Inspector.run_batch`, `ood.stage_features` in numpy), to float32 precision."""
    from cnn import artifacts
    from cnn.inspect import Inspector
    from cnn.training.check_reader import BatchReader

    run = artifacts.load_run(trained)
    images = datasets.load("mnist").test.images[:40].astype(np.float32)[..., :1] / 255.0
    features, logits, stages = BatchReader(run.model)(images)
    seen = Inspector(run.model, jit_compile=False).run_batch(images, gradcam=False)
    np.testing.assert_allclose(features, seen.features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, seen.logits, rtol=1e-5, atol=1e-5)
    expected = ood.stage_features(seen.activations)
    assert len(stages) == len(expected) >= 2
    for ours, page in zip(stages, expected, strict=True):
        np.testing.assert_allclose(ours, page, rtol=1e-4, atol=1e-5)


def test_the_kept_maps_are_the_last_at_each_size_in_stage_features_order():
    from cnn.training.check_reader import kept_maps

    shapes = [(28, 28, 8), (14, 14, 8), (14, 14, 16), (7, 7, 16), (28, 28, 4), (10,)]
    assert kept_maps(shapes) == [2, 3, 4]  # 28x28 was seen last after 7x7
    arrays = [np.zeros((1, *s), np.float32) + i for i, s in enumerate(shapes[:5])]
    assert ood.stage_features(arrays)[2][0, 0] == pytest.approx(np.log1p(4))  # the 28x28 one
