"""Test-time augmentation: a run trained with tta="mirror" answers with each image and its mirror
image read and averaged, everywhere it answers (test figures, calibration, Predict, probes)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import layers
from test_geometry import write_photos

from cnn import artifacts, datasets
from cnn.__main__ import main
from cnn.evaluate import evaluate
from cnn.inspect import Inspector
from cnn.training import TrainConfig, train
from cnn.training.config import SETTINGS

SIZE = 28


def off_centre_squares(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dark images with a bright square in one of 4 columns (the class): a mirror image moves
    the square to the mirrored column, so the two readings of an image disagree."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.uniform(0.0, 0.1, (n, SIZE, SIZE, 1)).astype(np.float32)
    for image, label in zip(images, labels, strict=True):
        top = int(rng.integers(0, SIZE - 6))
        image[top : top + 6, label * 7 : label * 7 + 6] = 1.0
    return images, labels


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(4, activation="softmax", name="predictions"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    images, labels = off_centre_squares(200)
    model.fit(images, labels, epochs=1, batch_size=32, verbose=0)
    return model


def keras_mirrored(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The reference: softmax of the mean of the head's logits for x and x flipped left-right,
    every number from Keras calls."""
    head = model.get_layer("predictions")
    reads = keras.Model(model.inputs, head.input)
    kernel, bias = (np.asarray(w) for w in head.weights)
    logits = [np.asarray(reads(v, training=False)) @ kernel + bias for v in (x, x[:, :, ::-1])]
    return np.asarray(keras.ops.softmax((logits[0] + logits[1]) / 2))


def test_a_mirrored_reading_is_the_softmax_of_the_two_readings_mean_logits(model):
    x, _ = off_centre_squares(8, seed=1)
    expected = keras_mirrored(model, x)
    single = np.asarray(model(x, training=False))
    assert np.abs(expected - single).max() > 0.05  # the mirror image changes the answer
    mirrored = Inspector(model, jit_compile=False, mirror=True)
    np.testing.assert_allclose(mirrored.probabilities(x), expected, atol=1e-5)
    batch = mirrored.run_batch(x)
    np.testing.assert_allclose(batch.probabilities, expected, atol=1e-5)
    # Grad-CAM explains the class the averaged reading chose; the maps stay the image's own
    np.testing.assert_array_equal(batch.gradcam_classes, expected.argmax(axis=1))
    plain = Inspector(model, jit_compile=False).run_batch(x)
    np.testing.assert_allclose(batch.activations[0].array, plain.activations[0].array)
    one = mirrored.run(x[3])
    np.testing.assert_allclose(one.probabilities, expected[3], atol=1e-5)


def test_evaluate_reads_mirrored_when_asked(model):
    x, y = off_centre_squares(64, seed=2)
    batches = [(x[:32], y[:32]), (x[32:], y[32:])]
    names = ["a", "b", "c", "d"]
    mirrored = evaluate(model, batches, names, mirror=True)
    expected = keras_mirrored(model, x).argmax(axis=1)
    np.testing.assert_array_equal(mirrored.predictions, expected)
    plain = evaluate(model, batches, names)
    np.testing.assert_array_equal(plain.predictions, np.asarray(model(x)).argmax(axis=1))
    assert mirrored.logits is None and (plain.predictions != mirrored.predictions).any()


@pytest.mark.parametrize(
    ("settings", "words"),
    [({"dataset": "mnist", "tta": "mirror"}, "Digits are not read mirrored"),
     ({"dataset": "fashion_mnist", "tta": "sideways"}, "one of none, mirror")],
)  # fmt: skip
def test_impossible_test_time_augmentation_is_refused_with_a_sentence(settings, words):
    with pytest.raises(Exception, match=words):
        TrainConfig(**settings).validate()
    assert TrainConfig(dataset="fashion_mnist", tta="mirror").validate() is None
    assert SETTINGS["tta"].choices == ("none", "mirror")


def test_a_mirror_run_is_measured_mirrored_and_calibrate_switches_it(tmp_path, capsys):
    """Training with tta="mirror" records its test figures read mirrored; `calibrate --tta none`
    measures the run again read alone and rewrites the figures and the kept images."""
    write_photos(tmp_path / "set", {"dark": 24, "light": 24}, seed=4)
    config = TrainConfig(dataset="folder", data=str(tmp_path / "set"), arch="tiny_vgg",
                         epochs=1, image_size=32, batch_size=8, tta="mirror")  # fmt: skip
    result = train(config, out_dir=tmp_path / "runs")
    assert result.state == "finished", result.message
    run = artifacts.load_run(result.run_dir)
    assert run.record.config.tta == "mirror"
    data = datasets.load("folder", data=str(tmp_path / "set"))
    test = list(datasets.make_pipeline(data.test, (32, 32), 3, 8))
    mirrored = evaluate(run.model, test, run.class_names, mirror=True)
    assert run.record.test.confusion == mirrored.confusion.tolist()
    assert run.record.calibration is not None and run.record.ood is not None
    # `evaluate` reads the run as it is read (a folder: every image of it), or as asked
    every = data.train.concat(data.test)
    pipeline = list(datasets.make_pipeline(every, (32, 32), 3, 8))
    for tta, mirror in (([], True), (["--tta", "none"], False)):
        argv = ["evaluate", "--model", str(result.run_dir), "--data", str(tmp_path / "set")]
        assert main([*argv, *tta, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        expected = evaluate(run.model, pipeline, run.class_names, mirror=mirror)
        assert doc["tta"] == ("mirror" if mirror else "none")
        assert doc["confusion"] == expected.confusion.tolist()

    assert main(["calibrate", "--model", str(result.run_dir), "--tta", "none", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    again = artifacts.read_run_info(result.run_dir).record
    plain = evaluate(run.model, test, run.class_names)
    assert doc["tta"] == "none" and again.config.tta == "none"
    assert again.test.confusion == plain.confusion.tolist()
    assert doc["test_accuracy"] == plain.accuracy == again.test.accuracy
    kept = artifacts.load_errors(result.run_dir)
    np.testing.assert_array_equal(kept["predicted"], plain.predictions[kept["index"]])


def test_calibrate_refuses_to_read_digits_mirrored(tiny_run, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, run_dir)
    before = (run_dir / "run.json").read_text()
    assert main(["calibrate", "--model", str(run_dir), "--tta", "mirror"]) == 2
    assert "Digits are not read mirrored" in capsys.readouterr().err
    assert (run_dir / "run.json").read_text() == before


def test_predict_says_when_it_averaged_the_mirror_image(tiny_run):
    from dataclasses import replace

    from ui.answer import how_sure_words

    record = artifacts.read_run_info(tiny_run).record
    plain = how_sure_words(record)
    flipped = replace(record, config=replace(record.config, tta="mirror"))
    said = how_sure_words(flipped)
    assert "mirror image" not in plain and "mirror image" in said
