"""Plotly charts the pages show, built from plain numbers: training curves (with a dotted line
where the learning rate was changed), probability bars, the confusion matrix, per-class
accuracy, the reliability diagram and class counts.

Nothing here touches Keras: pages pass lists and arrays from cnn/ results. The probability
bars' labels grow in presenter mode (`ui.presenter.px`), as the pictures beside them do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnn import i18n
from cnn.i18n import tr, trn
from ui import presenter

SMOOTHING = 0.6  # weight of the past in the smoothed per-batch curve (exponential average)
# chart text (titles, ticks, labels): Streamlit's plotly theme draws it #808495, 3.8:1 on
# white, under WCAG 1.4.3's 4.5:1 for text this small; the page's own text colour instead
TEXT = "#31333f"
COLORS = {"train": "#4f46e5", "val": "#f97316", "raw": "rgba(79, 70, 229, 0.25)"}
BAR_FONT_PX = 13  # the probability bars' class names and percentages (before presenter mode)
BAR_ROW_PX = 24  # height of one probability bar's row, at BAR_FONT_PX
# runs compared side by side: Okabe and Ito's colour-blind-safe colours (no red beside green)
# and a marker shape per run as well, so no run is told by its colour alone
RUN_COLOURS = ["#4f46e5", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000"]
RUN_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "triangle-down", "star"]
LR_MARK = "#0f766e"  # the dotted line where a student changed the learning rate


def _common_layout(height: int, legend_below: bool = True) -> dict:
    """Common size and margins; the legend sits below the x-axis title, never on it."""
    return {
        "height": height,
        "font": {"color": TEXT},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "legend": {"orientation": "h", "y": -0.32 if legend_below else 1.1, "yanchor": "top"},
    }


def _layout(fig: go.Figure, height: int, legend_below: bool = True) -> go.Figure:
    """`fig` with the common size, margins and legend (`_common_layout`), its axes legible."""
    fig.update_layout(_common_layout(height, legend_below))
    return legible_axes(fig)


def legible_axes(fig: go.Figure) -> go.Figure:
    """Every axis's ticks and title in TEXT (the plotly theme greys them: 3.8:1)."""
    fig.update_xaxes(tickfont_color=TEXT, title_font_color=TEXT)
    fig.update_yaxes(tickfont_color=TEXT, title_font_color=TEXT)
    return fig


def _smoothed(values: Sequence[float]) -> list[float]:
    out, average = [], None
    for value in values:
        average = value if average is None else SMOOTHING * average + (1 - SMOOTHING) * value
        out.append(average)
    return out


def mark_rate_changes(fig: go.Figure, changes: Sequence[tuple[float, float]],
                      color: str = LR_MARK, subplots: bool = True) -> None:  # fmt: skip
    """A dotted vertical line at each (x, new learning rate), labelled "lr → 0.003" at its
    top: in every subplot of a `make_subplots` figure, or in a plain figure (subplots False)."""
    where = {"row": "all", "col": "all"} if subplots else {}
    for x, rate in changes:
        text = tr("lr → {rate}").format(rate=f"{rate:g}")
        fig.add_vline(
            x=x, line_dash="dot", line_color=color, annotation_text=text,
            annotation_position="top right", annotation_font={"color": color, "size": 13},
            annotation_bgcolor="rgba(255, 255, 255, 0.85)", **where,
        )  # fmt: skip


