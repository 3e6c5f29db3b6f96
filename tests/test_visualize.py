"""cnn.visualize and `python -m cnn visualize` on the shared tiny TinyVGG run, checked by Keras.

The PNG the CLI writes is read back with Pillow and fed through a Keras sub-model of its own
(input -> the layer the feature map shows, or -> the output layer's input times its kernel):
its mean activation (or logit) is the printed number. The ascent must excite the last conv's
channels at least as much as the strongest of 100 real test digits, and `strongest` must rank
the real images as the sub-model's means do.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image

from cnn.__main__ import main
from cnn.visualize import VisualizeError, strongest, visualize

STEPS = 60  # fewer than the default: the tiny run is easy to excite


@pytest.fixture(scope="module")
def run_and_digits(tiny_run, empty_data_dir):
    """The tiny run and 100 real test digits as model inputs (the embedded offline subset)."""
    import os

    from cnn import artifacts, datasets
    from cnn.probes.embedding import subset_indices

    old = os.environ.get("CNN_DATA_DIR")
    os.environ["CNN_DATA_DIR"] = str(empty_data_dir)
    try:
        data = datasets.load("mnist")
    finally:
        os.environ.pop("CNN_DATA_DIR") if old is None else os.environ.update(CNN_DATA_DIR=old)
    test = data.test.take(subset_indices(data.test, 100))
    digits = test.images.astype(np.float32)[..., :1] / 255.0
    return artifacts.load_run(tiny_run), digits


def channel_means(model, layer: str, images: np.ndarray) -> np.ndarray:
    """(n, channels) mean of a layer's output over its map, from a sub-model of its own."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    return keras.ops.convert_to_numpy(sub(images, training=False)).mean(axis=(1, 2))


def logits(model, images: np.ndarray) -> np.ndarray:
    head = model.get_layer("predictions")
    sub = keras.Model(model.inputs[0], head.input)
    features = keras.ops.convert_to_numpy(sub(images, training=False))
    return features @ np.asarray(head.kernel) + np.asarray(head.bias)


def last_conv(model) -> str:
    return [lay.name for lay in model.layers if isinstance(lay, keras.layers.Conv2D)][-1]


def test_it_beats_the_strongest_real_digit(run_and_digits):
    run, digits = run_and_digits
    model = run.model
    layer = last_conv(model)  # relu inside the conv: its own output is the feature map
    channels = [0, 1, 2, 3, 4]
    results = visualize(model, layer, channels=channels, steps=STEPS)
    real = channel_means(model, layer, digits)
    ours = channel_means(model, layer, np.stack([r.image for r in results]))
    beaten = 0
    for i, (result, channel) in enumerate(zip(results, channels, strict=True)):
        assert result.activation == pytest.approx(ours[i, channel], rel=1e-5, abs=1e-6)
        beaten += result.activation >= real[:, channel].max()
    assert beaten >= 4, (beaten, [r.activation for r in results], real.max(axis=0)[:5])
    # the picture is a model input on 8-bit steps, inside [0, 1]
    image = results[0].image
    assert image.shape == model.inputs[0].shape[1:] and 0 <= image.min() and image.max() <= 1
    np.testing.assert_allclose(image * 255, np.round(image * 255), atol=1e-3)


def test_strongest_ranks_as_keras_does(run_and_digits):
    run, digits = run_and_digits
    layer = last_conv(run.model)
    order, means = strongest(run.model, layer, digits, k=3)
    expected = channel_means(run.model, layer, digits).T
    np.testing.assert_allclose(means, expected, rtol=1e-5, atol=1e-6)
    for c in range(len(expected)):
        assert set(order[c]) == set(np.argsort(-expected[c])[:3])


def test_bad_targets_are_one_sentence(run_and_digits):
    model = run_and_digits[0].model
    with pytest.raises(VisualizeError, match="has no feature map: choose one of conv1_1"):
        visualize(model, "predictions", channels=[0])
    with pytest.raises(VisualizeError, match="channels in conv1_1: choose numbers from 0 to"):
        visualize(model, "conv1_1", channels=[999])
    with pytest.raises(VisualizeError, match="10 classes"):
        visualize(model, classes=[10])


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["visualize", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_channel_png_gives_its_activation(capsys, tiny_run, tmp_path):
    from cnn import artifacts

    out_png = tmp_path / "channel.png"
    code, out, err = cli(
        capsys, "--model", str(tiny_run), "--layer", "conv1_2", "--channel", "3",
        "--out", str(out_png), "--steps", "40", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["path"] == str(out_png) and doc["channel"] == 3
    model = artifacts.load_run(tiny_run).model
    picture = Image.open(out_png)
    assert picture.mode == "L" and picture.size == (28, 28)
    image = np.asarray(picture, np.float32)[None, ..., None] / 255.0
    assert doc["activation"] == pytest.approx(
        channel_means(model, "conv1_2", image)[0, 3], rel=1e-5
    )


def test_cli_class_png_gives_its_score(capsys, tiny_run, tmp_path):
    from cnn import artifacts

    out_png = tmp_path / "seven.png"
    code, out, err = cli(
        capsys, "--model", str(tiny_run), "--class", "7", "--out", str(out_png),
        "--steps", "40", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    model = artifacts.load_run(tiny_run).model
    image = np.asarray(Image.open(out_png), np.float32)[None, ..., None] / 255.0
    assert doc["activation"] == pytest.approx(logits(model, image)[0, 7], rel=1e-5)
    probabilities = keras.ops.convert_to_numpy(model(image, training=False))[0]
    assert doc["probability"] == pytest.approx(float(probabilities[7]), rel=1e-4)
    assert probabilities.argmax() == 7  # the picture is what the model calls a 7


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--layer", "conv1_1", "--out", "x.png"], "--layer needs --channel"),
        (["--out", "x.png"], "Give --layer with --channel, or --class"),
        (["--class", "cat", "--out", "x.png"], "not one of this model's classes"),
        (["--class", "3", "--out", "x.jpg"], "must end in .png"),
    ],
)
def test_cli_errors_are_one_sentence(capsys, tiny_run, argv, words):
    code, out, err = cli(capsys, "--model", str(tiny_run), *argv)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1
