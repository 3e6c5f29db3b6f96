"""The Probe page's parts: change the input, cover it, compare it with training images, fool it.

Each `*_ui` function draws one tab from a loaded run (`ui.loaders.LoadedRun`) and the model
input Predict prepared. Results are cached per server with `st.cache_resource` (they hold
numpy arrays and a transform's functions, which `st.cache_data` would have to pickle),
keyed by the run, its stamp (`loaders.run_stamp`) and the input itself, so a rerun that
changes nothing else costs no model call.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn import artifacts, calibration, datasets, describe, i18n
from cnn.i18n import N_, tr
from cnn.probes import attack, embedding, occlusion, sweeps
from ui import answer as answers
from ui import charts, loaders, pictures
from ui import probe_figures as pf

NEIGHBOURS_PX = 96
ADVERSARIAL_PX = 200
MAX_COMPARED = 2  # other runs overlaid on a sweep
SOURCE_SENTENCES = {  # where Predict's input came from -> the sentence that says so
    "Draw": N_("Your drawing (left) is the model input Predict made; every probe below starts "
               "from it."),
    "Upload": N_("Your uploaded picture (left) is the model input Predict made; every probe "
                 "below starts from it."),
    "Samples": N_("Your sample (left) is the model input Predict made; every probe below "
                  "starts from it."),
    "": N_("Your input (left) is the model input Predict made; every probe below starts "
           "from it."),
}  # fmt: skip


def joined(*sentences: str) -> str:
    """Sentences one after another as the language writes them (no space in Chinese)."""
    return ("" if i18n.language() == "zh" else " ").join(s for s in sentences if s)


def calibrated(loaded) -> calibration.CalibratedInspector:
    """The run's inspector with calibrated probabilities: every probe measures the number
    Predict shows (`cnn.calibration.calibrated`)."""
    return calibration.CalibratedInspector(loaded.inspector, loaded.run.record.calibration)


def change_words(size: attack.ChangeSize) -> str:
    """How big the attack's change is, in brightness steps and share of pixels, and whether
    it is invisible (`attack.INVISIBLE_STEPS`) or small but visible."""
    tiny = size.largest_steps < 1
    share = charts.percent(size.changed_share) if size.changed_share else tr("none")
    if size.invisible and tiny:
        text = tr(
            "**Why can a change you cannot see change the answer?** Here no pixel changed by "
            "even one of 255 brightness steps (the largest change is {largest}): too little for "
            "your eye to notice."
        )
    elif size.invisible:
        text = tr(
            "**Why can a change you cannot see change the answer?** Here the largest change of "
            "a pixel is {largest} of 255 brightness steps, and {share} of the pixels changed by "
            "more than one step: too little for your eye to notice."
        )
    elif tiny:
        text = tr(
            "**Why does this change fool it?** Here no pixel changed by even one of 255 "
            "brightness steps (the largest change is {largest}): small, but you can see it (a "
            "change counts as invisible up to {limit} of 255)."
        )
    else:
        text = tr(
            "**Why does this change fool it?** Here the largest change of a pixel is {largest} "
            "of 255 brightness steps, and {share} of the pixels changed by more than one step: "
            "small, but you can see it (a change counts as invisible up to {limit} of 255)."
        )
    largest = i18n.number(size.largest_steps, 1 if tiny else 0)
    return text.format(largest=largest, share=share, limit=attack.INVISIBLE_STEPS)


@st.cache_resource(max_entries=64, show_spinner=False)
def _sweep(path: str, stamp: tuple, image: np.ndarray, name: str, method: str, _inspector):
    return sweeps.run_sweep(_inspector, image, name, method)


@st.cache_resource(max_entries=32, show_spinner=False)
def _occlusion(path: str, stamp: tuple, image: np.ndarray, patch: int, fill: float, _inspector):
    return occlusion.occlusion_map(_inspector, image, patch=patch, fill=fill)


@st.cache_resource(max_entries=loaders.MAX_LOADED_RUNS, show_spinner=False)
def _attacker(path: str, stamp: tuple, _inspector) -> attack.Attacker:
    return attack.Attacker(_inspector)


@st.cache_resource(max_entries=32, show_spinner=False)
def _attack(path: str, stamp: tuple, image: np.ndarray, method: str, target, _attacker):
    return _attacker.attack(image, method, target)


@st.cache_resource(max_entries=4, show_spinner=False)
def _embedded(path: str, stamp: tuple, source: str, which: str, limit: int, _loaded, _data):
    return embedding.embedded_split(_loaded.run, _loaded.inspector, _data, which, limit)


@st.cache_resource(max_entries=4, show_spinner=False)
def _projection(path: str, stamp: tuple, source: str, method: str, _embedded_test):
    return embedding.project(_embedded_test, method)


@st.cache_resource(max_entries=2, show_spinner=False)
def _thumbnails(path: str, stamp: tuple, source: str, _embedded_test) -> list[str]:
    """Every map point's picture as a small PNG data: URL (for the tooltip)."""
    return [pf.data_url(_embedded_test.image(i)) for i in range(len(_embedded_test))]


