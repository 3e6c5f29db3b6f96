"""Probes: sweeps, occlusion, nearest training images, attacks, the dense baseline, the CLI
and the Probe page, on real (tiny) runs and the shipped MNIST run.

Every number is checked against the model itself (Keras or the Inspector) or by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import drawn_one, open_page, small_residual_model

from cnn import artifacts, datasets, settings
from cnn.__main__ import main
from cnn.calibration import CalibratedInspector, Calibration
from cnn.cli.runs import predict_file
from cnn.inspect import Inspector
from cnn.probes import attack, embedding, occlusion, sweeps
from cnn.training import TrainConfig, train
from ui import state

SHIPPED_MNIST = "20261124-133544-mnist-vgg_wide-bf0813"


class CountingInspector:
    """The real Inspector, counting the compiled calls (and batch sizes) made through it."""

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector
        self.model = inspector.model
        self.batches: list[int] = []

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        return self.inspector.probabilities(x)


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    """Embeddings cached in this test's own folder."""
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def tiny(tiny_run):
    run = artifacts.load_run(tiny_run)
    return run, Inspector(run.model)


@pytest.fixture(scope="module")
def attacker(tiny):
    """One Attacker for the module: its compiled gradient is shared by the attack tests."""
    return attack.Attacker(tiny[1])


@pytest.fixture(scope="module")
def shipped():
    run = artifacts.load_run(artifacts.shipped_dir() / SHIPPED_MNIST)
    return run, Inspector(run.model)


def first_test_digit(empty_data_dir) -> np.ndarray:
    data = datasets.load("mnist", empty_data_dir, download=False)
    return data.test.images[0].astype(np.float32) / 255.0


def one_bar() -> np.ndarray:
    """A mirror-symmetric "1": a vertical bar, columns 12-15 of 28 (centre 13.5)."""
    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 12:16] = 1.0
    return image


def digit_file(tmp_path, image: np.ndarray) -> str:
    path = tmp_path / "digit.png"
    cv2.imwrite(str(path), (image[..., 0] * 255).astype(np.uint8))
    return str(path)


@pytest.mark.parametrize("name", sweeps.FOR_METHOD["digits"])
def test_identity_equals_predict(tiny, tmp_path, name):
    run, inspector = tiny
    file = digit_file(tmp_path, one_bar())
    predicted = predict_file(run, Inspector(run.model, jit_compile=False), file)
    steps_input = artifacts_input(run, file)
    result = sweeps.run_sweep(inspector, steps_input, name, "digits")
    i = result.identity_index
    assert result.values[i] == result.sweep.identity
    np.testing.assert_array_equal(result.inputs[i], steps_input)
    # predict's probabilities are rounded to 6 places in its JSON
    top = {label: p for label, p in predicted["top"]}
    for label, p in top.items():
        assert abs(result.probabilities[i, run.class_names.index(label)] - p) < 1e-4
    keras = run.model(steps_input[None], training=False).numpy()[0]
    np.testing.assert_allclose(result.probabilities[i], keras, atol=1e-4)


def artifacts_input(run, file: str) -> np.ndarray:
    from cnn import preprocess

    return preprocess.prepare_upload(preprocess.load_image(file), run.preprocessing).input


def test_every_sweep_has_the_identity_and_keeps_values_in_range():
    image = np.random.default_rng(0).random((28, 28, 3), dtype=np.float32)
    for method in sweeps.FOR_METHOD:
        for sweep in sweeps.sweeps_for(method):
            values = sweep.values(28)
            assert sweep.identity in values, sweep.name
            changed = sweeps.transformed(image, sweep, values, sweeps.border_for(method))
            assert changed.shape == (len(values), 28, 28, 3)
            assert changed.min() >= 0 and changed.max() <= 1
            np.testing.assert_array_equal(changed[list(values).index(sweep.identity)], image)


