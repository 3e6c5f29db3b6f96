"""cnn.surgery and `python -m cnn surgery`, checked by Keras on the shared tiny run.

The edited run is read back from disk: a zeroed channel's feature map is 0 for a real digit
(a Keras sub-model of its own, also through batch norm and ReLU in a built model), a set
filter holds the preset's numbers, the original run's files are untouched, and the accuracy
before and after equals Keras' own predictions on the same test digits.
"""

from __future__ import annotations

import hashlib
import json

import keras
import numpy as np
import pytest

from cnn.__main__ import main
from cnn.architectures import ArchSpec, ConvBlock, build
from cnn.surgery import SurgeryError, apply_changes, parse_change, preset_kernel

LIMIT = 200  # test digits measured


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_presets_are_the_textbook_filters():
    np.testing.assert_array_equal(preset_kernel("sobel_x", 3), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(preset_kernel("sobel_y", 3), preset_kernel("sobel_x", 3).T)
    np.testing.assert_allclose(preset_kernel("blur", 3), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    for k in (3, 5):
        assert preset_kernel("blur", k).sum() == pytest.approx(1.0)
        assert preset_kernel("sharpen", k).sum() == pytest.approx(1.0)
        assert (
            preset_kernel("identity", k)[k // 2, k // 2] == 1
            and preset_kernel("identity", k).sum() == 1
        )
        assert preset_kernel("sobel_x", k).sum() == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kind", "text", "words"),
    [
        ("zero", "conv1", "is not LAYER:CHANNEL"),
        ("zero", "conv1:3=blur", "takes no '=' value"),
        ("set_filter", "conv1:0", "say what to set the filter to"),
        ("set_filter", "conv1:0=wobble", "neither a preset"),
    ],
)
def test_bad_changes_are_one_sentence(kind, text, words):
    with pytest.raises(SurgeryError, match=words):
        parse_change(kind, text)


def _loaded(model, folder):
    """The model saved and loaded back, as a run's model is (a loaded Sequential rewires its
    layers' tensors, so 'the layer that reads the conv' must be found another way)."""
    path = folder / "model.keras"
    model.save(path)
    return keras.models.load_model(path)


@pytest.mark.parametrize("kind", ["built", "loaded"])
def test_zeroing_through_batch_norm_silences_the_map(kind, tmp_path):
    spec = ArchSpec([ConvBlock(4, 3, padding="same", batch_norm=True, pool="none")], "global_avg")
    model = build(spec, (9, 9, 3), 3)
    model = model if kind == "built" else _loaded(model, tmp_path)
    bn = next(lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization))
    bn.beta.assign(np.full(4, 0.7, np.float32))  # a map that is not 0 on its own
    done = apply_changes(model, [parse_change("zero", f"{model.layers[0].name}:2")])
    assert done[0]["batch_norm"] == bn.name
    image = np.random.default_rng(0).uniform(0, 1, (1, 9, 9, 3)).astype(np.float32)
    act = [lay for lay in model.layers if isinstance(lay, keras.layers.Activation)][0]
    maps = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], act.output)(image))
    assert (maps[..., 2] == 0).all() and (maps[..., [0, 1, 3]] > 0).any()


def keras_accuracy(model, images, labels) -> float:
    probabilities = keras.ops.convert_to_numpy(model(images, training=False))
    return float((probabilities.argmax(axis=1) == labels).mean())