def _key(loaded) -> tuple[str, tuple]:
    return str(loaded.run.info.path), loaded.stamp


def comparable_runs(info: artifacts.RunInfo) -> list[artifacts.RunInfo]:
    """Other good runs with the same classes and preprocessing: they can take the same input."""
    record = info.record
    return [
        r
        for r in artifacts.list_runs()
        if r.ok
        and r.path != info.path
        and r.record.class_names == record.class_names
        and r.record.preprocessing.to_dict() == record.preprocessing.to_dict()
    ]


def short_title(info: artifacts.RunInfo) -> str:
    """A legend-sized name: the run's own title, or its architecture, augmentation, epochs
    and test accuracy ("modern_cnn +aug 12 ep 99.5%")."""
    record = info.record
    if record.title:
        return record.title
    augment = " +aug" if record.config.augmentation != "none" else ""
    accuracy = record.test.accuracy
    score = f" {accuracy:.1%}" if isinstance(accuracy, float) else ""
    return f"{record.arch_name}{augment} {record.epochs_run} ep{score}"


def flip_sentence(result, class_names) -> str:
    """What a sweep shows, in words: the unchanged answer and the first change on each side."""
    i = result.identity_index
    answer, unit = int(result.labels[i]), result.sweep.unit
    said = class_names[answer]
    sure = answers.answer_words(said, result.probabilities[i, answer])
    text = tr("Unchanged, the model says {answer}.").format(answer=sure)
    flips = [v for v in result.flip() if v is not None]
    if not flips:
        low, high = result.values[0], result.values[-1]
        return joined(
            text,
            tr("It still says {name} at every amount from {low} to {high} {unit}.").format(
                name=said, low=_amount(low), high=_amount(high), unit=tr(unit)
            ),
        )
    for value in flips:
        new = class_names[int(result.labels[result.values == value][0])]
        text = joined(
            text,
            tr("At {amount} {unit} it says **{name}**.").format(
                amount=_amount(value), unit=tr(unit), name=new
            ),
        )
    return text


def _amount(value: float) -> str:
    """A sweep's amount as `:g` writes it, with the language's decimal sign."""
    return i18n.number(float(f"{value:g}"))


