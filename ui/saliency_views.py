"""Predict's "Where it looked": a map that was tested, said in plain words, worked out when
a student asks for it (a second of the server's time each: a class cannot afford it per stroke).

The map is the run's kind's default (`cnn.explain.saliency.DEFAULTS`: the method that passed
the deletion and randomisation tests on the shipped runs); the other methods are choices.
Each is labelled with what it computes, in words a 15-year-old follows, and with how faithful
it measured on this very run (`RunRecord.saliency`, written by `python -m cnn saliency
--measure`). Under the map, this input's own deletion test: the answer's probability as the
pixels the map marks red are removed first, beside the same in random orders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnn import describe, i18n
from cnn.i18n import N_, tr
from cnn.record import RunRecord, SaliencyCheck
from ui import a11y, loaders, pictures, presenter
from ui.glossary import explain_ui

METHOD = "saliency-method"  # widget key: the method shown
CLASS = "cam-class"  # widget key: the class explained
AUTO = "saliency-auto"  # widget key: work the map out for every new picture
ASK = "saliency-ask"  # widget key: the button that works it out for this picture
ASKED = "saliency-asked"  # session key: digests of the maps this session asked for
ASKED_KEPT = 32  # maps remembered as asked for, per session
TESTED_NOW = 20  # test images of the "Test this map" button (the CLI's --measure: 60-100)
TOP_CLASS = -1  # its option "the answer it gave" (None as an option reads "Choose an option")
# method -> (its name on screen, what it did and what red means; {c} is the class)
WORDS: dict[str, tuple[str, str]] = {
    "rise": (
        N_("Random masks (RISE)"),
        N_(
            "The model saw your picture a thousand times, each time with random patches hidden. "
            "Red: the places whose being visible made it most sure of {c}."
        ),
    ),
    "smoothgrad": (
        N_("Noisy gradients (SmoothGrad)"),
        N_(
            "For many slightly noisy copies of the picture, which pixels would raise the score of "
            "{c} most if they were a little stronger. Red: pixels that pushed the answer "
            "towards {c}."
        ),
    ),
    "gradcam": (
        N_("Grad-CAM (last conv layer)"),
        N_(
            "The last convolution layer's feature maps, each weighted by how much the score of "
            "{c} rises with it. Coarse: one square per position of that layer. Red: where those "
            "weighted maps are strongest."
        ),
    ),
    "occlusion": (
        N_("Covering patches (occlusion)"),
        N_(
            "One small square at a time was covered with the background while the model watched. "
            "Red: covering here lowered its probability of {c} most."
        ),
    ),
    "integrated_gradients": (
        N_("Integrated gradients"),
        N_(
            "The picture was faded in from the background in small steps; at each step, how much "
            "every pixel raised the score of {c} was added up. Red: pixels that added most."
        ),
    ),
}

# SmoothGrad times the input (`times_input`): what it computes, in the same words
SMOOTHGRAD_TIMES = N_(
    "For many slightly noisy copies of the picture, which pixels would raise the score of "
    "{c} most if they were a little stronger, times how much each pixel stands out from a "
    "blurred copy. Red: pixels that pushed the answer towards {c}."
)


def explained_class(class_names: Sequence[str]) -> int | None:
    """The class the map is asked to explain: None for the answer the model gave."""
    chosen = st.session_state.get(CLASS, TOP_CLASS)
    return chosen if chosen is not None and 0 <= chosen < len(class_names) else None


def method_label(method: str, check: SaliencyCheck | None) -> str:
    """The method's name with its verdict on this run."""
    verdict = (
        tr("not tested yet")
        if check is None
        else tr("passed the test")
        if check.passed
        else tr("failed the test")
    )
    label = f"{tr(WORDS[method][0])} · {verdict}"
    if check is not None and check.seconds >= 2:
        label += " · " + tr("about {seconds} s").format(seconds=i18n.number(check.seconds, 0))
    return label