@pytest.fixture
def runs_dir(monkeypatch, tmp_path, empty_data_dir):
    """An empty user runs folder (edited runs land there, not beside the shared tiny run)."""
    monkeypatch.setenv("CNN_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    return tmp_path


def test_cli_saves_a_new_run_and_measures_it(capsys, tiny_run, runs_dir):
    from cnn import artifacts, datasets
    from cnn.probes.embedding import subset_indices

    trained = tiny_run
    before_files = digest(trained)
    code = main(
        ["surgery", "--model", str(trained), "--zero", "conv2_1:0", "--zero", "conv2_1:5",
         "--set-filter", "conv1_1:1=sobel_y", "--max-test", str(LIMIT), "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc)[:4] == ["run_dir", "changes", "test_accuracy_before", "test_accuracy_after"]
    assert digest(trained) == before_files  # the run itself is never written
    edited = artifacts.load_run(doc["run_dir"])
    assert edited.info.path.parent == runs_dir  # the user runs folder
    assert edited.record.surgery["from"] == trained.name
    assert [c["kind"] for c in edited.record.surgery["changes"]] == ["zero", "zero", "set_filter"]
    assert edited.record.test.accuracy == doc["test_accuracy_after"]
    model = edited.model
    np.testing.assert_array_equal(np.asarray(model.get_layer("conv1_1").kernel)[..., 0, 1],
                                  preset_kernel("sobel_y", 3))  # fmt: skip
    # the same test digits, through Keras
    data = datasets.load("mnist")
    split = data.test.take(subset_indices(data.test, LIMIT))
    images = split.images.astype(np.float32)[..., :1] / 255.0
    original = artifacts.load_run(trained).model
    assert doc["test_accuracy_before"] == pytest.approx(
        keras_accuracy(original, images, split.labels)
    )
    assert doc["test_accuracy_after"] == pytest.approx(keras_accuracy(model, images, split.labels))
    maps = keras.Model(model.inputs[0], model.get_layer("conv2_1").output)(images[:8])
    maps = keras.ops.convert_to_numpy(maps)
    assert (maps[..., [0, 5]] == 0).all() and (maps[..., 1] != 0).any()
    per_class = {row["name"]: row for row in doc["per_class"]}
    for c in range(10):
        mine = split.labels == c
        hits = keras.ops.convert_to_numpy(model(images[mine])).argmax(axis=1) == c
        assert per_class[str(c)]["after"] == pytest.approx(float(hits.mean()))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--zero", "conv9:0"], "is not a conv layer"),
        (["--zero", "conv2_1:99"], "the channel must be 0 to"),
        (["--set-filter", "conv2_1:0=blur"], "only in the first conv layer"),
        (["--set-filter", "conv1_1:0=1,2,3"], "give 9 numbers"),
        ([], "Say what to change"),
        (["--zero", "conv1_1:0", "--set-filter", "conv1_1:0=blur"], "is changed twice"),
    ],
)
def test_cli_errors_are_one_sentence(capsys, tiny_run, runs_dir, argv, words):
    code = main(["surgery", "--model", str(tiny_run), *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and words in err and err.count("\n") == 1
    assert not list(runs_dir.iterdir())  # nothing saved


def test_retrain_an_edited_run_with_frozen_layers(capsys, tiny_run, runs_dir):
    """`train --init-from EDITED --freeze ...`: the frozen layers keep the surgery's weights
    exactly (the zeroed channel stays 0), the others train, and run.json records both."""
    from cnn import artifacts

    code = main(["surgery", "--model", str(tiny_run), "--zero", "conv2_1:2",
                 "--max-test", "50", "--json"])  # fmt: skip
    edited = json.loads(capsys.readouterr()[0])["run_dir"]
    code = main(
        ["train", "--dataset", "mnist", "--init-from", edited, "--freeze", "conv1_1",
         "--freeze", "conv2_1", "--epochs", "1", "--max-samples", "200", "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    retrained = artifacts.load_run(json.loads(out)["run_dir"])
    assert retrained.record.config.init_from == edited
    assert retrained.record.config.freeze == ["conv1_1", "conv2_1"]
    source = artifacts.load_run(edited).model
    for name in ("conv1_1", "conv2_1"):
        for mine, theirs in zip(retrained.model.get_layer(name).get_weights(),
                                source.get_layer(name).get_weights(), strict=True):  # fmt: skip
            np.testing.assert_array_equal(mine, theirs)
    assert not np.asarray(retrained.model.get_layer("conv2_1").kernel)[..., 2].any()
    trained_on = retrained.model.get_layer("conv1_2").get_weights()[0]
    assert not np.array_equal(trained_on, source.get_layer("conv1_2").get_weights()[0])
    # a layer the model does not have: one sentence
    code = main(["train", "--dataset", "mnist", "--init-from", edited, "--freeze", "conv9",
                 "--epochs", "1", "--max-samples", "100"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and "no layer conv9 to freeze" in err
