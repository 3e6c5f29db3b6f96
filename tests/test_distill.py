"""Knowledge distillation: a model trained with teacher runs learns, for every augmented batch,
a target mixing the labels with the teachers' answers for those very images."""

from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest
from keras import layers
from test_geometry import write_photos

from cnn import artifacts
from cnn.__main__ import main
from cnn.errors import TrainingError
from cnn.inspect import Inspector
from cnn.training import TrainConfig, train
from cnn.training.distill import Teacher, teachers_answer
from cnn.training.loop import prepare


@pytest.fixture
def embedded(monkeypatch, empty_data_dir):
    """The embedded MNIST sample only (the shared data would make these tests slow)."""
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


def tiny(**settings) -> TrainConfig:
    values = {"dataset": "mnist", "arch": "tiny_vgg", "epochs": 1, "max_samples": 600,
              "batch_size": 32, **settings}  # fmt: skip
    return TrainConfig(**values)


def first_batch(prepared, teachers=None):
    if teachers is not None:
        prepared = dataclasses.replace(prepared, teachers=teachers)
    x, y = next(iter(prepared.pipeline(prepared.train, shuffle=False, training=True)))
    return np.asarray(x), np.asarray(y)


def test_the_targets_mix_the_labels_with_the_teachers_answers_for_the_same_images(
    tiny_run, embedded
):
    teacher = artifacts.load_run(tiny_run).model
    prepared = prepare(tiny(teachers=[str(tiny_run)], distill=0.25))
    assert [t.name for t in prepared.teachers] == [tiny_run.name]
    x, targets = first_batch(prepared)
    same_x, labels = first_batch(prepared, teachers=[])  # no augmentation: the same images
    np.testing.assert_array_equal(x, same_x)
    assert set(np.unique(labels)) == {0.0, 1.0}  # one-hot rows: the teachers turn them on
    answers = np.asarray(teacher.predict(x, verbose=0))
    np.testing.assert_allclose(targets, 0.75 * labels + 0.25 * answers, atol=1e-5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    assert (np.abs(targets - labels) > 0.01).any()

    # augmented batches: the teachers answer for the changed image the model is shown
    augmented = prepare(tiny(teachers=[str(tiny_run)], distill=1.0, augmentation="standard"))
    x, targets = first_batch(augmented)
    assert not np.allclose(x, same_x)
    np.testing.assert_allclose(targets, teacher.predict(x, verbose=0), atol=1e-5)


def test_teachers_are_averaged_and_a_mirrored_one_reads_as_predict_reads_it():
    keras.utils.set_random_seed(1)
    models = [
        keras.Sequential(
            [
                keras.Input((12, 12, 1)),
                layers.Conv2D(4, 3, activation="relu"),
                layers.Flatten(),
                layers.Dense(3, activation="softmax", name="predictions"),
            ]
        )  # fmt: skip
        for _ in range(2)
    ]
    x = np.random.default_rng(0).uniform(0, 1, (5, 12, 12, 1)).astype(np.float32)
    mirrored = Inspector(models[0], jit_compile=False, mirror=True).probabilities(x)
    plain = np.asarray(models[1](x))
    assert np.abs(mirrored - np.asarray(models[0](x))).max() > 1e-3
    answer = teachers_answer([Teacher("a", models[0], True), Teacher("b", models[1], False)], x)
    np.testing.assert_allclose(np.asarray(answer), (mirrored + plain) / 2, atol=1e-5)


def test_a_student_trains_and_its_run_names_its_teachers(tiny_run, embedded, tmp_path, capsys):
    result = train(tiny(teachers=[str(tiny_run)], distill=0.5), out_dir=tmp_path)
    assert result.state == "finished", result.message
    record = artifacts.read_run_info(result.run_dir).record
    assert record.config.teachers == [str(tiny_run)] and record.config.distill == 0.5
    assert json.loads((result.run_dir / "run.json").read_text())["config"]["teachers"] == [
        str(tiny_run)
    ]
    # the CLI takes --teacher once per run and --distill
    from cnn.cli import build_parser
    from cnn.cli.training import config_from_args

    argv = ["train", "--teacher", "a", "--teacher", "b", "--distill", "0.3"]
    config = config_from_args(build_parser().parse_args(argv))
    assert config.teachers == ["a", "b"] and config.distill == 0.3
    assert main(["train", "--teacher", str(tmp_path / "nowhere"), "--epochs", "1"]) != 0
    assert "The teacher run nowhere cannot be used" in capsys.readouterr().err


def test_a_teacher_of_other_classes_or_sizes_is_refused_with_a_sentence(
    tiny_run, embedded, tmp_path
):
    write_photos(tmp_path / "set", {"dark": 12, "light": 12}, seed=2)
    folder = {"dataset": "folder", "data": str(tmp_path / "set"), "arch": "tiny_vgg",
              "epochs": 1, "batch_size": 8}  # fmt: skip
    photos = train(TrainConfig(**folder, image_size=32), out_dir=tmp_path / "runs")
    assert photos.state == "finished", photos.message
    with pytest.raises(TrainingError, match="learned folder .*not these classes"):
        prepare(tiny(teachers=[str(photos.run_dir)]))
    with pytest.raises(TrainingError, match="reads 32x32x3 images and this model 24x24x3"):
        prepare(TrainConfig(**folder, image_size=24, teachers=[str(photos.run_dir)]))
    with pytest.raises(TrainingError, match="cannot be used: .*broken"):
        prepare(tiny(teachers=[str(tmp_path / "set")]))
    for share in (0, 1.5):
        with pytest.raises(TrainingError, match=r"share \(distill\) = .* is out of range"):
            tiny(teachers=[str(tiny_run)], distill=share).validate()