def trust_words(check: SaliencyCheck | None, name: str, kind: str) -> str:
    """How faithful the method measured on this run, in a sentence or three."""
    if check is None:
        return tr(
            "{name} has not been tested on this model yet, so treat this map as a guess "
            "until it is."
        ).format(name=name)
    from cnn.explain import checks  # TensorFlow: imported when the view is drawn

    most, least = checks.TARGETS[kind]
    verdict = (
        tr(":green[**Passed**] the test on {n} of this model's test images.")
        if check.passed
        else tr(
            ":red[**Failed**: do not trust this one] the test on {n} of this model's test images."
        )
    ).format(n=i18n.number(check.images))
    deletion = tr(
        "Removing the pixels it marks red first made the model lose its answer sooner than "
        "removing random pixels on {beating} of them (a faithful map: at least {least}); the "
        "area under that curve was {ratio} times random's (at most {most})."
    ).format(
        beating=i18n.percent(check.beating),
        least=i18n.percent(least),
        ratio=i18n.number(check.deletion_ratio, 2),
        most=i18n.number(most, 2),
    )
    scrambled = (
        tr(
            "With the network's learned weights scrambled, its map looks unrelated, as it "
            "should (rank correlation {r}, at most {limit})."
        )
        if check.correlation <= checks.MAX_CORRELATION
        else tr(
            "With the network's learned weights scrambled, its map looks much the same: it "
            "draws the picture more than what the model learned (rank correlation {r}, at "
            "most {limit})."
        )
    ).format(r=i18n.number(check.correlation, 2), limit=i18n.number(checks.MAX_CORRELATION, 1))
    took = tr("It took about {seconds} s per picture.").format(
        seconds=i18n.number(check.seconds, 1)
    )
    return " ".join((verdict, deletion, scrambled, took))


def test_now_ui(loaded, method: str) -> None:
    """For a run that is not shipped: test the method on a few of its test images, now, and
    record the figures in its run.json (the page then shows them)."""
    from cnn import artifacts
    from cnn.errors import DatasetError
    from cnn.explain import checks

    info = loaded.run.info
    if info.shipped:
        return
    label = tr("Test this map on {n} of the model's test images (a minute at most)").format(
        n=i18n.number(TESTED_NOW)
    )
    if not st.button(label, icon=":material/fact_check:", key=f"test-map-{method}"):
        return
    try:
        with st.spinner(tr("Testing the map: removing pixels in its order and in random order...")):
            found = checks.check_run(loaded.run, [method], images=TESTED_NOW)
    except DatasetError as err:
        st.warning(
            tr("The test needs the model's test images, which are not here: {error}").format(
                error=err
            )
        )
        return
    fresh = artifacts.read_run_info(info.path).record  # never the cached record: it is shared
    artifacts.write_record(info.path, checks.recorded(fresh, found))
    st.rerun()


def deletion_figure(fractions: np.ndarray, curve: np.ndarray, random: np.ndarray, name: str):
    """This input's deletion test: the answer's probability as pixels are removed."""
    fig = go.Figure()
    percent = fractions * 100
    fig.add_scatter(x=percent, y=curve * 100, name=tr("red pixels first"), line={"width": 3})
    fig.add_scatter(x=percent, y=random * 100, name=tr("random order"), line={"dash": "dot"})
    fig.update_layout(
        height=presenter.px(240),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title={
            "text": tr("Removing pixels: how sure it stays of '{name}'").format(name=name),
            "font": {"size": 15},
        },
        xaxis={"title": tr("share of pixels removed (%)"), "range": [0, 100]},
        yaxis={"title": tr("probability (%)"), "range": [0, 101]},
        legend={"orientation": "h", "y": -0.35},
        font={"size": presenter.px(13)},
    )
    return fig


def deletion_words(looked, name: str) -> str:
    """The deletion chart in words: the probability with half the pixels gone, both orders."""
    half = int(np.argmin(np.abs(np.asarray(looked.fractions) - 0.5)))
    return tr(
        "The probability of '{name}' starts at {start}. With half the pixels removed, red "
        "first, it is {red}; in random order, {random}."
    ).format(
        name=name,
        start=i18n.percent(float(looked.curve[0])),
        red=i18n.percent(float(looked.curve[half])),
        random=i18n.percent(float(looked.random_curve[half])),
    )


def input_key(image: np.ndarray, method: str, target: int | None) -> str:
    """A digest naming one map: the input's pixels, the method and the class explained."""
    named = np.ascontiguousarray(image, np.float32).tobytes() + f"|{method}|{target}".encode()
    return hashlib.sha256(named).hexdigest()