def sweep_ui(loaded, image: np.ndarray) -> None:
    """Pick a sweep (and runs to compare); the curves, the flips and the transformed inputs."""
    method = loaded.run.preprocessing["method"]
    class_names = loaded.class_names
    options = sweeps.sweeps_for(method)
    pick, compare = st.columns([2, 3])
    sweep = pick.selectbox(
        tr("Change"),
        options,
        format_func=lambda s: tr(s.title),
        key="probe-sweep",
        help="\n\n".join(f"**{tr(s.title)}**: {tr(s.explanation)}" for s in options),
    )
    others = compare.multiselect(
        tr("Overlay other models (same classes and input)"),
        comparable_runs(loaded.run.info),
        format_func=short_title,
        max_selections=MAX_COMPARED,
        key="probe-compare",
        placeholder=tr("Choose models"),
        help=tr("The same changed inputs go through each model: dashed and dotted lines."),
    )
    results = {short_title(loaded.run.info): _sweep(*_key(loaded), image, sweep.name, method,
                                                    calibrated(loaded))}  # fmt: skip
    for info in others:
        other = loaders.load_run(info.path)
        title = short_title(info)
        title = title if title not in results else f"{title} · {info.name}"
        results[title] = _sweep(*_key(other), image, sweep.name, method, calibrated(other))
    st.plotly_chart(pf.sweep_chart(results, class_names), key="probe-sweep-chart")
    for title, result in results.items():
        who = f"{title}: " if len(results) > 1 else ""
        st.markdown(who + flip_sentence(result, class_names))
    images, captions = pf.sweep_strip(next(iter(results.values())), class_names)
    alts = [tr("The input, changed: {caption}").format(caption=c) for c in captions]
    st.image(images, caption=captions, width=pf.STRIP_PX, alt=alts)
    if method == "photos":
        text = tr(
            "Each picture is the model input Predict made ({shape}), changed with OpenCV; what "
            "moves in from outside is mirrored at the edges. All {n} went through the model in "
            "one call."
        )
    else:
        text = tr(
            "Each picture is the model input Predict made ({shape}), changed with OpenCV; what "
            "moves in from outside is filled with black. All {n} went through the model in one "
            "call."
        )
    count = len(next(iter(results.values())).values)
    st.caption(text.format(shape=" x ".join(map(str, image.shape)), n=i18n.number(count)))


