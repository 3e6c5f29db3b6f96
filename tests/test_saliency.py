"""Saliency maps and their faithfulness tests (cnn.explain.saliency, cnn.explain.faithfulness),
on the shared tiny trained MNIST run and its held-out test digits, and on a small untrained
residual model of colour images (the photo background and a residual block's add layer).

The deletion test must be able to fail: a map read backwards does worse than random.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import small_residual_model

from cnn import artifacts, datasets
from cnn.explain import faithfulness, saliency
from cnn.inspect import Inspector

# cheap parameters: every method runs, and stays a real instance of itself
QUICK = {
    "rise": {"masks": 200},
    "integrated_gradients": {"steps": 8},
    "smoothgrad": {"samples": 8},
    "occlusion": {"scales": (4, 7)},
}


@pytest.fixture(scope="module")
def digits(tiny_run, empty_data_dir):
    """(the tiny run's model, 24 of its test digits in [0, 1], their top classes)."""
    model = artifacts.load_run(tiny_run).model
    test = datasets.load("mnist", empty_data_dir, download=False).test
    images = np.stack([test.image(i) for i in range(24)]).astype(np.float32) / 255.0
    return model, images, saliency.top_classes(model, images)


@pytest.fixture(scope="module")
def colour():
    """An untrained small residual model of 32 x 32 colour images, and 3 random images."""
    model = small_residual_model((32, 32, 3))
    images = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    return model, images, saliency.top_classes(model, images)


def test_default_digit_map_beats_random_order(digits):
    model, images, classes = digits
    method, params = saliency.DEFAULTS["digits"]
    maps = saliency.saliency(model, images, method, classes, "digits", **params)
    test = faithfulness.deletion(model, images, maps, classes, "digits")
    assert test.ratio < 1.0, test
    assert test.share_beating >= 0.75, test


def test_map_read_backwards_does_worse_than_random(digits):
    model, images, classes = digits
    method, params = saliency.DEFAULTS["digits"]
    maps = saliency.saliency(model, images, method, classes, "digits", **params)
    backwards = faithfulness.deletion(model, images, -maps, classes, "digits")
    assert backwards.ratio > 1.0, backwards
    assert backwards.share_beating < 0.5, backwards


def test_deletion_curve_runs_from_the_image_to_the_background(digits):
    model, images, classes = digits
    maps = np.random.default_rng(1).random(images.shape[:3])
    test = faithfulness.deletion(model, images[:4], maps[:4], classes[:4], "digits", steps=10)
    full = Inspector(model).probabilities(images[:4])[np.arange(4), classes[:4]]
    empty = Inspector(model).probabilities(np.zeros_like(images[:4]))[np.arange(4), classes[:4]]
    np.testing.assert_allclose(test.curves[:, 0], full, atol=1e-5)
    np.testing.assert_allclose(test.curves[:, -1], empty, atol=1e-5)
    np.testing.assert_allclose(test.random_curves[:, :, -1], empty[:, None].repeat(3, 1), atol=1e-5)
    assert test.fractions[0] == 0 and test.fractions[-1] == 1 and len(test.fractions) == 11


@pytest.mark.parametrize("method", list(saliency.METHODS))
def test_every_method_gives_finite_maps_at_input_size(digits, colour, method):
    for model, images, classes, kind in (digits[:3] + ("digits",), colour + ("photos",)):
        maps = saliency.saliency(
            model, images[:3], method, classes[:3], kind, **QUICK.get(method, {})
        )
        assert maps.shape == images[:3].shape[:3]
        assert np.isfinite(maps).all()
        assert maps.min() >= 0.0 and maps.max() <= 1.0


def test_gradcam_at_the_last_conv_is_the_inspectors(digits, colour):
    for model, images, classes in (digits, colour):
        expected = Inspector(model).run_batch(images, classes=classes).gradcam
        np.testing.assert_allclose(saliency.gradcam(model, images, classes), expected, atol=1e-5)


def test_gradcam_at_an_earlier_layer_differs_and_unknown_layers_are_named(digits):
    model, images, classes = digits
    first = next(name for name, kind, _ in Inspector(model).feature_map_layers if kind == "conv")
    early = saliency.gradcam(model, images[:4], classes[:4], layer=first)
    assert not np.allclose(early, saliency.gradcam(model, images[:4], classes[:4]))
    with pytest.raises(ValueError, match="no feature-map layer 'nope'"):
        saliency.gradcam(model, images[:4], classes[:4], layer="nope")


def test_photo_background_is_the_image_blurred_and_digits_is_black(colour):
    _, images, _ = colour
    blurred = saliency.background(images, "photos")
    assert blurred.shape == images.shape
    assert blurred.std() < images.std() / 3
    np.testing.assert_allclose(blurred.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.02)
    assert not saliency.background(images, "digits").any()


def test_randomised_model_has_new_weights_and_the_same_layers(digits):
    model = digits[0]
    clone = faithfulness.randomised_model(model, seed=3)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    kernel = model.layers[0].get_weights()[0]
    assert not np.allclose(clone.layers[0].get_weights()[0], kernel)
    again = faithfulness.randomised_model(model, seed=3)
    np.testing.assert_array_equal(
        again.layers[0].get_weights()[0], clone.layers[0].get_weights()[0]
    )


def test_rank_correlation_of_a_map_with_itself_and_its_reverse(digits):
    _, images, _ = digits
    maps = images[:4, ..., 0] + np.random.default_rng(2).random((4, 28, 28)) * 1e-3
    np.testing.assert_allclose(faithfulness.rank_correlations(maps, maps), 1.0)
    np.testing.assert_allclose(faithfulness.rank_correlations(maps, -maps), -1.0)
    assert faithfulness.rank_correlations(np.zeros((1, 5, 5)), maps[:1, :5, :5])[0] == 0.0


def test_randomisation_uses_the_same_parameters_and_classes(digits):
    model, images, classes = digits
    check = faithfulness.randomisation(
        model, images[:6], "rise", seed=0, classes=classes[:6], kind="digits", masks=200
    )
    np.testing.assert_allclose(
        check.maps, saliency.saliency(model, images[:6], "rise", classes[:6], "digits", masks=200)
    )
    assert check.random_maps.shape == check.maps.shape
    assert not np.allclose(check.random_maps, check.maps)
    assert -1.0 <= check.mean <= 1.0


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="Unknown saliency method 'magic'"):
        saliency.saliency(None, np.zeros((1, 4, 4, 1)), "magic")