def asked_ui(place, key: str, check: SaliencyCheck | None) -> bool:
    """Whether to work the map out now: when this session asked for this very map, or asked
    for every picture; otherwise a button in `place`. A map costs about a second of the
    server's time (RISE), every stroke is a new picture, and a class of 40 drawing at once
    cannot share two cores that way (bench/README.md, the class board bench)."""
    asked = st.session_state.setdefault(ASKED, [])
    if st.session_state.get(AUTO) or key in asked:
        return True
    cost = (
        tr("about {seconds} s").format(seconds=i18n.number(check.seconds, 0))
        if check and check.seconds >= 1.5
        else tr("a second or so")
    )
    slot = place.empty()  # the offer goes once it is taken, in the run of the click too
    with slot.container():
        st.caption(
            tr(
                "Working it out takes {cost} of the server's time for each new picture, so it "
                "waits until you ask."
            ).format(cost=cost)
        )
        if not st.button(tr("Show where it looked"), icon=":material/visibility:", key=ASK):
            return False
    slot.empty()
    asked.append(key)
    del asked[:-ASKED_KEPT]
    return True


def _choices_ui(record: RunRecord, methods: list[str], class_names: Sequence[str]) -> str:
    """The map and class pickers, the explanation and the every-picture switch; the method."""
    method = st.selectbox(
        tr("Map"),
        methods,
        format_func=lambda m: method_label(m, record.saliency_check(m)),
        key=f"{METHOD}-{record.preprocessing.kind}",
    )
    st.selectbox(
        tr("Explain the class"),
        [TOP_CLASS, *range(len(class_names))],
        format_func=lambda c: tr("the answer it gave") if c == TOP_CLASS else class_names[c],
        key=CLASS,
    )
    explain_ui("where it looked")
    st.toggle(
        tr("Show it for every new picture"),
        key=AUTO,
        help=tr(
            "For a demonstration. Each new picture then costs the server about a second, "
            "which a whole class drawing at once cannot share."
        ),
    )
    return method


def where_it_looked_ui(loaded, image: np.ndarray, class_names: Sequence[str]) -> None:
    """The chosen map over the input, what its colours mean, and how far to trust it."""
    record = loaded.run.record
    kind = record.preprocessing.kind
    from cnn.explain import checks  # TensorFlow: imported when the view is drawn

    picture, controls = st.columns([1, 1])
    with controls:
        method = _choices_ui(record, checks.offered(kind), class_names)
    target = explained_class(class_names)
    _, params = checks.method_parameters(kind, method)
    words = SMOOTHGRAD_TIMES if params.get("times_input") else WORDS[method][1]
    whom = tr("its answer") if target is None else f"'{class_names[target]}'"
    controls.markdown(tr(words).format(c=whom))
    if not asked_ui(picture, input_key(image, method, target), record.saliency_check(method)):
        return
    with st.spinner(tr("Working out where it looked...")):
        looked = loaders.where_it_looked(loaded, image, method, target)
    if looked.problem:
        picture.info(tr(looked.problem))  # the English of MAP_FAILED, or a sentence from cnn
        return
    name = class_names[looked.target]
    picture.image(
        pictures.heat_overlay(image, looked.map, presenter.px(pictures.DISPLAY_PX)),
        caption=tr(
            "Where it looked for '{name}': red = the pixels that mattered most, then "
            "yellow, green, blue; the half that mattered least is left uncoloured"
        ).format(name=name),
        alt=describe.heatmap(looked.map, tr("Where it looked for '{name}'").format(name=name)),
    )
    check = record.saliency_check(method)
    with picture:
        st.markdown(trust_words(check, tr(WORDS[method][0]), kind))
        if check is None:
            test_now_ui(loaded, method)
    controls.plotly_chart(
        deletion_figure(looked.fractions, looked.curve, looked.random_curve, name),
        config={"displayModeBar": False},
    )
    with controls:
        a11y.described_ui(deletion_words(looked, name))
    controls.caption(
        tr(
            "This picture's own test: if the map is right, removing its red pixels first (they "
            "become the background) makes the answer collapse sooner than removing pixels in "
            "random order."
        )
    )
