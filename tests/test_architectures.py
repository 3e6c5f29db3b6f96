"""Architecture specs: `ArchSpec.shapes` (the one walk behind validation, parameter counts,
memory estimates and the summary table) against the Keras models `build` makes: names,
shapes, weights and wiring."""

from __future__ import annotations

import pytest

from cnn import architectures
from cnn.architectures import ArchSpec, ConvBlock, DenseLayer, SpecError

INPUTS = [(28, 28, 1), (32, 32, 3), (64, 64, 3), (96, 96, 3), (128, 128, 3)]
CUSTOM = ArchSpec(
    [
        ConvBlock(6, 5, stride=2, padding="same", batch_norm=True),
        ConvBlock(4, 4, padding="same", convs=2, pool="avg", pool_size=3, dropout=0.2),
        ConvBlock(5, 3, padding="valid", pool="none"),
    ],
    "flatten",
    [DenseLayer(7, "tanh", 0.1)],
)


def assert_matches_keras(spec: ArchSpec, shape: tuple[int, int, int], classes: int) -> None:
    layers = spec.shapes(shape, classes)
    model = architectures.build(spec, shape, classes)
    keras_layers = architectures.model_layers(model)
    assert [layer.name for layer in layers[1:]] == [k.name for k in keras_layers]
    for ours, theirs in zip(layers[1:], keras_layers, strict=True):
        assert ours.keras_type == type(theirs).__name__
        assert ours.shape == tuple(theirs.output.shape[1:]), ours.name
        assert ours.params == theirs.count_params(), ours.name
    assert architectures.count_params(spec, shape, classes) == model.count_params()
    # the wiring Keras records in the model's config is the one the spec walk describes
    wiring = architectures.inbound_layers(model)
    for before, ours in zip(layers, layers[1:], strict=False):
        expected = [ours.reads(before)] + ([ours.shortcut] if ours.shortcut else [])
        assert wiring[ours.name] == expected, ours.name


@pytest.mark.parametrize("key", list(architectures.REGISTRY))
@pytest.mark.parametrize("shape", INPUTS, ids=lambda s: f"{s[0]}px{s[2]}")
def test_every_registry_spec_walks_like_keras(key, shape):
    try:
        spec = architectures.REGISTRY[key].spec(shape, 5)
        spec.validate(shape)
    except SpecError:
        pytest.skip(f"{key} does not fit {shape}")
    assert_matches_keras(spec, shape, 5)


def test_a_custom_spec_with_strides_pools_and_padding_walks_like_keras():
    assert_matches_keras(CUSTOM, (37, 41, 3), 3)


RESIDUAL = ArchSpec(
    [
        ConvBlock(8, 3, padding="same"),
        # strided, no batch norm: the shortcut is a 1x1 conv of stride 2 * 2 with a bias
        ConvBlock(16, 3, stride=2, padding="same", convs=2, residual=True),
        # same shape in and out: the input is added unchanged
        ConvBlock(16, 3, padding="same", convs=1, residual=True, batch_norm=True, pool="none"),
    ],
    "flatten",
    [],
    name="residual_custom",
)


def test_a_custom_residual_spec_walks_like_keras():
    assert_matches_keras(RESIDUAL, (28, 28, 1), 3)
    names = [s.name for s in RESIDUAL.shapes((28, 28, 1), 3)]
    assert names[names.index("conv2_2") :][:5] == ["conv2_2", "skip2", "add2", "act2_2", "pool2"]
    assert "skip3" not in names and "add3" in names


def test_a_residual_block_needs_same_padding():
    spec = ArchSpec([ConvBlock(8, 3, convs=2, residual=True)], "flatten", [])
    with pytest.raises(SpecError, match="residual block needs 'same' padding"):
        spec.validate((28, 28, 1))


def test_receptive_fields_by_hand():
    # 28x28: conv 3x3 valid (rf 3, jump 1), conv 3x3 valid (rf 5), max-pool 2 (rf 6, jump 2)
    spec = ArchSpec([ConvBlock(2, 3, convs=2)], "flatten", [])
    conv1, conv2, pool = spec.shapes((28, 28, 1), 2)[1:4]
    assert (conv1.rf, conv1.jump, conv1.offset) == (3, 1, (0, 0))
    assert (conv2.rf, conv2.jump, conv2.offset) == (5, 1, (0, 0))
    assert (pool.name, pool.rf, pool.jump, pool.offset, pool.shape) == (
        "pool1",
        6,
        2,
        (0, 0),
        (12, 12, 2),
    )
    # "same" 3x3 pads one pixel: the first window starts one pixel outside the image
    same = ArchSpec([ConvBlock(2, 3, padding="same", stride=2, pool="none")], "flatten", [])
    conv = same.shapes((28, 28, 1), 2)[1]
    # 28 px at stride 2: 14 outputs need 13 * 2 + 3 = 29 px, so TF pads 0 before and 1 after
    assert (conv.pad, conv.offset, conv.rf, conv.jump) == ((0, 0), (0, 0), 3, 2)
    conv = same.shapes((27, 27, 1), 2)[1]
    assert (conv.pad, conv.offset) == ((1, 1), (-1, -1))


def test_multiply_adds_of_a_conv_and_a_dense_layer():
    spec = ArchSpec([ConvBlock(4, 3, pool="none")], "flatten", [DenseLayer(10)])
    _, conv, flat, dense, out = spec.shapes((8, 8, 2), 3)
    assert conv.macs == 6 * 6 * 3 * 3 * 2 * 4
    assert flat.shape == (144,) and dense.macs == 144 * 10 and out.macs == 10 * 3


def test_specs_that_shrink_to_nothing_say_where():
    with pytest.raises(SpecError, match="Conv block 2 shrinks"):
        ArchSpec([ConvBlock(4, 3), ConvBlock(4, 7)], "flatten", []).validate((14, 14, 1))
    with pytest.raises(SpecError, match="pooling shrinks"):
        ArchSpec([ConvBlock(4, 3, padding="same", pool_size=8)] * 2).validate((28, 28, 1))


def test_the_diagram_draws_a_shortcut_arrow_not_a_block_for_each_residual_block():
    from ui.arch_diagram import _diagram_blocks, architecture_diagram

    layers = architectures.REGISTRY["residual"].spec((28, 28, 1), 10).shapes((28, 28, 1), 10)
    blocks = _diagram_blocks(layers)
    names = [block["layer"].name for block in blocks]
    assert not any(name.startswith("skip") for name in names)
    adds = [block for block in blocks if block["kind"] == "add"]
    assert [names[block["from"]] for block in adds] == ["pool1", "pool2", "pool3"]
    assert adds[0]["via"] == ["skip2 1x1 conv", "BN"]
    # the block before each add is its last conv, with its batch norm but no ReLU (after add)
    before = blocks[names.index("add2") - 1]
    assert before["layer"].name == "conv2_2" and before["extra"] == ["BN"]
    assert adds[0]["extra"] == ["ReLU"]
    texts = [a.text for a in architecture_diagram(layers).layout.annotations]
    assert texts.count("shortcut: skip2 1x1 conv + BN") == 1
    identity = ArchSpec([ConvBlock(1, 3, padding="same", convs=2, residual=True)], "flatten", [])
    (add,) = [b for b in _diagram_blocks(identity.shapes((8, 8, 1), 2)) if b["kind"] == "add"]
    assert add["via"] == [] and names[add["from"]] == "image"
