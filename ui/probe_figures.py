"""Figures of the Probe page, built from `cnn.probes` results (plain numbers and arrays).

Curves and maps are plotly figures, except the embedding map: it is an Altair (Vega-Lite)
chart, because Vega's tooltips can show an image (a field named "image") and plotly's
hover labels cannot. Nothing here touches Keras or Streamlit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go

from cnn import i18n
from cnn.i18n import tr
from ui.charts import COLORS, TEXT, legible_axes
from ui.pictures import framed, to_uint8_rgb

PALETTE = [  # one colour per class, the map's too: Okabe and Ito's colour-blind-safe set
    # (its yellow darkened to olive to show on white) and two of Paul Tol's; each class has
    # its marker shape as well (SYMBOLS, SHAPES), so no class is told by its colour alone
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
    "#d55e00", "#000000", "#8a7a00", "#882255", "#999999",
]  # fmt: skip
# each class's marker, in plotly's names (SYMBOLS) and in vega-lite's (SHAPES, the map's)
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "triangle-down", "cross", "star",
           "pentagon", "hexagon"]  # fmt: skip
SHAPES = ["circle", "square", "diamond", "triangle-up", "cross", "triangle-down",
          "triangle-right", "triangle-left", "stroke", "wedge"]  # fmt: skip
DASHES = ["solid", "dash", "dot"]  # first run, second run...
MAX_CURVES = 4  # classes drawn per sweep
MAX_STRIP = 13  # transformed inputs shown under a sweep
STRIP_PX = 64
TOOLTIP_PX = 64  # side of the thumbnail in the map's tooltip
# blue (covering helps) - transparent (no effect: the picture shows through) - red (it hurts)
DIVERGING = [[0.0, "rgba(33, 102, 172, 0.85)"], [0.5, "rgba(255, 255, 255, 0)"],
             [1.0, "rgba(178, 24, 43, 0.85)"]]  # fmt: skip


def _layout(fig: go.Figure, height: int) -> go.Figure:
    # room above for the "flips" labels; the legend below the x axis title
    fig.update_layout(
        height=height,
        font={"color": TEXT},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.28, "yanchor": "top"},
    )
    return legible_axes(fig)


def colour(index: int) -> str:
    """The colour of class `index` in every probe figure."""
    return PALETTE[index % len(PALETTE)]


def symbol(index: int) -> str:
    """The plotly marker of class `index` in every probe figure (beside its colour)."""
    return SYMBOLS[index % len(SYMBOLS)]


def classes_shown(results: Sequence, limit: int = MAX_CURVES) -> list[int]:
    """The classes worth a curve: the unchanged input's answer, then every class that wins
    somewhere (those winning nearest the unchanged input first: the flips), then the most
    probable others, at most `limit`."""
    first = results[0]
    chosen = [int(first.labels[first.identity_index])]
    for result in results:
        nearest_first = np.argsort(np.abs(result.values - result.sweep.identity), kind="stable")
        for label in result.labels[nearest_first]:
            if int(label) not in chosen:
                chosen.append(int(label))
    peak = np.max([r.probabilities.max(axis=0) for r in results], axis=0)
    chosen += [int(c) for c in np.argsort(peak)[::-1] if int(c) not in chosen]
    return chosen[:limit]


def sweep_chart(results: dict[str, object], class_names: Sequence[str]) -> go.Figure:
    """Probability of the main classes against the amount, one line style per run.

    Args:
        results: run title -> cnn.probes.sweeps.SweepResult of the same sweep and input.
        class_names: the runs' class names (the same for all).
    """
    runs = list(results.items())
    sweep = runs[0][1].sweep
    classes = classes_shown([r for _, r in runs])
    fig = go.Figure()
    for i, (title, result) in enumerate(runs):
        dash = DASHES[i % len(DASHES)]
        suffix = f" · {title}" if len(runs) > 1 else ""
        for c in classes:
            fig.add_scatter(
                x=result.values,
                y=result.probabilities[:, c],
                mode="lines+markers",
                name=f"{class_names[c]}{suffix}",
                line={"color": colour(c), "dash": dash, "width": 3},
                marker={"size": 8, "symbol": symbol(c)},
                hovertemplate=f"{sweep.unit} %{{x}}: {class_names[c]} %{{y:.1%}}<extra></extra>",
            )
        # where the answer first changes on each side of the unchanged input
        for value in result.flip():
            if value is not None:
                fig.add_vline(x=value, line={"color": "#555", "dash": dash, "width": 1})
                fig.add_annotation(x=value, y=1.07, text=tr("flips"), showarrow=False,
                                   font={"size": 11})  # fmt: skip
    fig.add_vline(x=sweep.identity, line={"color": "#16a34a", "width": 2})
    fig.add_annotation(x=sweep.identity, y=-0.08, text=tr("unchanged"), showarrow=False,
                       font={"size": 11, "color": "#16a34a"})  # fmt: skip
    fig.update_xaxes(title_text=f"{sweep.title} ({sweep.unit})")
    fig.update_yaxes(title_text=tr("probability"), range=[-0.12, 1.12], tickformat=".0%")
    return _layout(fig, 380)


def sweep_strip(result, class_names: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    """Up to MAX_STRIP transformed inputs (evenly chosen, the unchanged one among them)
    with captions "amount: answer (probability)"."""
    n = len(result.values)
    step = max(1, -(-n // MAX_STRIP))
    keep = sorted(set(range(result.identity_index % step, n, step)) | {result.identity_index})
    images = [framed(result.inputs[i], STRIP_PX) for i in keep]
    captions = []
    for i in keep:
        label = int(result.labels[i])
        captions.append(
            f"{i18n.number(float(result.values[i]))}: {class_names[label]} "
            f"{i18n.percent(float(result.probabilities[i, label]))}"
        )
    return images, captions


def occlusion_figure(image: np.ndarray, occlusion, class_name: str) -> go.Figure:
    """The input with the map of probability lost under the patch laid over it.

    Red: covering there lowered the probability of `class_name`; blue: raised it.
    """
    h, w = occlusion.heat.shape
    fig = go.Figure(go.Image(z=to_uint8_rgb(image), hoverinfo="skip"))
    limit = max(float(np.abs(occlusion.heat).max()), 1e-6)
    fig.add_heatmap(
        z=occlusion.heat,
        zmin=-limit,
        zmax=limit,
        colorscale=DIVERGING,
        colorbar={"title": {"text": tr("lost")}, "tickformat": ".0%", "len": 0.8},
        # plotly's %{y} is not a Python placeholder: only {name} is filled here
        hovertemplate=tr("covering near row %{y}, column %{x}: {name} loses %{z:.1%}").replace(
            "{name}", class_name
        )
        + "<extra></extra>",
    )
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x")
    return _layout(fig, 320)


def data_url(image: np.ndarray, side: int = TOOLTIP_PX) -> str:
    """A small PNG of an image as a data: URL (for tooltips)."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(framed(image, side), cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode() if ok else ""


