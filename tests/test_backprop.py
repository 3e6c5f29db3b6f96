"""cnn.backprop checked against TensorFlow: every number of one weight's SGD step.

Small models are built with `cnn.architectures.build` and given random weights and batch-norm
statistics (as tests/test_explain.py does), with and without batch norm after the conv, in a
Sequential and in a residual (functional) model. For the first and the last conv layer, each
number of `weight_step` is compared with an independent computation: the loss with Keras' own
cross-entropy on `model(x)`, the gradient with `GradientTape` on the kernel, the gradient
reaching the filter's map through the bias or batch-norm beta gradient, and the losses after
the step on clones of the model changed by `kernel.assign` and by Keras' SGD optimizer.
The CLI runs on the shared tiny TinyVGG run.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_explain import randomised

from cnn.__main__ import main
from cnn.architectures import ArchSpec, ConvBlock, DenseLayer, build
from cnn.backprop import BackpropError, conv_layers, weight_step
from conftest import REPO

RELATIVE = 1e-5  # of the gradient, against the size of the terms it sums
LR = 0.05
SPECS = {
    "no batch norm (relu inside the conv, bias)": (
        ArchSpec(
            [ConvBlock(4, 3), ConvBlock(5, 3, stride=2, padding="same", pool="none")],
            "flatten",
            [DenseLayer(6)],
        ),
        (13, 12, 1),
    ),
    "batch norm after the conv": (
        ArchSpec(
            [
                ConvBlock(4, 3, padding="same", batch_norm=True, pool="avg"),
                ConvBlock(6, 3, padding="same", batch_norm=True, activation="elu", pool="none"),
            ],
            "global_avg",
        ),
        (12, 11, 3),
    ),
    "residual with batch norm": (
        ArchSpec(
            [
                ConvBlock(4, 3, padding="same", batch_norm=True, pool="none"),
                ConvBlock(6, 3, padding="same", convs=2, batch_norm=True, residual=True),
            ],
            "global_avg",
        ),
        (10, 10, 3),
    ),
}


@pytest.fixture(scope="module", params=list(SPECS))
def case(request):
    spec, shape = SPECS[request.param]
    model = randomised(build(spec, shape, 3), seed=len(request.param))
    image = np.random.default_rng(2).uniform(0, 1, shape).astype(np.float32)
    return model, image


def keras_loss(model, image, label):
    probabilities = model(image[None], training=False)
    return keras.losses.sparse_categorical_crossentropy(np.array([label]), probabilities)[0]


def close(ours: float, theirs: float, scale: float) -> bool:
    """Equal to RELATIVE of the larger of the value and the size of the terms it sums."""
    return abs(ours - theirs) <= RELATIVE * max(abs(theirs), scale, 1e-12)


@pytest.mark.parametrize("which", ["first", "last"])
def test_every_number_matches_tensorflow(case, which):
    model, image = case
    names = conv_layers(model)
    layer = names[0] if which == "first" else names[-1]
    conv = model.get_layer(layer)
    kh, kw, cin, cout = conv.kernel.shape
    label = 1
    for f, weight in [(0, (0, 0, 0)), (cout - 1, (kh - 1, kw // 2, cin - 1))]:
        step = weight_step(model, image, label, layer, f, weight, LR)
        with tf.GradientTape() as tape:
            loss = keras_loss(model, image, label)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        kernel_grad = float(grads[[v is conv.kernel for v in variables].index(True)][(*weight, f)])
        scale = float(np.abs(step.products).sum())
        assert abs(step.loss - float(loss)) <= RELATIVE * float(loss)
        assert close(step.gradient, kernel_grad, scale), (step.gradient, kernel_grad)
        assert close(step.tape_gradient, kernel_grad, scale)
        # the products are the upstream gradient times the input under the weight
        np.testing.assert_allclose(step.products, step.upstream * step.under)
        assert step.weight_before == pytest.approx(float(conv.kernel[(*weight, f)]), abs=0)
        assert step.weight_after == pytest.approx(step.weight_before - LR * step.gradient, rel=1e-9)
        # the gradient reaching the filter's map, summed, through the layer after it
        bn = next(
            (
                lay
                for lay in model.layers
                if isinstance(lay, keras.layers.BatchNormalization)
                and any(t is conv.output for t in tf.nest.flatten(lay.input))
            ),
            None,
        )
        if conv.use_bias:
            expected = float(grads[[v is conv.bias for v in variables].index(True)][f])
        else:
            beta = float(grads[[v is bn.beta for v in variables].index(True)][f])
            scale_bn = float(bn.gamma[f]) / np.sqrt(float(bn.moving_variance[f]) + bn.epsilon)
            expected = beta * scale_bn
        assert close(float(step.upstream.sum()), expected, float(np.abs(step.upstream).sum()))
        # the loss after the step, on clones changed by Keras itself
        only = keras.models.clone_model(model)
        only.set_weights(model.get_weights())
        kernel = only.get_layer(layer).kernel
        kernel.assign(tf.tensor_scatter_nd_update(kernel, [[*weight, f]], [step.weight_after]))
        assert abs(step.loss_after_weight - float(keras_loss(only, image, label))) <= 1e-5 * float(
            loss
        )
        stepped = keras.models.clone_model(model)
        stepped.set_weights(model.get_weights())
        sgd = keras.optimizers.SGD(learning_rate=LR)
        sgd.apply_gradients(zip(grads, stepped.trainable_variables, strict=True))
        assert step.loss_after == pytest.approx(float(keras_loss(stepped, image, label)), rel=1e-5)
        assert step.loss_after < step.loss  # a small step downhill lowers the loss


def test_the_model_is_not_changed(case):
    model, image = case
    before = [w.copy() for w in model.get_weights()]
    weight_step(model, image, 0, conv_layers(model)[0], 0, (1, 1, 0), 0.5)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_padding_positions_read_zero(case):
    model, image = case
    layer = conv_layers(model)[0]
    conv = model.get_layer(layer)
    step = weight_step(model, image, 0, layer, 0, (0, 0, 0), LR)
    if conv.padding == "same":
        # the top-left weight hangs over the padding at the map's first row and column
        assert not step.inside[0].any() and not step.inside[:, 0].any()
        assert (step.under[~step.inside] == 0).all()
    # inside, it reads the input itself
    y, x = np.argwhere(step.inside)[0]
    s = conv.strides[0]
    pad = 1 if conv.padding == "same" else 0
    assert step.under[y, x] == pytest.approx(float(image[y * s - pad, x * s - pad, 0]))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"layer": "nope"}, "is not a conv layer"),
        ({"filter_index": 99}, "filters: the filter must be"),
        ({"weight": (5, 0, 0)}, "the weight must have"),
        ({"label": 9}, "class number from 0 to 2"),
        ({"learning_rate": -1.0}, "learning rate must be"),
    ],
)
def test_bad_arguments_are_one_sentence(case, kwargs, words):
    model, image = case
    args = {"label": 0, "layer": conv_layers(model)[0], "filter_index": 0, "weight": (0, 0, 0)}
    args.update(kwargs)
    with pytest.raises(BackpropError, match=words):
        weight_step(model, image, **args)


def backprop_cli(capsys, run, *argv) -> tuple[int, str, str]:
    sample = REPO / "artifacts" / "samples" / "mnist" / "7__0.png"
    code = main(["backprop", "--model", str(run), str(sample), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_matches_tensorflow(capsys, tiny_run):
    from cnn import artifacts, preprocess

    code, out, err = backprop_cli(
        capsys, tiny_run, "--label", "7", "--layer", "conv1_2", "--filter", "2",
        "--weight", "2", "0", "1", "--lr", "0.1", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc)[:5] == ["loss", "gradient", "weight_before", "weight_after", "loss_after"]
    run = artifacts.load_run(tiny_run)
    image = preprocess.prepare_upload(
        preprocess.load_image(REPO / "artifacts" / "samples" / "mnist" / "7__0.png"),
        run.preprocessing,
    ).input
    kernel = run.model.get_layer("conv1_2").kernel
    with tf.GradientTape() as tape:
        loss = keras_loss(run.model, image, 7)
    grads = tape.gradient(loss, run.model.trainable_variables)
    gradient = float(tape_of(grads, run.model, kernel)[2, 0, 1, 2])
    assert doc["loss"] == pytest.approx(float(loss), rel=1e-5)
    assert doc["gradient"] == pytest.approx(gradient, rel=1e-4, abs=1e-7)
    assert doc["weight_before"] == pytest.approx(float(kernel[2, 0, 1, 2]))
    assert doc["weight_after"] == pytest.approx(doc["weight_before"] - 0.1 * doc["gradient"])
    stepped = keras.models.clone_model(run.model)
    stepped.set_weights(run.model.get_weights())
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, stepped.trainable_variables, strict=True))
    assert doc["loss_after"] == pytest.approx(float(keras_loss(stepped, image, 7)), rel=1e-5)


def tape_of(grads, model, variable):
    """The gradient of `variable` among the model's trainable variables' gradients."""
    return grads[[v is variable for v in model.trainable_variables].index(True)]


def test_cli_reads_and_errors(capsys, tiny_run):
    code, out, _ = backprop_cli(
        capsys, tiny_run, "--label", "7", "--layer", "conv1_1", "--filter", "0",
        "--weight", "0", "0", "0",
    )  # fmt: skip
    assert code == 0 and "new weight:" in out and "GradientTape" in out
    for argv, words in [
        (["--label", "cat"], "not one of this model's classes"),
        (["--label", "7", "--layer", "dense"], "is not a conv layer"),
    ]:
        rest = ["--layer", "conv1_1"] if "--layer" not in argv else []
        code, out, err = backprop_cli(
            capsys, tiny_run, *argv, *rest, "--filter", "0", "--weight", "0", "0", "0"
        )
        assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_look_inside_tab(trained):
    """After a drawing on Predict, 'One weight learns' shows the step for the chosen weight:
    the new weight and the loss after, equal to Keras' SGD step on the page's own input."""
    from helpers import drawn_one, open_page

    from cnn import artifacts
    from ui import backprop_views, state

    at = open_page("app_pages/predict.py", active_run=trained)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception
    key = backprop_views.KEY
    at.selectbox(key=f"{key}-layer").set_value("conv2_1").run()
    at.number_input(key=f"{key}-filter-conv2_1").set_value(4)
    at.selectbox(key=f"{key}-label").set_value(7)
    at.number_input(key=f"{key}-lr").set_value(0.5).run()
    assert not at.exception
    image = at.session_state[state.CURRENT_INPUT].steps.input
    model = artifacts.load_run(trained).model
    kernel = model.get_layer("conv2_1").kernel
    with tf.GradientTape() as tape:
        loss = keras_loss(model, image, 7)
    grads = tape.gradient(loss, model.trainable_variables)
    stepped = keras.models.clone_model(model)
    stepped.set_weights(model.get_weights())
    keras.optimizers.SGD(0.5).apply_gradients(zip(grads, stepped.trainable_variables, strict=True))
    table = next(m.value for m in at.markdown if "| new weight |" in m.value)
    rows = {line.split("|")[1].strip(): line.split("|")[-2].strip() for line in table.splitlines()}
    h, w = kernel.shape[:2]
    gradient = float(tape_of(grads, model, kernel)[h // 2, w // 2, 0, 4])
    assert float(rows["weight now"]) == pytest.approx(float(kernel[h // 2, w // 2, 0, 4]), abs=1e-6)
    assert float(rows["new weight"]) == pytest.approx(
        float(kernel[h // 2, w // 2, 0, 4]) - 0.5 * gradient, abs=1e-6
    )
    assert float(rows["loss before"]) == pytest.approx(float(loss), abs=1e-6)
    assert float(rows["loss, every weight moved"]) == pytest.approx(
        float(keras_loss(stepped, image, 7)), abs=1e-5
    )
    (check,) = [s.value for s in at.success if "GradientTape" in s.value]
    assert check.startswith(f"✓ {gradient:.3g}")