def test_transforms_by_hand():
    image = np.zeros((28, 28, 1), np.float32)
    image[10, 10] = 1.0
    shift = sweeps.SWEEPS["shift_x"].apply(image, 3)
    assert shift[10, 13, 0] == 1.0 and shift.sum() == 1.0
    down = sweeps.SWEEPS["shift_y"].apply(image, -2)
    assert down[8, 10, 0] == 1.0
    thicker = sweeps.SWEEPS["thickness"].apply(image, 1)
    assert thicker.sum() == 5.0  # a 3x3 cross
    assert sweeps.SWEEPS["thickness"].apply(thicker, -1).sum() == 1.0
    brighter = sweeps.SWEEPS["brightness"].apply(np.full((4, 4, 1), 0.5, np.float32), 0.2)
    np.testing.assert_allclose(brighter, 0.7)


def test_a_rotation_sweep_of_a_digit_is_symmetric_enough_to_be_sane(shipped):
    run, inspector = shipped
    result = sweeps.run_sweep(inspector, one_bar(), "rotation", "digits")
    values = result.values
    np.testing.assert_array_equal(values, -values[::-1])
    # a mirror-symmetric digit turned +a and -a degrees gives mirror images
    np.testing.assert_allclose(result.inputs[::-1], result.inputs[:, :, ::-1], atol=1e-5)
    one = run.class_names.index("1")
    near = np.abs(values) <= 30
    assert (result.labels[near] == one).all()
    assert (result.labels[np.abs(values) == 90] != one).all()
    # the answer flips on both sides, at a similar angle (the model, not the input, differs)
    below, above = result.flip()
    assert below is not None and above is not None
    assert 30 < -below <= 90 and 30 < above <= 90
    assert abs(abs(below) - above) <= 30


def test_sweeps_and_occlusion_are_one_compiled_call(tiny, empty_data_dir):
    _, inspector = tiny
    counting = CountingInspector(inspector)
    image = first_test_digit(empty_data_dir)
    result = sweeps.run_sweep(counting, image, "rotation", "digits")
    assert counting.batches == [len(result.values)]
    counting.batches.clear()
    covered = occlusion.occlusion_map(counting, image, patch=7, stride=3)
    assert counting.batches == [1 + len(covered.tops) * len(covered.lefts)]


def test_occlusion_drop_is_the_models_own(tiny, empty_data_dir):
    run, inspector = tiny
    image = first_test_digit(empty_data_dir)
    result = occlusion.occlusion_map(inspector, image, patch=7, stride=3, fill=0.5)
    assert list(result.tops) == [0, 3, 6, 9, 12, 15, 18, 21]
    top, left = int(result.tops[2]), int(result.lefts[5])
    covered = image.copy()
    covered[top : top + 7, left : left + 7] = 0.5
    p = run.model(np.stack([image, covered]), training=False).numpy()
    assert result.target == int(p[0].argmax())
    assert abs(result.drops[2, 5] - (p[0, result.target] - p[1, result.target])) < 1e-4
    assert result.heat.shape == (28, 28)


def test_nearest_neighbours_of_a_training_image_include_itself(tiny, empty_data_dir, cache):
    run, inspector = tiny
    data = datasets.load("mnist", empty_data_dir, download=False)
    pool = embedding.embedded_split(run, inspector, data, "train", limit=500)
    assert len(pool) == 500 and "500 of the" in pool.source and data.source in pool.source
    index = int(pool.indices[123])
    image = data.train.images[index].astype(np.float32) / 255.0
    feature, _ = inspector.predict_with_features(image[None])
    found = embedding.nearest(pool, feature[0], 5)
    assert found[0].index == index and found[0].distance < 1e-3
    assert found[0].label == data.train.labels[index]
    assert [n.distance for n in found] == sorted(n.distance for n in found)
    # the second time the embedding comes from the cache file, unchanged
    assert list(cache.glob("*.npz"))
    again = embedding.embedded_split(run, inspector, data, "train", limit=500)
    np.testing.assert_array_equal(again.features, pool.features)


