"""cnn.training.stepper checked against TensorFlow: one batch, one step, every number.

A small model without dropout (batch norm in training mode is deterministic) is stepped with
SGD; a clone holding the weights from before the step is differentiated with GradientTape on
the same batch: its loss, each layer's gradient size, the new weights (w - lr x g), the
watched filter and the loss after are compared. A changed learning rate is the one the next
step uses, and is recorded where it changed.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnn.architectures import ArchSpec, ConvBlock, DenseLayer
from cnn.errors import TrainingError
from cnn.training import TrainConfig
from cnn.training.stepper import Stepper

SPEC = ArchSpec(
    [ConvBlock(4, 3, batch_norm=True), ConvBlock(6, 3, pool="none")], "flatten", [DenseLayer(8)]
)


@pytest.fixture
def stepper(offline):
    config = TrainConfig(dataset="mnist", arch="custom", spec=SPEC.to_dict(), max_samples=200,
                         batch_size=16, optimizer="sgd", validation_fraction=0.0)  # fmt: skip
    return Stepper(config)


def reference_step(weights, model, batch, lr):
    """Loss, per-layer gradient sizes, stepped weights and loss after, on a clone."""
    clone = keras.models.clone_model(model)
    clone.set_weights(weights)
    images, labels = batch
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, clone(images, training=True))
    grads = tape.gradient(loss, clone.trainable_variables)
    norms = {}
    for layer in clone.layers:
        squares = [
            float(np.sum(np.square(g)))
            for v, g in zip(clone.trainable_variables, grads, strict=True)
            if any(v is w for w in layer.trainable_variables)
        ]
        if squares:
            norms[layer.name] = float(np.sqrt(sum(squares)))
    for v, g in zip(clone.trainable_variables, grads, strict=True):
        v.assign(v - lr * g)
    after = loss_fn(labels, clone(images, training=True))
    return float(loss), norms, clone, float(after)


def test_a_step_is_one_sgd_step(stepper):
    model = stepper.model
    for lr, layer in [(0.1, "conv1"), (0.4, "conv2")]:
        weights = [w.copy() for w in model.get_weights()]
        result = stepper.step(lr, layer, 1)
        loss, norms, stepped, after = reference_step(weights, model, stepper.last_batch, lr)
        assert result.loss == pytest.approx(loss, rel=1e-5)
        assert result.gradient_norms.keys() == norms.keys()
        for name, size in norms.items():
            assert result.gradient_norms[name] == pytest.approx(size, rel=1e-4)
        for mine, theirs in zip(model.trainable_variables, stepped.trainable_variables,
                                strict=True):  # fmt: skip
            np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-4, atol=1e-6)
        kernel_index = [lay.name for lay in model.layers].index(layer)
        np.testing.assert_array_equal(
            result.filter_before, np.asarray(weights[_kernel_slot(model, layer)])[..., 1]
        )
        np.testing.assert_allclose(
            result.filter_after, np.asarray(model.layers[kernel_index].kernel)[..., 1]
        )
        assert result.loss_after == pytest.approx(after, rel=1e-4)
    assert stepper.lr_changes() == [(2, 0.4)]
    assert [h["lr"] for h in stepper.history] == [0.1, 0.4]


def _kernel_slot(model, layer: str) -> int:
    """Index of `layer`'s kernel in model.get_weights()."""
    return [id(w) for w in model.weights].index(id(model.get_layer(layer).kernel))


def test_bad_steps_are_one_sentence(stepper):
    with pytest.raises(TrainingError, match="learning rate must be"):
        stepper.step(0.0)
    with pytest.raises(TrainingError, match="no filter 99"):
        stepper.step(0.1, "conv1", 99)
    assert stepper.history == []


def test_train_page_steps(offline):
    """Train's 'one step at a time': Start, Step, change the learning rate, Step: the loss
    shown is the step's, and the chart marks the step where the rate changed."""
    from helpers import open_page

    from ui import step_views

    at = open_page("app_pages/train.py")
    at.button(key=f"{step_views.KEY}-start").click().run()
    assert not at.exception, at.exception
    at.number_input(key=f"{step_views.KEY}-lr").set_value(0.001)
    at.button(key=f"{step_views.KEY}-step").click().run()
    at.number_input(key=f"{step_views.KEY}-lr").set_value(0.01)
    at.button(key=f"{step_views.KEY}-step").click().run()
    assert not at.exception, at.exception
    stepper = at.session_state[step_views.KEY]
    result = at.session_state[step_views.RESULT_KEY]
    assert [h["lr"] for h in stepper.history] == [0.001, 0.01] and result.step == 2
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Loss on step 2's {result.batch_size} pictures"] == f"{result.loss:.4f}"
    assert metrics["The same pictures after the step"] == f"{result.loss_after:.4f}"
    figure = step_views.losses_figure(stepper.history, stepper.lr_changes())
    assert [shape.x0 for shape in figure.layout.shapes] == [1.5]
