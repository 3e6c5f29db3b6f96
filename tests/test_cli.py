"""CLI tests: `python -m cnn` subcommands print one JSON document and fail with a sentence."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cnn.__main__ import main
from conftest import REPO


@pytest.fixture(autouse=True)
def offline(monkeypatch, empty_data_dir):
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


def run_json(capsys, *argv) -> tuple[int, object]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, [json.loads(line) for line in out]


def test_datasets_lists_every_entry_with_its_source(capsys):
    code, [rows] = run_json(capsys, "datasets")
    assert code == 0
    by_key = {r["key"]: r for r in rows}
    assert set(by_key) == {"mnist", "fashion_mnist", "cats_vs_dogs", "flowers17", "folder"}
    assert by_key["mnist"]["available"] and "embedded" in by_key["mnist"]["source"]
    assert set(rows[0]) == {"key", "title", "classes", "available", "source", "detail"}


def test_archs_lists_parameter_counts(capsys):
    """Every architecture's count is the one Keras gives the built model (MNIST's input)."""
    from cnn import architectures

    code, [rows] = run_json(capsys, "archs")
    assert code == 0
    by_key = {r["key"]: r for r in rows}
    assert {"single_conv", "mnist_98", "three_block", "tiny_vgg", "modern_cnn"} <= set(by_key)
    for key, row in by_key.items():
        model = architectures.build_named(key, (28, 28, 1), 10)
        assert row["params"] == model.count_params(), key


def digit_png(path, digit_image):
    cv2.imwrite(str(path), digit_image)
    return str(path)


def train_tiny(capsys, out, *model) -> tuple[int, object]:
    """`train` 1 epoch on 600 MNIST images into `out`, the model given by `model` arguments."""
    argv = ["--epochs", "1", "--max-samples", "600", "--out", str(out)]
    return run_json(capsys, "train", "--dataset", "mnist", *model, *argv)


def test_train_evaluate_predict_round_trip(capsys, tmp_path):
    code, [doc] = train_tiny(capsys, tmp_path, "--arch", "tiny_vgg")
    assert code == 0 and set(doc) >= {"run_dir", "test_accuracy", "epochs_run", "seconds"}
    run_dir = doc["run_dir"]

    code, [again] = train_tiny(capsys, tmp_path, "--spec", f"{run_dir}/run.json")
    assert code == 0
    retrained = json.loads((Path(again["run_dir"]) / "run.json").read_text())
    assert (
        retrained["spec"]["conv_blocks"]
        == json.loads((Path(run_dir) / "run.json").read_text())["spec"]["conv_blocks"]
    )
    assert again["test_accuracy"] == doc["test_accuracy"]  # same seed, same data, same machine

    code, [ev] = run_json(capsys, "evaluate", "--model", run_dir)
    assert code == 0 and ev["n"] == 1000 and len(ev["confusion"]) == 10
    assert abs(ev["accuracy"] - doc["test_accuracy"]) < 1e-9

    from cnn import datasets

    test = datasets.load("mnist").test
    files = [digit_png(tmp_path / f"d{i}.png", 255 - test.image(i)) for i in range(3)]
    (tmp_path / "broken.png").write_text("not an image")
    code, rows = run_json(
        capsys, "predict", "--model", run_dir, *files, str(tmp_path / "broken.png")
    )
    assert code == 1 and len(rows) == 4
    assert all(r["label"] in [str(d) for d in range(10)] for r in rows[:3])
    assert "error" in rows[3] and rows[3]["file"].endswith("broken.png")


def test_errors_are_one_sentence_without_traceback(tmp_path):
    env = {**os.environ, "CNN_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "cnn", "predict", "--model", str(tmp_path / "nope"), "x.png"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


def noise_zip(archive: Path, side: int, prefix: str, seed: int) -> Path:
    """A .zip of 12 dark and 12 light noisy PNGs in class folders under `prefix`."""
    import zipfile

    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(archive, "w") as zf:
        for name, value in (("dark", 40), ("light", 210)):
            for i in range(12):
                image = np.clip(rng.normal(value, 20, (side, side, 3)), 0, 255).astype(np.uint8)
                zf.writestr(f"{prefix}{name}/{i}.png", cv2.imencode(".png", image)[1].tobytes())
    return archive


def test_folder_zip_training(capsys, tmp_path):
    archive = noise_zip(tmp_path / "shapes.zip", 24, "shapes/", seed=0)
    code, [doc] = run_json(
        capsys,
        "train",
        "--dataset",
        "folder",
        "--data",
        str(archive),
        "--arch",
        "tiny_vgg",
        "--image-size",
        "32",
        "--epochs",
        "3",
        "--out",
        str(tmp_path / "runs"),
    )
    assert code == 0 and doc["test_accuracy"] >= 0.5


def test_quick_preset_adapts_to_a_small_folder(capsys, tmp_path):
    """24 images: all of them (not 400), a smaller batch and enough epochs for 60 steps."""
    archive = noise_zip(tmp_path / "tiny.zip", 20, "", seed=1)
    argv = ["--dataset", "folder", "--data", str(archive), "--preset", "Quick"]
    code, [doc] = run_json(capsys, "train", *argv, "--image-size", "16", "--out", str(tmp_path))
    assert code == 0, doc
    config = json.loads((Path(doc["run_dir"]) / "run.json").read_text())["config"]
    # 20 training images (4 test): 18 train after validation, batch 16 -> 2 steps an epoch
    assert (config["max_samples"], config["batch_size"], config["arch"]) == (
        None,
        16,
        "cats_dogs_tutorial",
    )
    assert config["epochs"] == 30 and config["image_size"] == 16  # the option beats the preset


@pytest.mark.parametrize(
    "option, value, sentence",
    [
        ("optimizer", "lion",
         "Optimizer (optimizer) = lion is not a choice: it must be one of adam, sgd, rmsprop, "
         "adadelta."),
        ("epochs", "three",
         "Epochs (epochs) = three is not a whole number: it must be a whole number from 1 to "
         "1000."),
    ],
)  # fmt: skip
def test_a_bad_choice_or_word_gets_the_schema_sentence_too(capsys, tmp_path, option, value,
                                                             sentence):  # fmt: skip
    from cnn import lesson

    assert lesson.parse({option: value}).problems[0].startswith(sentence)
    assert main(["train", f"--{option}", value, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {sentence}"


def test_no_tensorflow_start_up_lines_reach_the_terminal(tiny_run, tmp_path):
    image = tmp_path / "seven.png"
    cv2.imwrite(str(image), np.zeros((28, 28), np.uint8) + 255)
    proc = subprocess.run(
        [sys.executable, "-m", "cnn", "predict", "--model", str(tiny_run), str(image)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.stderr == "" or proc.stderr.startswith(str(image))  # at most its own sentence
    assert "absl" not in proc.stderr and "oneDNN" not in proc.stderr


def test_calibrate_measures_a_saved_run_again_as_its_training_did(capsys, tiny_run, tmp_path):
    """A run whose record lost its confidence figures gets the same ones back: the command
    rebuilds the run's own validation split and test split."""
    import shutil

    from cnn import artifacts

    run_dir = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, run_dir)
    trained = artifacts.read_run_info(run_dir).record
    stripped = artifacts.read_run_info(run_dir).record
    stripped.calibration = stripped.ood = None
    artifacts.write_record(run_dir, stripped)
    code, [doc] = run_json(capsys, "calibrate", "--model", str(run_dir))
    assert code == 0 and doc["test_accuracy"] == trained.test.accuracy
    again = artifacts.read_run_info(run_dir).record
    assert again.calibration.temperature == pytest.approx(trained.calibration.temperature)
    assert again.calibration.ece_after == pytest.approx(trained.calibration.ece_after)
    assert again.ood.threshold == pytest.approx(trained.ood.threshold, rel=1e-4)
    assert doc["ood"]["score"] == again.ood.score