def training_curves(events: Sequence) -> go.Figure:
    """Live loss and accuracy: per batch (raw and smoothed) and per epoch (train and val),
    with a dotted line where the learning rate was changed.

    Args:
        events: cnn.training.TrainingEvent objects; "batch" and "epoch" ones are drawn, "lr"
            ones marked (before the batch they changed: x is the epochs done by then).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=(tr("Loss"), tr("Accuracy")))
    batches = [e for e in events if e.kind == "batch"]
    epochs = [e for e in events if e.kind == "epoch"]
    x_batch = [e.epoch - 1 + e.step / e.steps for e in batches]
    x_epoch = [e.epoch for e in epochs]
    for col, metric in ((1, "loss"), (2, "accuracy")):
        values = [getattr(e, metric) for e in batches]
        first = col == 1
        per_batch = (
            (tr("per batch"), values, "raw"),
            (tr("per batch, smoothed"), _smoothed(values), "train"),
        )
        for name, ys, color in per_batch:
            fig.add_scatter(
                x=x_batch,
                y=ys,
                name=name,
                line={"color": COLORS[color]},
                row=1,
                col=col,
                showlegend=first,
                legendgroup=name,
            )
        for split, attr in (("train", metric), ("val", f"val_{metric}")):
            fig.add_scatter(
                x=x_epoch,
                y=[getattr(e, attr) for e in epochs],
                name=tr("epoch train") if split == "train" else tr("epoch val"),
                mode="lines+markers",
                line={"color": COLORS[split], "dash": "dot"},
                marker={"size": 9},
                row=1,
                col=col,
                showlegend=first,
                legendgroup=split,
            )
    changes = [(e.epoch - 1 + (e.step - 1) / e.steps, e.learning_rate)
               for e in events if e.kind == "lr" and e.steps]  # fmt: skip
    mark_rate_changes(fig, changes)
    fig.update_xaxes(title_text=tr("epoch"))
    return _layout(fig, 330)


def run_curves(histories: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Per-epoch curves of several runs overlaid: train solid, validation dashed; a dotted
    line in the run's colour where its learning rate was changed during training.

    Args:
        histories: run label -> Keras history dict (loss, accuracy, val_loss, val_accuracy;
            "lr_changes" when the rate was changed, see cnn.training.rate).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=(tr("Loss"), tr("Accuracy")))
    for i, (label, history) in enumerate(histories.items()):
        color, symbol = RUN_COLOURS[i % len(RUN_COLOURS)], RUN_SYMBOLS[i % len(RUN_SYMBOLS)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for key, dash in ((metric, "solid"), (f"val_{metric}", "dash")):
                values = history.get(key) or []
                fig.add_scatter(
                    x=list(range(1, len(values) + 1)),
                    y=values,
                    mode="lines+markers",
                    name=(tr("{run} (val)") if dash == "dash" else tr("{run} (train)")).format(
                        run=label
                    ),
                    line={"color": color, "dash": dash},
                    marker={"symbol": symbol, "size": 8},
                    row=1,
                    col=col,
                    showlegend=col == 1,
                )
        changes = history.get("lr_changes") or []
        mark_rate_changes(fig, [(c["epochs_done"], c["lr"]) for c in changes], color)
    fig.update_xaxes(title_text=tr("epoch"))
    return _layout(fig, 380)


def percent(p: float) -> str:
    """A probability in whole percent that never claims certainty: "over 99%" rather than a
    rounded "100%" (and "under 1%" rather than "0%")."""
    if p >= 0.995:
        return tr("over {percent}").format(percent=i18n.percent(0.99))
    if p < 0.005:
        return tr("under {percent}").format(percent=i18n.percent(0.01))
    return i18n.percent(p)


def probability_bars(
    probabilities: np.ndarray, class_names: Sequence[str], most: int | None = None
) -> go.Figure:
    """Horizontal bars of the class probabilities, the most likely class on top.

    With `most`, only that many classes get a bar of their own and the rest one "others" bar.
    The labels are `presenter.px(BAR_FONT_PX)` pixels, and the rows grow with them.
    """
    order = np.argsort(probabilities)[::-1]
    names = [class_names[i] for i in order]
    values = probabilities[order]
    if most is not None and len(values) > most:
        rest = len(values) - most + 1
        names = [*names[: most - 1], trn("{n} other", "{n} others", rest)]
        values = np.append(values[: most - 1], values[most - 1 :].sum())
    bar = go.Bar(
        x=values[::-1],
        y=names[::-1],
        orientation="h",
        marker_color=[COLORS["train"]] * (len(values) - 1) + [COLORS["val"]],
        text=[i18n.percent(p, 1) for p in values[::-1]],
        textposition="outside",
        cliponaxis=False,
    )
    font_px = presenter.px(BAR_FONT_PX)
    row_px = round(BAR_ROW_PX * font_px / BAR_FONT_PX)
    # the whole layout in the constructor: Predict draws this at every stroke, and plotly's
    # update_layout/update_xaxes took 4 of the 5.4 ms this took with them
    layout = {
        **_common_layout(50 + row_px * len(values)),
        "font": {"size": font_px, "color": TEXT},  # class names, percentages and the axis
        "xaxis": {"range": [0, 1.18], "tickformat": ".0%", "tickfont": {"color": TEXT}},
        "yaxis": {"type": "category", "tickfont": {"color": TEXT}},
    }
    return go.Figure(bar, layout)


def confusion_heatmap(
    confusion: np.ndarray, class_names: Sequence[str], selected: tuple[str, str] | None = None
) -> go.Figure:
    """Confusion matrix (rows true, columns predicted) with counts; cells can be clicked, and
    the `selected` (true, predicted) cell is outlined.

    An invisible marker sits on every cell so that `st.plotly_chart(on_select="rerun")`
    reports the clicked cell as a point (heatmaps themselves send no selection events).
    """
    names = list(class_names)
    confusion = np.asarray(confusion)
    fig = go.Figure(
        go.Heatmap(
            z=confusion,
            x=names,
            y=names,
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            hoverinfo="skip",
            showscale=False,
        )
    )
    rows, cols = np.indices(confusion.shape)
    fig.add_scatter(
        x=[names[c] for c in cols.ravel()],
        y=[names[r] for r in rows.ravel()],
        mode="markers",
        customdata=confusion.ravel(),
        marker={"size": 28, "opacity": 0, "symbol": "square"},
        hovertemplate=tr("true %{y}, predicted %{x}: %{customdata}") + "<extra></extra>",
        showlegend=False,
    )
    fig.update_xaxes(title_text=tr("predicted"), type="category")
    fig.update_yaxes(title_text=tr("true"), type="category", autorange="reversed")
    if selected is not None:  # outline the chosen (true, predicted) cell
        row, col = names.index(selected[0]), names.index(selected[1])
        outline_cell(fig, col, row, COLORS["val"], 3)
    fig.update_layout(clickmode="event+select")  # a click selects the cell's marker
    return _layout(fig, 120 + 32 * len(names))


def per_class_accuracy(per_class: Sequence[dict]) -> go.Figure:
    """Each class's test accuracy as a horizontal bar, class names readable however many."""
    names = [c["name"] for c in per_class][::-1]
    values = [c["accuracy"] for c in per_class][::-1]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=COLORS["train"],
            text=[i18n.percent(v) if v is not None else tr("no images") for v in values],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(range=[0, 1.15], tickformat=".0%", title_text=tr("test accuracy"))
    fig.update_yaxes(type="category")
    return _layout(fig, 70 + 22 * len(names))


