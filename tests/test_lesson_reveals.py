"""Every reveal a lesson can ask for, against the engine tool or Keras result it stands for,
on the shared tiny real run (TinyVGG, 1 epoch on 600 digits) and a real test digit."""

from __future__ import annotations

import numpy as np
import pytest

from cnn import artifacts, calibration, datasets
from cnn.architectures import build
from cnn.inspect import Inspector
from cnn.lessons import REVEALS, RevealError, RunView, measure
from cnn.probes.attack import Attacker
from cnn.probes.sweeps import run_sweep


@pytest.fixture(scope="module")
def loaded(tiny_run, empty_data_dir):
    """The tiny run, its Inspector and the model input of one real test digit (the data
    folder empty, as when the run trained: MNIST is the embedded subset)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNN_DATA_DIR", str(empty_data_dir))
        run = artifacts.load_run(tiny_run)
        digit = datasets.load("mnist").test.image(0).astype(np.float32) / 255.0
        yield run, Inspector(run.model, jit_compile=False), digit.reshape(28, 28, 1)


def test_shift_flip_is_the_sweeps_nearest_flip(loaded):
    run, inspector, image = loaded
    got = measure("shift_flip", RunView(run.record, inspector, image))
    below, above = run_sweep(inspector, image, "shift_x", "digits").flip()
    sides = [abs(v) for v in (below, above) if v is not None]
    assert got.value == (min(sides) if sides else None)
    assert got.shown == (f"{min(sides):g} px" if sides else "more than 8 px")


def test_attack_steps_is_the_attacks_smallest_epsilon(loaded):
    run, inspector, image = loaded
    got = measure("attack_steps", RunView(run.record, inspector, image))
    attack = Attacker(inspector, jit_compile=False).attack(image, "fgsm")
    assert attack.epsilon is not None and got.value == round(attack.epsilon * 255, 1)
    fooled = inspector.probabilities(attack.perturbed[None])[0].argmax()
    assert fooled != inspector.probabilities(image[None])[0].argmax()


def test_confidence_is_the_probability_predict_shows(loaded):
    run, inspector, image = loaded
    got = measure("confidence", RunView(run.record, inspector, image))
    logits = run.model(image[None], training=False)  # probabilities of the softmax model
    shown = calibration.calibrated(np.log(np.asarray(logits)[0]), run.record.calibration)
    assert got.value == pytest.approx(round(100 * float(shown.max()), 1), abs=0.11)


def test_receptive_field_is_every_input_pixel_that_reaches_the_last_conv(loaded):
    run, _, _ = loaded
    got = measure("receptive_field", RunView(run.record))
    # the spec built afresh, every conv weight positive and biases 0, fed one lit pixel per
    # image: a position of the last conv changes exactly for the pixels of its field
    model = build(run.record.spec, (28, 28, 1), 10)
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv2D":
            kernel, bias = layer.get_weights()
            layer.set_weights([np.ones_like(kernel) * 0.1, np.zeros_like(bias)])
    last = [la for la in model.layers if la.__class__.__name__ == "Conv2D"][-1]
    import keras

    probe = keras.Model(model.inputs, last.output)
    lit = np.zeros((28 * 28, 28, 28, 1), np.float32)
    lit[np.arange(28 * 28), np.arange(28 * 28) // 28, np.arange(28 * 28) % 28, 0] = 1.0
    out = probe.predict(lit, verbose=0)
    row = out.shape[1] // 2
    reached = (out[:, row, row, :].max(axis=1) > 0).reshape(28, 28)
    rows, cols = np.flatnonzero(reached.any(axis=1)), np.flatnonzero(reached.any(axis=0))
    assert rows.size and rows[-1] - rows[0] + 1 == got.value == cols[-1] - cols[0] + 1


def test_feature_map_size_and_parameters_are_keras_own(loaded):
    run, _, _ = loaded
    width = measure("feature_map_size", RunView(run.record)).value
    first = next(la for la in run.model.layers if la.__class__.__name__ == "Conv2D")
    assert width == first.output.shape[2]
    assert measure("parameters", RunView(run.record)).value == run.model.count_params()


def test_test_accuracy_is_the_evaluation_of_the_test_split(loaded):
    from cnn.evaluate import evaluate

    run, _, _ = loaded
    got = measure("test_accuracy", RunView(run.record))
    test = datasets.load("mnist").test
    batches = datasets.make_pipeline(test, (28, 28), 1, run.record.config.batch_size)
    again = evaluate(run.model, batches, run.class_names)
    assert again.n == run.record.test.n
    assert got.value == round(100 * again.accuracy, 1)


def test_overfit_gap_is_the_last_epochs_accuracies(loaded):
    run, _, _ = loaded
    got = measure("overfit_gap", RunView(run.record))
    history = run.record.history
    assert got.value == round(100 * (history["accuracy"][-1] - history["val_accuracy"][-1]), 1)


def test_a_reveal_that_cannot_be_measured_is_a_sentence(loaded):
    run, inspector, _ = loaded
    with pytest.raises(RevealError, match="draw or pick one there first"):
        measure("shift_flip", RunView(run.record, inspector, None))
    with pytest.raises(RevealError, match="There is no reveal 'magic'"):
        measure("magic", RunView(run.record))
    assert set(REVEALS) >= {"shift_flip", "test_accuracy", "receptive_field"}
