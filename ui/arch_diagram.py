"""The architecture diagram: a network as a row of blocks, one plotly figure.

Drawn from `cnn.architectures.ArchSpec.shapes` output (plain layer shapes), so no model is
loaded to draw it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from cnn.architectures import OUTPUT_LAYER
from cnn.i18n import tr

TEXT = "#31333f"  # the labels' colour (ui/charts.TEXT: the plotly theme's grey is 3.8:1)

KIND_COLOURS = {  # block colours of the architecture diagram
    "input": "#64748b",
    "conv": "#4f46e5",
    "pool": "#f97316",
    "flatten": "#94a3b8",
    "global_avg": "#94a3b8",
    "dense": "#16a34a",
    "output": "#dc2626",
    "add": "#0891b2",
}


CROWDED = 12  # blocks or columns in a row beyond which their labels take two rows


def _diagram_blocks(layers: Sequence) -> list[dict]:
    """Layers grouped as a student reads them: a conv with its batch norm and activation is
    one block; dropout is a note on the block before it. A residual block's shortcut is no
    block of the row: its add's block notes where it starts ("from", a block index) and what
    is on it ("via": a 1x1 conv and its batch norm, or nothing)."""
    blocks: list[dict] = []
    owner: dict[str, int] = {}  # layer name -> index of the block it is drawn in
    on_shortcut: dict[str, list[str]] = {}  # shortcut layer -> what is on its shortcut
    starts: dict[str, str] = {}  # shortcut layer -> the layer its shortcut starts from
    before = None
    for layer in layers:
        reads = layer.source or (before.name if before is not None else "")
        if layer.kind == "conv" and layer.source:  # a shortcut's 1x1 projection
            on_shortcut[layer.name] = [f"{layer.name} {layer.kernel}x{layer.kernel} conv"]
            starts[layer.name] = layer.source
        elif reads in on_shortcut and layer.kind == "batch_norm":
            on_shortcut[layer.name] = on_shortcut[reads] + ["BN"]
            starts[layer.name] = starts[reads]
        elif layer.kind in ("batch_norm", "activation", "dropout") and reads in owner:
            index = owner[reads]
            note = {"batch_norm": "BN", "activation": "ReLU"}.get(layer.kind, "dropout")
            blocks[index]["extra"].append(note)
            owner[layer.name] = index
        else:
            kind = "output" if layer.name == OUTPUT_LAYER else layer.kind
            blocks.append({"layer": layer, "kind": kind, "extra": []})
            owner[layer.name] = len(blocks) - 1
            if layer.kind == "add":
                start = starts.get(layer.shortcut, layer.shortcut)
                blocks[-1]["from"] = owner.get(start, 0)
                blocks[-1]["via"] = on_shortcut.get(layer.shortcut, [])
        before = layer
    return blocks


def _block_size(shape: tuple[int, ...], side: int) -> tuple[float, float]:
    """A block's (height, width): the height follows the map's side (or a vector's length),
    the width its channels."""
    if len(shape) == 3:
        height = 0.25 + 0.75 * shape[0] / side
        width = min(0.85, 0.2 + 0.12 * np.log2(max(shape[2], 1)))
        return height, width
    return 0.25 + 0.75 * min(1.0, shape[0] / 512), 0.18


def _block_label(block: dict) -> str:
    """What is written under a block: its layer (kernel, stride, +), its notes, its shape."""
    layer = block["layer"]
    what = layer.name if layer.kind != "conv" else f"{layer.name} {layer.kernel}x{layer.kernel}"
    if layer.kind == "add":
        what = f"{layer.name} +"
    if layer.kind == "conv" and layer.stride > 1:
        what += f" /{layer.stride}"
    extra = f"<br>+{' +'.join(block['extra'])}" if block["extra"] else ""
    return f"<b>{what}</b>{extra}<br>{'×'.join(map(str, layer.shape))}"


def _shortcut(fig: go.Figure, i: int, block: dict) -> None:
    """A residual shortcut: an arrow over the blocks from the block's input to the add, and
    what is on it."""
    fig.add_annotation(
        x=i - 0.15, y=0.6, ax=block["from"] + 0.15, ay=0.6, xref="x", yref="y",
        axref="x", ayref="y", text="", showarrow=True, arrowhead=2, arrowwidth=2,
        arrowcolor=KIND_COLOURS["add"],
    )  # fmt: skip
    via = " + ".join(block["via"]) or tr("the input as it is")
    fig.add_annotation(
        x=(i + block["from"]) / 2, y=0.62, text=tr("shortcut: {via}").format(via=via),
        showarrow=False,
        font={"size": 10, "color": KIND_COLOURS["add"]}, yanchor="bottom",
    )  # fmt: skip


def architecture_diagram(layers: Sequence) -> go.Figure:
    """The network as a row of blocks (`cnn.architectures.ArchSpec.shapes` output): a block's
    height follows its map's side, its width its channels; its output shape is written under it."""
    blocks = _diagram_blocks(layers)
    crowded = len(blocks) > CROWDED
    side = max(layers[0].shape[0], 1)
    fig = go.Figure()
    for i, block in enumerate(blocks):
        height, width = _block_size(block["layer"].shape, side)
        fig.add_shape(
            type="rect",
            x0=i - width / 2,
            x1=i + width / 2,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=KIND_COLOURS.get(block["kind"], "#94a3b8"),
            line={"width": 0},
        )
        if "from" in block:
            _shortcut(fig, i, block)
        fig.add_annotation(
            x=i,
            # a long network staggers its labels on two rows so they do not overlap
            y=-0.62 - (0.5 if crowded and i % 2 else 0.0),
            text=_block_label(block),
            showarrow=False,
            font={"size": 11},
            yanchor="top",
        )
    fig.update_xaxes(visible=False, range=[-0.6, len(blocks) - 0.4])
    top = 0.9 if any("from" in block for block in blocks) else 0.6
    bottom = -1.75 if crowded else -1.25
    fig.update_yaxes(visible=False, range=[bottom, top])
    fig.update_layout(
        font={"color": TEXT},
        height=190 + (40 if crowded else 0) + (30 if top > 0.6 else 0),
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig
