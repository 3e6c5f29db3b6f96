"""cnn.explain checked against Keras: every arithmetic ends at the layer's own output.

Small models are built with `cnn.architectures.build` from ArchSpecs (plain convs, batch
norm, 'same' and 'valid' padding, stride 2, max and average pooling) and given random
weights, biases and batch-norm statistics, so no number is zero by accident. Each layer's
reference output comes from a Keras sub-model of its own (input -> that layer), not from
the pass the explainer reads. Receptive fields are checked against the input gradient of a
linear model and against a hand-computed 5x5 case; the CLI and the Look inside page run on
the shared tiny TinyVGG run.
"""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import drawn_one, open_page

from cnn.__main__ import main
from cnn.architectures import ArchSpec, ConvBlock, DenseLayer, build, model_layers
from cnn.explain import Box, ConvArithmetic, Explainer, ExplainError, PoolArithmetic
from conftest import REPO

TOLERANCE = 1e-4
SPECS = {
    "plain valid, max pool": (
        ArchSpec([ConvBlock(4, 3), ConvBlock(5, 3, pool="none")], "flatten", [DenseLayer(6)]),
        (13, 12, 1),
    ),
    "batch norm, same, avg pool": (
        ArchSpec(
            [
                ConvBlock(4, 3, padding="same", batch_norm=True, pool="avg", dropout=0.2),
                ConvBlock(6, 3, padding="same", batch_norm=True, activation="elu", pool="none"),
            ],
            "global_avg",
        ),
        (12, 11, 3),
    ),
    "stride 2, same and valid": (
        ArchSpec(
            [
                ConvBlock(4, 5, stride=2, padding="same", activation="tanh", pool="none"),
                ConvBlock(3, 3, stride=2, padding="valid", batch_norm=True),
            ],
            "flatten",
        ),
        (24, 23, 2),
    ),
    "residual: projected and identity shortcuts": (
        ArchSpec(
            [
                ConvBlock(4, 3, padding="same", batch_norm=True, pool="none"),
                ConvBlock(6, 3, padding="same", convs=2, batch_norm=True, residual=True),
                ConvBlock(6, 3, padding="same", batch_norm=True, residual=True, pool="none"),
                ConvBlock(5, 3, stride=2, padding="same", residual=True, pool="avg"),
            ],
            "global_avg",
        ),
        (14, 13, 3),
    ),
}


def randomised(model: keras.Model, seed: int) -> keras.Model:
    """Random kernels, biases and batch-norm statistics (Keras starts biases at 0, var at 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, channels))
            layer.beta.assign(rng.normal(0, 0.3, channels))
            layer.moving_mean.assign(rng.normal(0, 0.3, channels))
            layer.moving_variance.assign(rng.uniform(0.2, 2.0, channels))
        elif isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            layer.bias.assign(rng.normal(0, 0.3, layer.bias.shape))
    return model


def reference(model: keras.Model, layer: str, image: np.ndarray) -> np.ndarray:
    """A layer's output for one image from a Keras sub-model of its own."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    return keras.ops.convert_to_numpy(sub(image[None], training=False))[0]


@pytest.fixture(scope="module", params=list(SPECS))
def case(request):
    spec, shape = SPECS[request.param]
    model = randomised(build(spec, shape, 3), seed=len(request.param))
    image = np.random.default_rng(1).uniform(0, 1, shape).astype(np.float32)
    explainer = Explainer(model, spec)
    return explainer, explainer.forward(image), image


def positions(h: int, w: int) -> list[tuple[int, int]]:
    """Every corner and the centre of an h x w map."""
    return [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)]


def test_every_value_is_the_layers_own_output(case):
    explainer, forward, image = case
    model = explainer.model
    for layer in explainer.map_layers:
        shown = reference(model, layer.shown_by, image)
        own = reference(model, layer.name, image)
        h, w, channels = layer.shape
        for y, x in positions(h, w):
            for channel in {0, channels - 1}:
                a = explainer.position(forward, layer.name, channel, y, x)
                assert abs(a.value - shown[y, x, channel]) < TOLERANCE
                assert abs(a.keras_value - shown[y, x, channel]) < TOLERANCE
                if a.kind == "conv":
                    # the conv's own output: sum + bias (and its activation when inside it)
                    conv = model.get_layer(layer.name)
                    before = a.sum + a.bias
                    if conv.activation.__name__ != "linear":
                        before = a.value
                    assert abs(before - own[y, x, channel]) < TOLERANCE
                if a.kind == "add":
                    # the add's own output: main path + shortcut, before the activation
                    assert abs(a.sum - own[y, x, channel]) < TOLERANCE
                    assert abs(a.main + a.shortcut - a.sum) < 1e-9


def test_batch_norm_step_matches_the_keras_layer(case):
    explainer, forward, image = case
    model = explainer.model
    for layer in explainer.map_layers:
        if layer.kind != "conv":
            continue
        # the batch norm that reads this conv (in a residual block the shortcut's conv is
        # listed between the block's last conv and its batch norm)
        output = model.get_layer(layer.name).output
        readers = [lay for lay in model.layers[1:] if output in tf.nest.flatten(lay.input)]
        if not isinstance(readers[0], keras.layers.BatchNormalization):
            continue
        follower = readers[0]
        normalised = reference(model, follower.name, image)
        h, w, channels = layer.shape
        for y, x in positions(h, w):
            a = explainer.position(forward, layer.name, channels - 1, y, x)
            assert a.batch_norm is not None and a.bias == 0.0
            assert abs(a.batch_norm.output - normalised[y, x, channels - 1]) < TOLERANCE
            assert a.pre_activation == a.batch_norm.output


def test_padding_is_zero_and_counted_where_the_window_leaves_the_map(case):
    explainer, forward, _ = case
    for layer in explainer.map_layers:
        a = explainer.position(forward, layer.name, 0, 0, 0)
        g = layer.geometry
        assert a.origin == (-g.pad[0], -g.pad[1])
        assert (~a.inside).sum() == (g.kernel**2 - (g.kernel - g.pad[0]) * (g.kernel - g.pad[1]))
        assert (a.window[~a.inside] == 0).all()


def test_each_layer_reads_the_feature_map_before_it(case):
    """Through batch norm, activation and dropout layers: what the overview shows is the input."""
    explainer, forward, image = case
    first, *others = explainer.map_layers
    assert explainer.source_map(first.name) is None
    np.testing.assert_array_equal(forward.output(first.input_layer), image)
    for layer in others:
        source = explainer.source_map(layer.name)
        shown = forward.output(source.shown_by)
        np.testing.assert_array_equal(shown, forward.output(layer.input_layer))


def test_pool_windows_take_the_max_or_the_mean(case):
    explainer, forward, _ = case
    for layer in (lay for lay in explainer.map_layers if lay.kind == "pool"):
        source = forward.output(layer.input_layer)
        k = layer.geometry.kernel
        for y, x in positions(*layer.shape[:2]):
            a = explainer.position(forward, layer.name, 1, y, x)
            assert isinstance(a, PoolArithmetic)
            expected = source[y * k : y * k + k, x * k : x * k + k, 1]
            np.testing.assert_array_equal(a.window, expected)
            if a.operation == "max":
                assert a.value == expected.max() == a.window[a.picked]
            else:
                assert a.picked is None and abs(a.value - expected.mean()) < 1e-6


