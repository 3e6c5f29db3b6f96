"""Exports: every format is written, then used the way a student would use it.

- keras: the copy reloads with safe_mode=True and holds the run's weights;
- tflite: the file, run back with the LiteRT interpreter, gives Keras' probabilities on real
  test images (to 1e-5), for the tiny run and for every shipped run; a file that disagrees
  is refused with a sentence and never written;
- script: the generated script runs with Keras alone: `--dry-run` prints the run's parameter
  count, its model has the run's layers (class and settings, one by one), it picks the
  images CNN Lab picked, and it trains for one short epoch on IDX files the test writes (and
  on a folder .zip) and saves a model that loads safely;
- card: it states the test accuracy and each class's accuracy from run.json;
- CLI and the Models-page buttons (AppTest).

Everything runs offline from a fresh clone: the tiny run trains on the embedded MNIST subset.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import shapes_zip
from streamlit.testing.v1 import AppTest

from cnn import artifacts, datasets, export
from cnn.architectures import ArchSpec, ConvBlock
from cnn.cli import main as cli_main
from cnn.export import inputs, tflite
from cnn.export.script import script_source
from cnn.training import recipe
from ui import exports as exports_ui

SCRIPT_S = 300  # a generated script's subprocess: TensorFlow import plus one tiny epoch


def shipped_runs() -> list[Path]:
    return [info.path for info in artifacts.list_runs([artifacts.shipped_dir()]) if info.ok]


def load_module(path: Path):
    """A generated script imported as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location("generated_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path: Path, *args: str, cwd: Path) -> dict:
    """Run a generated script in a fresh Python (no CNN Lab on its path); its last JSON line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=SCRIPT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def layer_settings(model) -> list[tuple[str, dict]]:
    """Each layer's class and config, without what names and dtypes say."""
    settings = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")}
        settings.append((type(layer).__name__, layer.name, config))
    return settings


def write_idx(path: Path, array: np.ndarray) -> None:
    """A gzip-compressed IDX file of uint8 values, as MNIST ships them."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def exports(tiny_run, tmp_path_factory) -> dict[str, export.Exported]:
    """All four exports of the tiny MNIST run."""
    out = tmp_path_factory.mktemp("exports")
    return {fmt: export.export_run(tiny_run, fmt, out) for fmt in export.FORMATS}


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny real run on a .zip of class folders (photos): (run folder, the .zip)."""
    from cnn.training import TrainConfig, train

    folder = tmp_path_factory.mktemp("folder-run")
    archive = folder / "shapes.zip"
    archive.write_bytes(shapes_zip(per_class=12))
    # a residual model: its script is written as `x = layer(x)` lines with the shortcuts
    spec = ArchSpec(
        [ConvBlock(8, 3, padding="same", batch_norm=True),
         ConvBlock(16, 3, padding="same", convs=2, batch_norm=True, residual=True)],
        "global_avg", [], name="small_residual",
    )  # fmt: skip
    config = TrainConfig(dataset="folder", data=str(archive), arch="custom", spec=spec.to_dict(),
                         epochs=1, image_size=32, batch_size=8, augmentation="standard",
                         mix="cutmix")  # fmt: skip
    result = train(config, out_dir=folder / "runs")
    assert result.state == "finished", result.message
    return result.run_dir, archive


def test_keras_export_reloads_with_safe_mode_and_holds_the_runs_weights(tiny_run, exports):
    import keras

    exported = exports["keras"]
    assert exported.path.suffix == ".keras"
    reloaded = keras.models.load_model(exported.path, compile=False, safe_mode=True)
    original = artifacts.load_run(tiny_run).model
    for mine, theirs in zip(reloaded.get_weights(), original.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_tflite_gives_keras_probabilities_on_real_test_images(tiny_run, exports, offline):
    run = artifacts.load_run(tiny_run)
    reference = inputs.reference_inputs(run)
    assert "test images of MNIST" in reference.source  # the embedded subset's test split
    assert reference.images.shape == (inputs.REFERENCE_IMAGES, 28, 28, 1)
    expected = np.asarray(run.model(reference.images, training=False))
    got = tflite.tflite_probabilities(exports["tflite"].path.read_bytes(), reference.images)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert "same top class on every one" in exports["tflite"].note


@pytest.mark.parametrize("run_dir", shipped_runs(), ids=lambda p: p.name.split("-")[2])
def test_every_shipped_run_exports_to_a_matching_tflite_file(run_dir, tmp_path, offline):
    run = artifacts.load_run(run_dir)
    exported = export.export_run(run_dir, "tflite", tmp_path)
    reference = inputs.reference_inputs(run)
    got = tflite.tflite_probabilities(exported.path.read_bytes(), reference.images)
    expected = np.asarray(run.model(reference.images, training=False))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_tflite_file_that_disagrees_is_refused_and_not_written(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(tflite, "TOLERANCE", -1.0)  # no difference, not even 0, passes now
    with pytest.raises(export.ExportError, match="disagrees with the Keras model"):
        export.export_run(tiny_run, "tflite", tmp_path)
    assert not list(tmp_path.glob("*.tflite"))


def test_script_dry_run_prints_the_runs_parameter_count(tiny_run, exports, tmp_path):
    record = artifacts.read_run_info(tiny_run).record
    assert "import cnn" not in exports["script"].path.read_text()
    assert "from cnn" not in exports["script"].path.read_text()
    assert run_script(exports["script"].path, "--dry-run", cwd=tmp_path) == {
        "params": record.params
    }


def test_script_builds_the_runs_layers_one_by_one(tiny_run, exports):
    module = load_module(exports["script"].path)
    original = artifacts.load_run(tiny_run).model
    assert layer_settings(module.build_model()) == layer_settings(original)


def test_script_of_a_residual_run_wires_its_shortcuts(folder_run, tmp_path):
    run_dir, _ = folder_run
    path = export.export_run(run_dir, "script", tmp_path).path
    assert 'x = layers.Add(name="add2")([bn2_2, x])' in path.read_text()
    built = load_module(path).build_model()
    original = artifacts.load_run(run_dir).model
    assert layer_settings(built) == layer_settings(original)
    # the same wiring: the saved weights give the saved model's answers
    built.set_weights(original.get_weights())
    images = np.random.default_rng(0).uniform(0, 1, (4, *original.inputs[0].shape[1:]))
    np.testing.assert_allclose(built.predict(images, verbose=0),
                               original.predict(images, verbose=0), atol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("kind_run", "level"),
    [("mnist", "standard"), ("mnist", "strong"), ("mnist", "elastic")]
    + [("folder", "standard"), ("folder", "strong")],
)
def test_script_augmentation_is_the_runs(kind_run, level, tiny_run, folder_run, tmp_path):
    """The generated augmentation layers equal cnn.training.recipe's, setting by setting,
    for the standard, the strong (thicker strokes, colour jitter) and the elastic recipes."""
    run_dir = tiny_run if kind_run == "mnist" else folder_run[0]
    record = artifacts.read_run_info(run_dir).record
    config = replace(record.config, augmentation=level, weight_decay=0.05, ema=0.99)
    record = replace(record, config=config)
    path = tmp_path / "script.py"
    path.write_text(script_source(record, path.name))
    kind = datasets.kind_of_method(record.preprocessing.method).key
    name = datasets.augmentation_name(kind, level)
    expected = recipe.augmentation(name, seed=record.config.seed)
    module = load_module(path)
    got = module.augmentation()
    assert [s[::2] for s in layer_settings(got)] == [s[::2] for s in layer_settings(expected)]
    optimizer = module.make_optimizer(module.OPTIMIZER, module.LEARNING_RATE, 100,
                                      weight_decay=module.WEIGHT_DECAY, ema=module.EMA)  # fmt: skip
    assert optimizer.weight_decay == pytest.approx(0.05) and optimizer.use_ema
    if level == "elastic":  # the script's own layer bends as the engine's does
        digits = datasets.load("mnist", download=False).test.images[:8].astype("float32") / 255
        bend = got.layers[0]
        np.testing.assert_array_equal(bend(digits, training=False).numpy(), digits)
        assert np.abs(bend(digits, training=True).numpy() - digits).mean() > 0.01
        field = np.zeros((8, 28, 28, 2), np.float32)
        field[..., 0] = 0.5
        np.testing.assert_allclose(module.displaced(tf.constant(digits), field).numpy(),
                                   recipe.displaced(digits, field).numpy(), atol=1e-6)  # fmt: skip
        size = tf.constant([256, 28, 28, 1])
        assert np.std(bend.displacements(size)) == pytest.approx(
            np.std(expected.layers[0].displacements(size)), rel=0.1
        )


def test_script_picks_the_images_cnn_lab_picked(exports):
    module = load_module(exports["script"].path)
    labels = np.repeat(np.arange(10), [50 + 7 * c for c in range(10)])
    split = datasets.Split(labels=labels, paths=np.arange(len(labels)).astype(str))
    subset = datasets.stratified_subset(split, 200, seed=3)
    assert np.sort(module.stratified_order(labels, 3)[:200]).astype(str).tolist() == list(
        subset.paths
    )
    train, validation = datasets.split_validation(split, 0.1, seed=3)
    order = module.stratified_order(labels, 3)
    held_out = int(round(len(labels) * 0.1))
    assert np.sort(order[:held_out]).astype(str).tolist() == list(validation.paths)
    assert np.sort(order[held_out:]).astype(str).tolist() == list(train.paths)


def idx_folder(tmp_path: Path) -> Path:
    """The embedded MNIST subset written as the four IDX files (no download)."""
    data = datasets.load("mnist", download=False)  # the embedded subset offline
    idx = tmp_path / "mnist"
    idx.mkdir()
    for (images_name, labels_name), split in zip(
        datasets.MNIST_FILES.values(), (data.train, data.test), strict=True
    ):
        write_idx(idx / images_name, split.images[..., 0])
        write_idx(idx / labels_name, split.labels)
    return idx


def test_generated_script_trains_one_short_epoch_on_idx_files(tiny_run, exports, tmp_path):
    """The MNIST script reads IDX files the test writes (no download) and saves its model."""
    saved = tmp_path / "retrained.keras"
    args = ["--data", str(idx_folder(tmp_path)), "--epochs", "1", "--max-samples", "300"]
    result = run_script(exports["script"].path, *args, "--save", str(saved), cwd=tmp_path)
    assert 0.0 <= result["test_accuracy"] <= 1.0
    record = artifacts.read_run_info(tiny_run).record
    assert result["params"] == record.params
    retrained = artifacts.load_model_file(saved)  # safe_mode=True
    assert layer_settings(retrained) == layer_settings(artifacts.load_run(tiny_run).model)


def test_script_of_a_redrawn_strokes_run_redraws_as_cnn_lab_does(tiny_run, tmp_path):
    """A run trained with redrawn strokes gets a script that redraws its training digits with
    the same functions (the embedded copies give cnn.strokes' pixels) and trains with them."""
    from cnn import strokes

    record = artifacts.read_run_info(tiny_run).record
    record = replace(record, config=replace(record.config, redraw_strokes=0.5))
    path = tmp_path / "redrawn.py"
    path.write_text(script_source(record, path.name))
    digits = datasets.load("mnist", download=False).test.images[:20]
    module = load_module(path)
    assert module.REDRAW_STROKES == 0.5
    np.testing.assert_array_equal(module.redrawn_digits(digits), strokes.redrawn_digits(digits))
    args = ["--data", str(idx_folder(tmp_path)), "--epochs", "1", "--max-samples", "200"]
    result = run_script(path, *args, "--save", str(tmp_path / "r.keras"), cwd=tmp_path)
    assert result["params"] == record.params and 0.0 <= result["test_accuracy"] <= 1.0


def test_script_of_a_distilled_run_learns_from_the_teachers_it_is_given(tiny_run, tmp_path, capsys):
    """A run trained with teachers gets a script that mixes each target with the teacher
    models' answer for the same images (given with --teacher), and says so when none is."""
    record = artifacts.read_run_info(tiny_run).record
    config = replace(record.config, teachers=[str(tiny_run)], distill=0.25)
    path = tmp_path / "distilled.py"
    path.write_text(script_source(replace(record, config=config), path.name))
    module = load_module(path)
    assert module.TEACHERS == [tiny_run.name] and module.DISTILL == 0.25
    teacher = artifacts.load_run(tiny_run).model
    x = datasets.load("mnist", download=False).test.images[:16]
    labels = np.eye(10, dtype=np.float32)[np.arange(16) % 10]
    batches = tf.data.Dataset.from_tensor_slices((x, labels)).batch(8)
    mixed = module.with_teachers(batches, [str(tiny_run / artifacts.MODEL_FILE)])
    targets = np.concatenate([np.asarray(y) for _, y in mixed])
    expected = 0.75 * labels + 0.25 * teacher.predict(x, verbose=0)
    np.testing.assert_allclose(targets, expected, atol=1e-5)
    assert module.with_teachers(batches, []) is batches  # without teachers: the labels alone
    assert f"learned from teacher runs ({tiny_run.name})" in capsys.readouterr().err
    args = ["--data", str(idx_folder(tmp_path)), "--epochs", "1", "--max-samples", "200"]
    teacher_file = str(tiny_run / artifacts.MODEL_FILE)
    result = run_script(path, *args, "--teacher", teacher_file, "--save",
                        str(tmp_path / "d.keras"), cwd=tmp_path)  # fmt: skip
    assert result["params"] == record.params and 0.0 <= result["test_accuracy"] <= 1.0


def test_generated_script_trains_one_short_epoch_on_a_folder_zip(folder_run, tmp_path):
    run_dir, archive = folder_run
    exported = export.export_run(run_dir, "script", tmp_path)
    saved = tmp_path / "retrained.keras"
    result = run_script(
        exported.path, "--data", str(archive), "--epochs", "1", "--save", str(saved), cwd=tmp_path
    )
    assert result["params"] == artifacts.read_run_info(run_dir).record.params
    assert artifacts.load_model_file(saved).count_params() == result["params"]


def test_card_states_test_and_per_class_accuracy(tiny_run, exports):
    record = artifacts.read_run_info(tiny_run).record
    card = exports["card"].path.read_text()
    assert f"**Test accuracy: {record.test.accuracy:.1%}**" in card
    for row in record.test.per_class:
        assert f"| {row['name']} | {row['accuracy']:.1%} | {row['n']} |" in card
    assert "## Known limits" in card
    check = record.ood  # the training measured its unfamiliar-input check: the card says it
    assert f"| own test images flagged | {check.false_alarm:.1%} of {check.n_test:,} |" in card
    assert f"| foreign inputs caught | {check.detection:.1%} of {check.n_foreign:,} |" in card
    assert "Not measured" not in card


def test_card_says_when_the_unfamiliar_check_was_not_measured(tiny_run):
    from cnn.export.card import model_card

    record = artifacts.read_run_info(tiny_run).record
    record.ood = None  # a run trained before CNN Lab measured it
    assert "In-distribution check\n\nNot measured for this run" in model_card(record)


def test_cli_export_prints_format_and_path(tiny_run, tmp_path, capsys):
    for fmt in ("card", "keras"):
        assert cli_main(["export", "--model", str(tiny_run), "--format", fmt,
                         "--out", str(tmp_path), "--json"]) == 0  # fmt: skip
        doc = json.loads(capsys.readouterr().out)
        assert doc == {"format": fmt, "path": str(tmp_path / export.file_name(tiny_run.name, fmt))}
        assert Path(doc["path"]).is_file()


def test_cli_export_of_a_broken_run_is_one_sentence(tmp_path, capsys):
    assert cli_main(["export", "--model", str(tmp_path), "--format", "card", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def export_buttons_script(run_path: str) -> None:
    """A page holding only the export buttons of one run (AppTest runs this function's body)."""
    from cnn import artifacts
    from ui.exports import export_buttons_ui

    export_buttons_ui(artifacts.read_run_info(run_path))


def test_export_buttons_prepare_then_offer_each_file(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(exports_ui, "EXPORTS_ROOT", tmp_path)
    at = AppTest.from_function(export_buttons_script, args=(str(tiny_run),), default_timeout=120)
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == list(export.FORMATS.values())
    next(b for b in at.button if b.label == "Model card").click().run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Model card"]
    assert "per-class accuracy" in at.caption[0].value
    (card,) = tmp_path.glob("*/*_card.md")
    assert "Test accuracy" in card.read_text()
    other = AppTest.from_function(export_buttons_script, args=(str(tiny_run),))
    other.run()  # another session gets the prepared file at once
    assert [b.label for b in other.get("download_button")] == ["Model card"]


def test_export_button_shows_the_refusal_as_a_sentence(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(exports_ui, "EXPORTS_ROOT", tmp_path)
    monkeypatch.setattr(tflite, "TOLERANCE", -1.0)
    at = AppTest.from_function(export_buttons_script, args=(str(tiny_run),), default_timeout=120)
    at.run()
    next(b for b in at.button if b.label == "TensorFlow Lite").click().run()
    assert not at.exception
    assert "disagrees with the Keras model" in at.error[0].value
    assert not at.get("download_button")
    assert not list(tmp_path.rglob("*.tflite"))