def _filled_bins(table: dict) -> tuple[list, list, list]:
    """(confidence, accuracy, count) lists of a reliability table's bins that hold images."""
    columns = (table["confidence"], table["accuracy"], table["counts"])
    kept = [row for row in zip(*columns, strict=True) if row[2]]
    return [r[0] for r in kept], [r[1] for r in kept], [r[2] for r in kept]


def reliability_diagram(before: dict, after: dict | None) -> go.Figure:
    """How sure the model was against how often it was right, per confidence bin, with the
    number of test images in each bin under it (a bin of 3 images says little).

    Args:
        before, after: `cnn.calibration.Reliability` as dicts, before and after temperature
            scaling (after may be None).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.08)  # fmt: skip
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=tr("perfectly honest"),
                    line={"color": "#94a3b8", "dash": "dot"}, row=1, col=1)  # fmt: skip
    for label, table, color in (
        (tr("the model's own"), before, COLORS["val"]),
        (tr("calibrated"), after, COLORS["train"]),
    ):
        if not table:
            continue
        xs, ys, ns = _filled_bins(table)
        fig.add_scatter(
            x=xs, y=ys, mode="lines+markers", name=label, line={"color": color}, customdata=ns,
            hovertemplate=tr("sure %{x:.0%}, right %{y:.0%} (%{customdata} images)")
            + "<extra></extra>",
            row=1, col=1,
        )  # fmt: skip
    # the images per bin of the calibrated table when there is one
    table, color = (after, COLORS["train"]) if after else (before, COLORS["val"])
    xs, _, ns = _filled_bins(table)
    fig.add_bar(
        x=xs, y=ns, marker_color=color, opacity=0.75, text=[i18n.number(n) for n in ns],
        textposition="outside", textfont={"size": 10}, cliponaxis=False, width=0.03,
        showlegend=False, row=2, col=1,
        hovertemplate=tr("%{y:,} test images sure about %{x:.0%}") + "<extra></extra>",
    )  # fmt: skip
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(title_text=tr("how sure it was"), row=2, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text=tr("how often it was right"),
                     row=1, col=1)  # fmt: skip
    # counts span 1 to thousands: a log scale keeps the small bins visible
    title = tr("images (calibrated)") if after else tr("images")
    fig.update_yaxes(type="log", title_text=title, row=2, col=1, range=[0, 4.9])
    return _layout(fig, 440)


def class_counts(counts: dict[str, Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """Grouped bars of images per class for each split (split name -> count per class)."""
    fig = go.Figure(
        [
            go.Bar(x=list(class_names), y=list(values), name=split)
            for split, values in counts.items()
        ]
    )
    fig.update_xaxes(type="category")
    return _layout(fig, 300)


def outline_cell(fig: go.Figure, x: float, y: float, color: str, width: int, half: float = 0.5):
    """Outline the square of side `2 * half` centred on (x, y): a heatmap's cell, or a tile."""
    fig.add_shape(
        type="rect",
        x0=x - half,
        x1=x + half,
        y0=y - half,
        y1=y + half,
        line={"color": color, "width": width},
    )