def field_by_gradient(model: keras.Model, layer: str, y: int, x: int, shape) -> Box:
    """Bounding box of the input pixels with a non-zero gradient for one output value."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    image = tf.ones((1, *shape))
    with tf.GradientTape() as tape:
        tape.watch(image)
        value = sub(image, training=False)[0, y, x, 0]
    touched = np.abs(tape.gradient(value, image).numpy()[0]).sum(axis=-1) > 0
    rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1]))


def test_receptive_fields_are_exactly_the_pixels_a_value_depends_on():
    """Linear activations, average pooling, positive kernels: no gradient cancels, so the
    pixels with a gradient are exactly the field, through stride 2, padding and pooling."""
    blocks = [
        ConvBlock(2, 3, stride=2, padding="same", activation="linear", pool="avg"),
        ConvBlock(2, 3, padding="valid", activation="linear", pool="avg"),
        ConvBlock(2, 3, stride=2, padding="same", activation="linear", pool="none"),
    ]
    spec, shape = ArchSpec(blocks, "flatten"), (40, 37, 2)
    model = build(spec, shape, 2)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(np.ones(layer.kernel.shape) * 0.1)
    explainer = Explainer(model, spec)
    for layer in explainer.map_layers:
        for y, x in positions(*layer.shape[:2]):
            expected = field_by_gradient(model, layer.name, y, x, shape)
            assert explainer.receptive_field(layer.name, y, x) == expected, (layer.name, y, x)


def test_pixels_outside_the_field_change_nothing(case):
    explainer, forward, image = case
    rng = np.random.default_rng(2)
    last = explainer.map_layers[-1]
    h, w, _ = last.shape
    for y, x in positions(h, w):
        field = explainer.receptive_field(last.name, y, x)
        changed = rng.uniform(0, 1, image.shape).astype(np.float32)
        changed[field.top : field.bottom + 1, field.left : field.right + 1] = image[
            field.top : field.bottom + 1, field.left : field.right + 1
        ]
        again = explainer.forward(changed)
        before = forward.output(last.shown_by)[y, x]
        np.testing.assert_allclose(again.output(last.shown_by)[y, x], before, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_a_hand_computed_sobel_filter(padding):
    """5x5 input (r * 5 + c) / 25, a Sobel kernel, bias 0.5, ReLU, worked out on paper.

    At (1, 1) ('valid') each window row gives x[r, c] - x[r, c + 2] = -2/25 times 1, 2, 1:
    sum -8/25 = -0.32, + 0.5 = 0.18. At (0, 0) ('same') only -2 * x[0, 1] - x[1, 1] is
    inside the image: -2/25 - 6/25 = -0.32 again, on a field clipped to rows and columns 0-1.
    """
    spec = ArchSpec([ConvBlock(1, 3, padding=padding, pool="none")], "flatten")
    model = build(spec, (5, 5, 1), 2)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float32)
    conv = model.get_layer("conv1")
    conv.kernel.assign(sobel[:, :, None, None])
    conv.bias.assign([0.5])
    image = (np.arange(25, dtype=np.float32) / 25).reshape(5, 5, 1)
    explainer = Explainer(model, spec)
    y, x = (1, 1) if padding == "valid" else (0, 0)
    a = explainer.position(explainer.forward(image), "conv1", 0, y, x)
    assert isinstance(a, ConvArithmetic)
    assert a.sum == pytest.approx(-0.32, abs=1e-6) and a.bias == pytest.approx(0.5)
    assert a.value == pytest.approx(0.18, abs=1e-6) == a.keras_value
    assert a.activation == "relu" and a.batch_norm is None
    if padding == "valid":
        assert a.receptive_field == Box(1, 1, 3, 3) and a.inside.all()
        np.testing.assert_array_equal(a.window[..., 0], image[1:4, 1:4, 0])
    else:
        assert a.receptive_field == Box(0, 0, 1, 1) and a.inside.sum() == 4
    np.testing.assert_allclose(a.kernel[..., 0], sobel)


def test_receptive_fields_clip_at_the_corners(case):
    explainer, _, _ = case
    h, w = explainer.input_shape[:2]
    for layer in explainer.map_layers:
        lh, lw = layer.shape[:2]
        g = layer.geometry
        first = explainer.receptive_field(layer.name, 0, 0)
        last = explainer.receptive_field(layer.name, lh - 1, lw - 1)
        # the top-left corner: the field's padding part is cut off
        assert (first.top, first.left) == (0, 0)
        assert first.bottom <= g.rf - 1 + g.offset[0] and first.right <= g.rf - 1 + g.offset[1]
        assert first.height < g.rf or g.offset == (0, 0)
        # the bottom-right corner: never past the image, never wider than the full field
        assert last.bottom <= h - 1 and last.right <= w - 1
        assert last.height <= g.rf and last.width <= g.rf


def test_table_counts_what_keras_counts(case):
    explainer, _, _ = case
    rows = explainer.table()
    model = explainer.model
    assert [r["layer"] for r in rows[1:]] == [layer.name for layer in model_layers(model)]
    assert sum(r["parameters"] for r in rows) == model.count_params()
    first_conv = next(r for r in rows if r["type"] == "Conv2D")
    kernel = explainer.map_layers[0].geometry.kernel
    assert first_conv["receptive field"] == f"{kernel} x {kernel}" and first_conv["jump"] >= 1


def test_errors_are_sentences(case):
    explainer, forward, _ = case
    h, w, channels = explainer.map_layers[0].shape
    name = explainer.map_layers[0].name
    wrong = [
        ("dense1", 0, 0, 0, "has no feature map"),
        (name, channels, 0, 0, f"has {channels} channels"),
        (name, 0, h, 0, f"is {h} x {w}"),
        (name, 0, 0, -1, "position must"),
    ]
    for layer, channel, y, x, words in wrong:
        with pytest.raises(ExplainError, match=words):
            explainer.position(forward, layer, channel, y, x)


def test_a_spec_that_is_not_the_models_is_refused():
    spec, shape = SPECS["plain valid, max pool"]
    model = build(spec, shape, 3)
    other = ArchSpec([ConvBlock(4, 5), ConvBlock(5, 3, pool="none")], "flatten", [DenseLayer(6)])
    with pytest.raises(ExplainError, match="does not match its recorded architecture"):
        Explainer(model, other)


def test_the_network_of_a_trained_run(tiny_run):
    from cnn import artifacts
    from cnn.inspect import Inspector

    run = artifacts.load_run(tiny_run)
    image = np.random.default_rng(3).uniform(0, 1, (28, 28, 1)).astype(np.float32)
    explainer = Explainer.for_run(run)
    network = explainer.network(explainer.forward(image), run.class_names)
    inspection = Inspector(run.model, jit_compile=False).run(image, gradcam=False)
    maps = [c for c in network.columns if c.kind in ("conv", "pool")]
    assert [c.name for c in maps] == [a.name for a in inspection.activations]
    for column, activation in zip(maps, inspection.activations, strict=True):
        np.testing.assert_allclose(column.maps, activation.array, atol=1e-5)
        assert (np.diff(column.activity[column.order]) <= 0).all()  # most active first
    assert [c.kind for c in network.columns[len(maps) :]] == ["flatten", "softmax"]
    np.testing.assert_allclose(network.probabilities, inspection.probabilities, atol=1e-6)


def explain_cli(capsys, run, *argv) -> tuple[int, str, str]:
    sample = REPO / "artifacts" / "samples" / "mnist" / "1__0.png"
    code = main(["explain", "--model", str(run), str(sample), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_is_the_arithmetic_of_the_predicted_input(capsys, tiny_run):
    from cnn import artifacts, preprocess

    code, out, err = explain_cli(
        capsys, tiny_run, "--layer", "conv1_2", "--channel", "3", "--at", "0", "23", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == [
        "layer", "channel", "at", "receptive_field", "window_shape",
        "sum", "bias", "pre_activation", "value",
    ]  # fmt: skip
    assert doc["layer"] == "conv1_2" and doc["channel"] == 3 and doc["at"] == [0, 23]
    assert doc["receptive_field"] == {"top": 0, "left": 23, "bottom": 4, "right": 27}
    assert doc["window_shape"] == [3, 3, 10]
    # the same file through Predict's preprocessing, and the layer's own Keras output
    run = artifacts.load_run(tiny_run)
    image = preprocess.load_image(REPO / "artifacts" / "samples" / "mnist" / "1__0.png")
    steps = preprocess.prepare_upload(image, run.preprocessing)
    shown = reference(run.model, "conv1_2", steps.input)[0, 23, 3]
    assert abs(doc["value"] - shown) < TOLERANCE
    assert abs(max(doc["pre_activation"], 0.0) - shown) < TOLERANCE  # TinyVGG: ReLU in the conv
    assert abs(doc["sum"] + doc["bias"] - doc["pre_activation"]) < 1e-9


def test_cli_pool_and_readable_output(capsys, tiny_run):
    code, out, _ = explain_cli(
        capsys, tiny_run, "--layer", "pool1", "--channel", "0", "--at", "5", "6"
    )
    assert code == 0
    assert "max pooling takes the largest of the window" in out
    assert "the feature map shows" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--layer", "nope", "--channel", "0", "--at", "0", "0"], "has no feature map"),
        (["--layer", "conv1_1", "--channel", "10", "--at", "0", "0"], "must be 0 to 9"),
        (["--layer", "conv1_1", "--channel", "0", "--at", "26", "0"], "position must"),
    ],
)
def test_cli_errors_are_one_sentence(capsys, tiny_run, argv, words):
    code, out, err = explain_cli(capsys, tiny_run, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def first_number(text: str) -> float:
    """The first decimal number in a sentence."""
    return float(re.search(r"-?\d+\.\d+", text).group())


def test_look_inside_page(trained):
    """The page asks for an input first; after a drawing on Predict it shows the network, one
    value's arithmetic ending at the layer's own Keras output, a pool window and the table."""
    from cnn import artifacts
    from ui import arithmetic, network, state

    at = open_page("app_pages/inside.py", active_run=trained)
    assert not at.exception and "Predict" in at.info[0].value
    at.switch_page("app_pages/predict.py")
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page("app_pages/inside.py")
    at.run()
    assert not at.exception
    # one value: the check's number is the Keras layer output at the chosen position
    layer = at.selectbox(key=arithmetic.LAYER_KEY).value
    channel = at.selectbox(key=f"{arithmetic.CHANNEL_KEY}-{layer}").value
    at.number_input(key=f"{arithmetic.ROW_KEY}-{layer}").set_value(0)
    at.number_input(key=f"{arithmetic.COLUMN_KEY}-{layer}").set_value(3).run()
    model_input = at.session_state[state.CURRENT_INPUT].steps.input
    expected = reference(artifacts.load_run(trained).model, layer, model_input)[0, 3, channel]
    (check,) = [s for s in at.success if "the feature map shows" in s.value]
    assert "at y 0, x 3" in check.value
    assert abs(first_number(check.value) - expected) < 1e-5
    assert any("| relu |" in m.value for m in at.markdown)
    # a pooling layer: its window and the maximum
    at.selectbox(key=arithmetic.LAYER_KEY).set_value("pool1").run()
    assert not at.exception
    assert any("The largest of these 4 numbers" in m.value for m in at.markdown)
    assert "pool1" in at.success[0].value
    # the network: a click on a tile (its selection kept in session state) enlarges it
    at.session_state[network.SELECTED_KEY] = ("pool2", 3)
    at.run()
    assert any(m.value.startswith("**pool2, channel 3**") for m in at.markdown)
    assert any("conv2_2's channel 3" in c.value for c in at.caption)
    # the per-layer table: every layer with its parameters
    (table,) = at.dataframe
    assert list(table.value["layer"])[-1] == "predictions"
    assert table.value["parameters"].sum() == artifacts.load_run(trained).model.count_params()


def test_look_inside_the_shipped_digit_model(offline):
    """The shipped MNIST run (batch norm, dropout, global average pooling): every view draws."""
    from ui import arithmetic, network, state

    at = open_page("app_pages/predict.py")
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page("app_pages/inside.py")
    at.session_state[network.SELECTED_KEY] = ("pool1", 0)
    at.run()
    assert not at.exception
    assert any("conv1's channel 0" in c.value for c in at.caption)  # across bn, act
    assert any("| batch norm |" in m.value for m in at.markdown)
    # the softmax bars are the network's raw output; the note gives the answer's calibrated
    # number and why it differs, in plain words
    note = next(c.value for c in at.caption if "raw output" in c.value)
    assert "temperature" not in note and "how often it is really right" in note
    at.switch_page("app_pages/predict.py").run()
    sure = at.metric[0].delta  # "97% sure": the calibrated probability Predict shows
    assert f"The answer above gives '{at.metric[0].value}' {sure.removesuffix(' sure')}:" in note
    at.switch_page("app_pages/inside.py").run()
    at.selectbox(key=arithmetic.LAYER_KEY).set_value("conv2_1").run()
    assert not at.exception and "conv2_1" in at.success[0].value


def test_the_network_figure_draws_every_case(case):
    """The overview figure of every spec (plain, batch norm, strided, residual with adds)."""
    from ui.network import network_figure

    explainer, forward, _ = case
    if forward.image.shape[-1] not in (1, 3):
        pytest.skip("the overview draws grayscale or colour pictures, as every app input is")
    network = explainer.network(forward, ["a", "b", "c"])
    fig = network_figure(network, {s.name: s for s in explainer.shapes}, 4, None)
    headers = [a.text for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert [h.split("</b>")[0][3:] for h in headers] == ["input"] + [
        c.name for c in network.columns
    ]
    if any(c.kind == "add" for c in network.columns):
        assert any("+ shortcut" in h for h in headers)


def shipped_residual_pet_run():
    """The shipped cats vs dogs run, a residual net (Flowers-17's shipped run is one too)."""
    from cnn import artifacts

    (run_dir,) = [
        info.path
        for info in artifacts.list_runs([artifacts.shipped_dir()])
        if info.ok
        and info.record.config.arch == "residual"
        and info.record.dataset.key == "cats_vs_dogs"
    ]
    return run_dir


def test_cli_explains_an_add_of_the_shipped_residual_pet_model(capsys):
    """The shipped cats vs dogs run is residual: an add's value is its two inputs' sum,
    activated, and is the add's own Keras output (a sub-model of its own)."""
    from cnn import artifacts, preprocess

    run_dir = shipped_residual_pet_run()
    photo = REPO / "artifacts" / "samples" / "cats_vs_dogs" / "cats__0.jpg"
    argv = ["--layer", "add3", "--channel", "5", "--at", "4", "6", "--json"]
    assert main(["explain", "--model", str(run_dir), str(photo), *argv]) == 0
    doc = json.loads(capsys.readouterr().out)
    run = artifacts.load_run(run_dir)
    steps = preprocess.prepare_upload(preprocess.load_image(photo), run.preprocessing)
    added = reference(run.model, "add3", steps.input)[4, 6, 5]
    assert abs(doc["sum"] - added) < TOLERANCE
    assert abs(doc["value"] - max(added, 0.0)) < TOLERANCE and doc["bias"] is None
    assert main(["explain", "--model", str(run_dir), str(photo), *argv[:-1]]) == 0
    text = capsys.readouterr().out
    assert "+ shortcut skip_bn3" in text and "window" not in text


def test_look_inside_the_shipped_residual_pet_model(offline):
    """The shipped residual cats run on a bundled photo: the overview, an add's channel (its
    two summed maps) and the add's arithmetic all draw."""
    from ui import arithmetic, network

    run_dir = shipped_residual_pet_run()
    at = open_page("app_pages/predict.py", active_run=run_dir)
    assert not at.exception
    at.switch_page("app_pages/inside.py")
    at.session_state[network.SELECTED_KEY] = ("add2", 0)
    at.run()
    assert not at.exception
    assert any("add2 adds the block's input" in c.value for c in at.caption)
    at.selectbox(key=arithmetic.LAYER_KEY).set_value("add2").run()
    assert not at.exception and "add2" in at.success[0].value
    assert any("| + shortcut | skip_bn2" in m.value for m in at.markdown)