def occlusion_ui(loaded, image: np.ndarray, gradcam) -> None:
    """The occlusion map beside Grad-CAM: two ways of asking where the model looks."""
    class_names = loaded.class_names
    default, _ = occlusion.default_patch(image.shape)
    left, right = st.columns(2)
    patch = left.slider(tr("Patch size (pixels)"), 2, max(3, min(image.shape[:2]) // 2), default,
                        key="probe-patch")  # fmt: skip
    fills = {N_("black"): 0.0, N_("grey"): occlusion.GREY, N_("white"): 1.0}
    # digits and grayscale items lie on black: a black patch erases, a grey one adds ink
    dark = loaded.run.preprocessing["method"] != "photos"
    fill = right.radio(tr("Patch colour"), list(fills), index=0 if dark else 1, horizontal=True,
                       format_func=tr, key="probe-fill",
                       help=tr("Black is the background of digits: covering erases. Grey is "
                               "the usual choice for photos."))  # fmt: skip
    result = _occlusion(*_key(loaded), image, patch, fills[fill], calibrated(loaded))
    name = class_names[result.target]
    top, left_px, drop = result.worst
    cover, cam = st.columns(2)
    with cover:
        st.markdown(_covering_title(fill).format(name=name))
        st.plotly_chart(pf.occlusion_figure(image, result, name), key="probe-occlusion")
        st.caption(
            tr(
                "Red: covering there costs '{name}' probability; blue: it helps. Worst place: "
                "rows {top}-{bottom}, columns {left}-{right} ({before} → {after})."
            ).format(
                name=name, top=top, bottom=top + result.patch - 1, left=left_px,
                right=left_px + result.patch - 1, before=i18n.percent(result.probability, 1),
                after=i18n.percent(result.probability - drop, 1),
            )
        )  # fmt: skip
    with cam:
        st.markdown(
            tr("**Grad-CAM**: where the last conv layer's gradients point for '{name}'").format(
                name=name
            )
        )
        if gradcam.gradcam is None:
            st.info(tr(gradcam.gradcam_reason))  # a catalog sentence, kept in English
        else:
            alt = describe.heatmap(
                gradcam.gradcam, tr("Grad-CAM map for '{name}'").format(name=name)
            )
            st.image(pictures.gradcam_overlay(image, gradcam.gradcam, 300), width=300, alt=alt)
            st.caption(tr("Red: the feature maps that raise this answer most are active there."))
    st.caption(
        tr(
            "Two ways of asking where the model looks. Covering is an experiment: it shows what "
            "the answer depends on. Grad-CAM reads the gradients of the last conv layer: it "
            "shows what that layer reacts to. They often disagree; about what the answer "
            "needs, believe the experiment."
        )
    )


def _covering_title(fill: str) -> str:
    """The occlusion map's heading for a patch colour (one whole sentence per colour)."""
    titles = {
        "black": N_("**Covering it**: how much of '{name}' is lost under a black patch"),
        "grey": N_("**Covering it**: how much of '{name}' is lost under a grey patch"),
        "white": N_("**Covering it**: how much of '{name}' is lost under a white patch"),
    }
    return tr(titles[fill])


def _dataset(loaded):
    """The run's dataset on this machine, or an info box and None."""
    record = loaded.run.record
    try:
        return loaders.load_dataset(record.dataset.key, record.config.data)
    except datasets.DatasetError as err:
        st.info(
            tr("The training images of this model are not on this computer: {error}").format(
                error=err
            )
        )
        return None


def nearest_ui(loaded, image: np.ndarray) -> None:
    """The nearest training images and the map of test images with the input on it."""
    data = _dataset(loaded)
    if data is None:
        return
    class_names = loaded.class_names
    pool_size = min(len(data.train), embedding.TRAIN_POOL)
    with st.spinner(tr("Finding where {n} training images lie inside the model (once per "
                       "model; kept on disk)...").format(n=i18n.number(pool_size))):  # fmt: skip
        pool = _embedded(*_key(loaded), data.source, "train", embedding.TRAIN_POOL, loaded, data)
    feature, _ = loaded.inspector.predict_with_features(image[None])
    k = st.slider(tr("Neighbours"), 3, 24, 8, key="probe-k")
    found = embedding.nearest(pool, feature[0], k)
    st.markdown(tr("**The training images the model finds most alike** (nearest first)"))
    st.image(
        [pictures.framed(data.train.image(n.index), NEIGHBOURS_PX) for n in found],
        caption=[f"{class_names[n.label]} · {i18n.number(n.distance, 2)}" for n in found],
        width=NEIGHBOURS_PX,
        alt=[
            tr("Training image {rank} nearest to your input, of the class {name}.").format(
                rank=rank, name=class_names[n.label]
            )
            for rank, n in enumerate(found, start=1)
        ],
    )
    st.caption(
        tr(
            "Under each: its true class · its distance from your input, measured between the "
            "{n} numbers the last hidden layer gives each image (what the output layer reads). "
            "Searched: {source}."
        ).format(n=feature.shape[1], source=pool.source_words())
    )

    st.markdown(tr("**A map of what it learned**: test images placed by those numbers"))
    names = {"pca": N_("PCA (instant)"),
             "tsne": N_("t-SNE (clearer groups; about half a minute, once)")}  # fmt: skip
    method = st.radio(tr("Map"), list(names), format_func=lambda m: tr(names[m]),
                      horizontal=True, key="probe-map")  # fmt: skip
    with st.spinner(tr("Placing the test images on the map (once per model; t-SNE takes about "
                       "half a minute)...")):  # fmt: skip
        test = _embedded(*_key(loaded), data.source, "test", embedding.MAP_POINTS, loaded, data)
        projection = _projection(*_key(loaded), data.source, method, test)
        thumbnails = _thumbnails(*_key(loaded), data.source, test)
    chart = pf.embedding_map(projection.points, test.labels, test.predicted, class_names,
                             thumbnails, projection.place(feature[0]), method.upper())  # fmt: skip
    st.altair_chart(chart, key="probe-map-chart")
    text = tr(
        "Each dot is one test image, coloured by its true class; hover for the picture. Dots "
        "of another colour inside a group are images the model mixes up. Shown: {source}."
    ).format(source=test.source_words())
    if projection.explained:
        share = i18n.percent(projection.explained)
        text = joined(text, tr("The two axes keep {share} of the spread.").format(share=share))
    st.caption(text)


def _goal_ui(column, before: np.ndarray, class_names) -> int | None:
    """The attack's goal: away from the answer (None), or a class to make it say."""
    answer = int(before.argmax())
    # away from the answer first; then the classes by probability (the easiest targets first)
    targets = [None, *[int(c) for c in np.argsort(before)[::-1] if c != answer]]
    return column.selectbox(
        tr("Goal"),
        targets,
        format_func=lambda c: tr("any answer but '{name}'").format(name=class_names[answer])
        if c is None else tr("make it say '{name}'").format(name=class_names[c]),
        key=f"probe-goal-{answer}",
    )  # fmt: skip


def _smallest_change_ui(column, epsilon: float) -> None:
    """The smallest epsilon that fools the model, in brightness steps too."""
    steps = epsilon * 255
    shown = i18n.number(steps, 1 if steps < 10 else 0)  # short: the badge is one line
    column.metric(tr("Smallest change that works"), f"ε = {i18n.number(epsilon, 4)}",
                  tr("up to {steps} of 255 brightness steps per pixel").format(steps=shown),
                  delta_color="off", delta_arrow="off")  # fmt: skip
    if steps < 1:
        column.caption(tr("Less than one step: a picture saved with 256 brightness levels "
                          "could not even hold this change."))  # fmt: skip


def attack_ui(loaded, image: np.ndarray) -> None:
    """FGSM or PGD: the smallest change that fools the model, and an epsilon slider."""
    class_names = loaded.class_names
    methods = {"fgsm": N_("One step (FGSM)"), "pgd": N_("A few steps (PGD)")}
    left, right = st.columns(2)
    method = left.radio(tr("Attack"), list(methods), format_func=lambda m: tr(methods[m]),
                        horizontal=True, key="probe-attack")  # fmt: skip
    shown = calibrated(loaded)
    before = shown.probabilities(image[None])[0]
    answer = int(before.argmax())
    target = _goal_ui(right, before, class_names)
    attacker = _attacker(*_key(loaded), shown)
    found = _attack(*_key(loaded), image, method, target, attacker)
    if found.epsilon is None:
        st.warning(
            tr(
                "No change up to epsilon 1 did it: try the other attack or another goal "
                "(one step toward a chosen class often overshoots it)."
            )
        )
        return
    smallest, slider = st.columns([1, 2])
    _smallest_change_ui(smallest, found.epsilon)
    epsilon = slider.slider(
        tr("Try an epsilon (the most any pixel may change, 0-1)"),
        0.0,
        min(1.0, max(0.01, 4 * found.epsilon)),
        float(found.epsilon),
        format="%.4f",
        key=f"probe-eps-{method}-{target}-{found.epsilon:.6f}",
    )
    sign = 1.0 if target is None else -1.0
    label = answer if target is None else target
    perturbed = attacker.perturb(image, np.array([epsilon]), label, sign, method)[0]
    after = shown.probabilities(perturbed[None])[0]
    new = int(after.argmax())
    original, change, fooled = st.columns(3)
    yours = tr("yours: {name} {share}").format(
        name=class_names[answer], share=i18n.percent(before[answer], 1)
    )
    original.image(
        pictures.framed(image, ADVERSARIAL_PX),
        caption=yours,
        alt=tr("Your input; the model says {name}.").format(name=class_names[answer]),
    )
    magnified = i18n.number(round(1 / (2 * max(epsilon, 1e-6))))
    difference = perturbed - image
    change.image(
        pf.perturbation_image(difference, epsilon, ADVERSARIAL_PX),
        caption=tr("the change, magnified {times}x").format(times=magnified),
        alt=describe.heatmap(np.abs(difference).mean(axis=-1), tr("The change the attack made")),
    )
    changed = tr("changed: {name} {share}").format(
        name=class_names[new], share=i18n.percent(after[new], 1)
    )
    fooled.image(
        pictures.framed(perturbed, ADVERSARIAL_PX),
        caption=changed,
        alt=tr("The changed input; the model says {name}.").format(name=class_names[new]),
    )
    st.plotly_chart(pf.attack_chart(found, class_names), key="probe-attack-chart")
    why = tr(
        "The model does not see a shape as you do: its answer is a sum of many small votes, "
        "each pixel times a learned weight. The attack moves every one of the {n} pixels by at "
        "most ε, each in exactly the direction that pushes the votes toward another answer. "
        "Every nudge is small, but they all push the same way at once, so the sum moves a lot. "
        "You look for strokes and shapes; the model adds up pixel patterns, and a sum can be "
        "steered."
    ).format(n=i18n.number(image.size))
    st.info(joined(change_words(attack.change_size(image, perturbed)), why))