def test_the_map_places_a_test_image_where_its_own_point_is(tiny, empty_data_dir):
    run, inspector = tiny
    data = datasets.load("mnist", empty_data_dir, download=False)
    test = embedding.embedded_split(run, inspector, data, "test", limit=300)
    projection = embedding.project(test, "pca")
    assert projection.points.shape == (300, 2) and 0 < projection.explained <= 1
    image = data.test.images[int(test.indices[7])].astype(np.float32) / 255.0
    feature, _ = inspector.predict_with_features(image[None])
    np.testing.assert_allclose(projection.place(feature[0]), projection.points[7], atol=1e-3)


@pytest.mark.parametrize("method", attack.METHODS)
@pytest.mark.parametrize("goal", ["away", "toward"])
def test_an_attack_is_classified_as_reported(tiny, attacker, empty_data_dir, method, goal):
    run, inspector = tiny
    image = first_test_digit(empty_data_dir)
    before = inspector.probabilities(image[None])[0]
    target = None if goal == "away" else int(np.argsort(before)[-2])
    found = attacker.attack(image, method, target)
    assert found.epsilon is not None, found
    # Keras itself, on the exact perturbed input, gives the reported label
    keras = run.model(found.perturbed[None], training=False).numpy()[0]
    assert int(keras.argmax()) == found.label_after
    assert found.label_before == int(before.argmax())
    if goal == "away":
        assert found.label_after != found.label_before
    else:
        assert found.label_after == target
    assert np.abs(found.perturbation).max() <= found.epsilon + 1e-6
    assert 0 <= found.perturbed.min() and found.perturbed.max() <= 1
    # nothing smaller that was tried worked
    assert not found.succeeded[found.epsilons < found.epsilon].any()


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory, empty_data_dir) -> str:
    """The dense baseline trained for real: 1 epoch on 300 embedded MNIST digits."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNN_DATA_DIR", str(empty_data_dir))
        config = TrainConfig(dataset="mnist", arch="dense_baseline", epochs=1, max_samples=300)
        result = train(config, out_dir=tmp_path_factory.mktemp("dense"))
    assert result.state == "finished", result.message
    return str(result.run_dir)


def test_the_dense_baseline_trains_and_probes(dense_run, empty_data_dir):
    run = artifacts.load_run(dense_run)
    assert run.record.spec.conv_blocks == []
    inspector = Inspector(run.model)
    image = first_test_digit(empty_data_dir)
    inspection = inspector.run(image)
    assert inspection.activations == [] and inspection.gradcam is None
    assert "no convolution" in inspection.gradcam_reason
    swept = sweeps.run_sweep(inspector, image, "shift_x", "digits")
    assert swept.probabilities.shape == (17, 10)
    assert occlusion.occlusion_map(inspector, image).heat.shape == (28, 28)
    features, _ = inspector.predict_with_features(image[None])
    assert features.shape == (1, 128)  # the second hidden layer
    found = attack.Attacker(inspector).attack(image, "fgsm")
    keras = run.model(found.perturbed[None], training=False).numpy()[0]
    assert found.epsilon is not None and int(keras.argmax()) == found.label_after


def test_the_train_page_offers_and_summarises_the_dense_baseline(offline):
    at = open_page("app_pages/train.py")
    at.selectbox(key="arch-Quick-mnist").set_value("dense_baseline").run()
    assert not at.exception
    assert any("235,146 parameters" in c.value for c in at.caption)


def predict_a_drawing(monkeypatch, run: str, data_dir) -> object:
    """Predict on `run` (its folder listed as the user runs) with a drawn "1"; the AppTest."""
    monkeypatch.setenv("CNN_RUNS_DIR", str(Path(run).parent))
    monkeypatch.setenv("CNN_DATA_DIR", str(data_dir))
    at = open_page("app_pages/predict.py", active_run=run)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    assert at.selectbox[0].value.name == Path(run).name
    return at


def test_the_probe_page_on_a_dense_model(monkeypatch, dense_run, empty_data_dir):
    at = predict_a_drawing(monkeypatch, dense_run, empty_data_dir)
    # Predict has stored the input it prepared (the page itself is tested below)
    at.switch_page("app_pages/probe.py")
    at.run()
    assert not at.exception
    at.session_state["probe-tab"] = "Cover it"
    at.run()
    assert not at.exception
    assert any("no convolution layer" in i.value for i in at.info)


def test_the_predict_page_on_a_dense_model(monkeypatch, dense_run, empty_data_dir):
    at = predict_a_drawing(monkeypatch, dense_run, empty_data_dir)
    assert not at.exception


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_probe_nearest_and_attack_print_their_json(capsys, tiny_run, tmp_path, monkeypatch,
                                                       empty_data_dir):  # fmt: skip
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))
    run = artifacts.load_run(tiny_run)
    file = digit_file(tmp_path, first_test_digit(empty_data_dir))
    code, doc = run_json(capsys, "probe", "--model", str(tiny_run), file, "--sweep", "shift_x")
    assert code == 0 and set(doc) == {"sweep", "values", "probabilities", "labels"}
    assert doc["sweep"] == "shift_x" and 0 in doc["values"]
    assert len(doc["probabilities"]) == len(doc["values"]) == len(doc["labels"])
    identity = doc["probabilities"][doc["values"].index(0)]
    code, predicted = run_json(capsys, "predict", "--model", str(tiny_run), file)
    assert (
        abs(identity[run.class_names.index(predicted["label"])] - predicted["probability"]) < 1e-4
    )

    code, doc = run_json(capsys, "nearest", "--model", str(tiny_run), file, "--k", "4",
                         "--limit", "300")  # fmt: skip
    assert code == 0 and set(doc) == {"neighbours", "source"}
    assert "300 of the" in doc["source"] and "embedded" in doc["source"]
    assert [set(n) for n in doc["neighbours"]] == [{"label", "distance", "index"}] * 4
    distances = [n["distance"] for n in doc["neighbours"]]
    assert distances == sorted(distances)

    code, doc = run_json(capsys, "attack", "--model", str(tiny_run), file)
    assert code == 0 and {"label_before", "label_after", "epsilon", "method"} <= set(doc)
    assert doc["method"] == "fgsm" and 0 < doc["epsilon"] <= 1
    assert doc["label_after"] != doc["label_before"]


def test_cli_refuses_a_sweep_the_model_has_not(capsys, tiny_run, tmp_path, empty_data_dir):
    file = digit_file(tmp_path, first_test_digit(empty_data_dir))
    code = main(["probe", "--model", str(tiny_run), file, "--sweep", "contrast", "--json"])
    assert code == 2
    assert "There is no 'contrast' sweep" in capsys.readouterr().err


def test_probe_page_without_an_input_points_to_predict(trained):
    at = open_page("app_pages/probe.py", active_run=trained)
    assert not at.exception
    assert any("Predict first" in i.value for i in at.info)


def test_probe_page_on_a_drawing_opens_every_tab(trained):
    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page("app_pages/probe.py")
    at.run()
    assert not at.exception
    assert any("Unchanged, the model says" in m.value for m in at.markdown)
    for tab in ("Cover it", "Training images alike", "Fool it"):
        at.session_state["probe-tab"] = tab
        at.run()
        assert not at.exception, tab
    assert at.metric[0].label == "Smallest change that works"
    assert at.metric[0].value.startswith("ε = ")
    assert any("of 255 brightness steps" in i.value for i in at.info)


def test_the_sweep_chart_draws_the_classes_it_flips_to_first():
    from ui.probe_figures import classes_shown

    values = np.arange(-4, 5).astype(float)
    labels = [7, 7, 4, 8, 9, 9, 9, 3, 5]  # 9 unchanged; 8 at -1 px, 3 at +3 px
    probabilities = np.eye(10)[labels]
    result = sweeps.SweepResult(sweeps.SWEEPS["shift_x"], values, np.zeros((9, 2, 2, 1)),
                                probabilities)  # fmt: skip
    assert classes_shown([result], limit=3) == [9, 8, 4]
    assert result.flip() == (-1.0, 3.0)


def test_the_attack_gradient_of_a_residual_model_is_its_own():
    """A functional model (residual blocks) is no chain of layers: the attacker runs its graph."""
    import tensorflow as tf

    model = small_residual_model((12, 12, 1), first_filters=4)
    images = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 1)).astype(np.float32)
    labels = np.array([0, 2])
    signs, logits = attack.Attacker(Inspector(model), jit_compile=False).gradient_sign(
        images, labels
    )
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        probabilities = model(x, training=False)
        loss = tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities.numpy(), atol=1e-5)
    expected = np.sign(tape.gradient(loss, x).numpy())
    assert (signs == expected).mean() > 0.99


def test_calibrated_probes_are_the_softmax_of_keras_logits_over_the_temperature(tiny):
    """What the Probe page shows: softmax(logits / T), the logits being Keras' own (the
    output layer's input times its kernel, plus its bias)."""
    import keras

    run, inspector = tiny
    image = one_bar()
    head = run.model.layers[-1]
    body = keras.Model(run.model.inputs[0], head.input)
    result = sweeps.run_sweep(CalibratedInspector(inspector, None), image, "shift_x", "digits")
    np.testing.assert_allclose(
        result.probabilities, run.model(result.inputs, training=False).numpy(), atol=1e-5
    )
    hot = CalibratedInspector(inspector, Calibration(temperature=0.4))
    result = sweeps.run_sweep(hot, image, "shift_x", "digits")
    logits = body(result.inputs, training=False).numpy() @ head.kernel.numpy() + head.bias.numpy()
    z = logits.astype(np.float64) / 0.4
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
    found = attack.Attacker(hot, jit_compile=False).attack(image)
    np.testing.assert_allclose(found.probabilities_before, expected[result.identity_index],
                               atol=1e-5)  # fmt: skip