def embedding_map(points: np.ndarray, labels, predicted, class_names, thumbnails, you, title):
    """The map: one dot per test image coloured by its true class, thumbnails in the
    tooltip, and a large black diamond where the current input lands.

    Args:
        points: (n, 2) map positions.
        labels, predicted: (n,) true and predicted classes.
        class_names: names in class order.
        thumbnails: (n,) data: URLs (`data_url`).
        you: (2,) the current input's position.
        title: the projection's name, for the axes.
    """
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(
        {
            "x": points[:, 0],
            "y": points[:, 1],
            "class": [class_names[i] for i in labels],
            "predicted": [class_names[i] for i in predicted],
            "image": thumbnails,
        }
    )
    names = list(class_names)
    scale = alt.Scale(domain=names, range=[colour(i) for i in range(len(names))])
    shapes = alt.Scale(domain=names, range=[SHAPES[i % len(SHAPES)] for i in range(len(names))])
    legend = alt.Legend(title=tr("true class"))
    dots = (
        alt.Chart(frame)
        .mark_point(size=36, opacity=0.75, filled=True)
        .encode(
            x=alt.X("x:Q", title=f"{title} 1", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title=f"{title} 2", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("class:N", scale=scale, legend=legend),
            shape=alt.Shape("class:N", scale=shapes, legend=legend),
            tooltip=[
                "image",  # Vega shows a field named "image" as the picture
                alt.Tooltip("class:N", title=tr("true class")),
                alt.Tooltip("predicted:N", title=tr("predicted")),
            ],
        )
    )
    marker = pd.DataFrame({"x": [float(you[0])], "y": [float(you[1])], "label": [tr("your input")]})
    star = (
        alt.Chart(marker)
        .mark_point(shape="diamond", size=400, filled=True, color="black", stroke="white")
        .encode(x="x:Q", y="y:Q", tooltip=["label"])
    )
    text = (
        alt.Chart(marker)
        .mark_text(dy=-20, fontSize=14, fontWeight="bold")
        .encode(x="x:Q", y="y:Q", text="label")
    )
    return (dots + star + text).properties(height=480).interactive()


def perturbation_image(perturbation: np.ndarray, epsilon: float, side: int) -> np.ndarray:
    """The change made visible, `side` pixels square: mid-grey unchanged, white where pixels
    went up by epsilon, black where they went down (magnified 1 / (2 epsilon) times)."""
    scaled = 0.5 + perturbation / (2 * max(epsilon, 1e-6))
    return framed(np.clip(scaled, 0.0, 1.0), side)


def attack_chart(attack, class_names: Sequence[str]) -> go.Figure:
    """Probability of the original answer and of the new one at every epsilon tried."""
    fig = go.Figure()
    shown = [attack.label_before]
    if attack.label_after != attack.label_before:
        shown.append(attack.label_after)
    if attack.target is not None and attack.target not in shown:
        shown.append(attack.target)
    for c in shown:
        fig.add_scatter(
            x=attack.epsilons,
            y=attack.probabilities[:, c],
            mode="lines+markers",
            name=class_names[c],
            line={"color": colour(c)},
            marker={"size": 7, "symbol": symbol(c)},
            hovertemplate=f"ε %{{x:.4f}}: {class_names[c]} %{{y:.1%}}<extra></extra>",
        )
    if attack.epsilon is not None:
        fig.add_vline(x=attack.epsilon, line={"color": COLORS["val"], "dash": "dash"})
        # annotations on a log axis take the exponent
        fig.add_annotation(x=np.log10(attack.epsilon), y=1.08, showarrow=False,
                           text=tr("smallest ε = {epsilon}").format(
                               epsilon=i18n.number(attack.epsilon, 4)))  # fmt: skip
    fig.update_xaxes(title_text=tr("epsilon (largest change of any pixel, 0-1)"), type="log")
    fig.update_yaxes(title_text=tr("probability"), range=[-0.05, 1.15], tickformat=".0%")
    return _layout(fig, 320)