def test_a_training_no_better_than_guessing_gets_a_sentence(capsys, tmp_path):
    """Issue 11 item 12: one epoch on a few images says it has barely learned."""
    code = main(["train", "--dataset", "mnist", "--arch", "single_conv", "--epochs", "1",
                 "--max-samples", "40", "--lr", "0.00001", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0
    accuracy = float(re.search(r"Test accuracy (\d+\.\d+)", out.out).group(1))
    assert accuracy < 0.2, out.out  # a learning rate this small leaves it guessing
    assert "close to guessing (10% for 10 classes)" in out.err


def test_the_guessing_sentence_is_for_near_chance_only():
    from cnn.cli.training import near_chance_note

    assert near_chance_note(0.19, 10) is not None
    assert near_chance_note(0.21, 10) is None
    assert near_chance_note(0.55, 2) is not None and near_chance_note(0.61, 2) is None
    assert near_chance_note(None, 10) is None and near_chance_note(0.1, None) is None


@pytest.mark.parametrize(
    "option, value, sentence",
    [
        ("lr", "5",
         "Learning rate (lr) = 5 is out of range: it must be a number above 0 and at most 1."),
        ("epochs", "5000",
         "Epochs (epochs) = 5000 is out of range: it must be a whole number from 1 to 1000."),
    ],
)  # fmt: skip
def test_a_lesson_link_and_the_cli_refuse_a_value_out_of_range_with_one_sentence(
    capsys, tmp_path, option, value, sentence
):
    from cnn import lesson

    link = lesson.parse({option: value})
    assert link.settings == {} and link.problems[0].startswith(sentence)
    assert main(["train", f"--{option}", value, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {sentence}"
    assert not any(tmp_path.iterdir())  # refused before anything trained


def test_train_options_come_from_the_settings_schema(capsys):
    from cnn.training.config import SETTINGS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = capsys.readouterr().out
    for about in SETTINGS.values():
        if about.choices and about.name not in ("dataset", "arch"):
            assert "{" + ",".join(about.choices) + "}" in shown
    assert "--augmentation {none,standard,strong,elastic}" in shown and "--augment " in shown
    assert "--tta {none,mirror}" in shown and "--strategy {auto,default,multi_gpu}" in shown


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_the_old_word_flip_gets_the_schema_sentence(capsys, tiny_run, command):
    assert main([command, "--model", str(tiny_run), "--tta", "flip"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: Also read the mirror image (tta) = flip is not a choice: it must be one of "
        "none, mirror."
    )