def test_the_size_of_a_change_in_brightness_steps_and_pixels():
    image = np.zeros((4, 4, 3), np.float32)
    changed = image.copy()
    changed[0, 0, 1] = 8 / 255  # one channel of one pixel: the pixel changed
    changed[1, 1] = 0.5 / 255  # under one step: not counted
    size = attack.change_size(image, changed)
    assert size.largest_steps == 8 and size.changed_share == 1 / 16 and size.invisible
    changed[2, 2, 0] = changed[3, 3, 2] = 9 / 255
    size = attack.change_size(image, changed)
    assert size.largest_steps == 9 and size.changed_share == 3 / 16 and not size.invisible
    assert attack.change_size(image[..., 0], changed[..., 0]).changed_share == 1 / 16


def test_fool_it_calls_a_change_invisible_only_up_to_the_threshold():
    from ui.probes import change_words

    at_most = change_words(attack.ChangeSize(attack.INVISIBLE_STEPS, 0.5))
    assert "a change you cannot see" in at_most and "8 of 255 brightness steps" in at_most
    assert "50% of the pixels" in at_most
    above = change_words(attack.ChangeSize(47, 0.93))
    assert "cannot see" not in above and "small, but you can see it" in above
    assert "47 of 255 brightness steps" in above and "93% of the pixels" in above
    # under one step (the shipped pet model's attacks often are): said so, not "0 of 255"
    tiny = change_words(attack.ChangeSize(0.386, 0.0))
    assert "cannot see" in tiny
    assert "no pixel changed by even one of 255 brightness steps" in tiny and "0.4)" in tiny
