"""The Models page's views: comparing runs, naming one, where it goes wrong, how it learned,
how honest its confidence is, its layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cnn import architectures, artifacts, describe, foreign, i18n, run_folders
from cnn.artifacts import RunInfo
from cnn.i18n import N_, tr, trn
from cnn.training.confidence import fitted_on_shown
from ui import a11y, arch_diagram, charts, glossary, loaders, pictures, presenter, state

GALLERY_COLUMNS = 8  # kept images per row
MAX_FIGURES = 32  # built figures and kept-image galleries remembered per server
CELL = "confusion-cell"  # session key: the chosen (true, predicted) cell
CELL_WIDGET = "confusion"  # the chart's widget key (a new generation clears its selection)
KINDS = {"shipped": N_("shipped"), "yours": N_("yours"), "user": N_("user")}  # a run's origin


def record_stamp(info: RunInfo) -> tuple[int, int] | None:
    """The stamp of a run's run.json: part of the key of everything built from its record."""
    return loaders.file_stamp(info.path / artifacts.RECORD_FILE)


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _record_figure(
    chart: str, path: str, stamp: tuple | None, cell: tuple | None, language: str
) -> Any:
    """A figure drawn from one run's run.json alone, built once per (run.json, chart, cell,
    language: its titles are in the reader's): building Plotly figures was most of the
    Models page's rerun time."""
    record = artifacts.read_run_info(path).record
    if chart == "confusion":
        return charts.confusion_heatmap(np.array(record.test.confusion), record.class_names, cell)
    if chart == "per-class":
        return charts.per_class_accuracy(record.test.per_class)
    if chart == "reliability":
        cal = record.calibration
        return charts.reliability_diagram(cal.reliability_before, cal.reliability_after)
    layers = record.spec.shapes(tuple(record.input_shape), len(record.class_names))
    return arch_diagram.architecture_diagram(layers)


def record_figure(info: RunInfo, chart: str, cell: tuple[str, str] | None = None) -> Any:
    """`_record_figure` for a listed run: "confusion" (with the chosen cell outlined),
    "per-class", "reliability" or "architecture"."""
    return _record_figure(chart, str(info.path), record_stamp(info), cell, i18n.language())


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _curves_figure(runs: tuple[tuple[str, str, tuple | None], ...], language: str) -> Any:
    """The training curves of (title, path, run.json stamp) runs, built once per choice and
    language (its axes are in the reader's)."""
    histories = {title: artifacts.read_run_info(path).record.history for title, path, _ in runs}
    return charts.run_curves(histories)


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _kept_images(path: str, stamp: tuple | None, side: int) -> dict[str, Any] | None:
    """A run's kept test images (errors.npz), framed at `side` pixels, read once per file."""
    kept = artifacts.load_errors(path)
    if kept is not None:
        kept["framed"] = [pictures.framed(image, side) for image in kept["images"]]
    return kept


def duration(seconds: float | None) -> str:
    """A training time in words: "45 s", "62 min", "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 90:
        return tr("{seconds} s").format(seconds=i18n.number(round(seconds)))
    return tr("{minutes} min").format(minutes=i18n.number(round(seconds / 60)))


def runs_table(runs: list[RunInfo]) -> pd.DataFrame:
    """One row per run: its name, how well, how long, when; broken runs' errors."""
    rows = []
    for info in runs:
        record = info.record
        rows.append(
            {
                "name": record.label if record else info.name,
                "accuracy": record.test.accuracy if record else None,
                "epochs": record.epochs_run if record else None,
                "time": duration(record.timings.seconds) if record else "",
                "saved": info.saved,
                "params": record.params if record else None,
                "dataset": record.dataset.key if record else "",
                "kind": tr(
                    KINDS[
                        "shipped"
                        if info.shipped
                        else "yours"
                        if str(info.path) in state.session_runs()
                        else "user"
                    ]
                ),
                "error": info.error or "",
                "run": info.name,  # the folder: a run's unique id
            }
        )
    return pd.DataFrame(rows)


def runs_table_ui(runs: list[RunInfo]) -> None:
    """The runs table; its first six columns fit 1280x720 uncut (in Spanish too)."""
    column = st.column_config
    st.dataframe(
        runs_table(runs),
        hide_index=True,
        width="stretch",
        column_config={
            "name": column.TextColumn(tr("name"), width=220),
            "accuracy": column.ProgressColumn(
                tr("test accuracy"), format="percent", min_value=0, max_value=1, width=150
            ),
            "epochs": column.NumberColumn(tr("epochs"), width=70),
            "time": column.TextColumn(tr("trained for"), width=90),
            "saved": column.TextColumn(tr("saved"), width=100),
            "params": column.NumberColumn(tr("parameters"), format="localized", width=100),
            "dataset": column.TextColumn(tr("dataset")),
            "kind": column.TextColumn(tr("kind")),
            "error": column.TextColumn(tr("error")),
            "run": column.TextColumn(tr("run")),
        },
    )


def compare_default(good: list[RunInfo]) -> list[RunInfo]:
    """Your newest run beside the shipped run of its dataset; with no run of your own, the
    active model's run alone (its training and validation curves), else the newest run."""
    mine = [r for r in good if str(r.path) in state.session_runs() or not r.shipped]
    if not mine:
        active = state.active_run()
        chosen = [r for r in good if active is not None and r.path.resolve() == active.resolve()]
        return chosen or good[:1]
    newest = max(mine, key=lambda r: r.created)
    shipped = next(
        (r for r in good if r.shipped and r.record.dataset.key == newest.record.dataset.key), None
    )
    return [newest] + ([shipped] if shipped else [])


def compare_ui(good: list[RunInfo]) -> None:
    compared = st.multiselect(
        tr("Runs to compare"), good, default=compare_default(good), format_func=lambda r: r.title
    )
    if compared:
        chosen = tuple((r.title, str(r.path), record_stamp(r)) for r in compared)
        st.plotly_chart(_curves_figure(chosen, i18n.language()))
        a11y.described_ui(" ".join(curves_words(compared)))
    glossary.explain_ui("overfitting")


def curves_words(runs: list[RunInfo]) -> list[str]:
    """The compared runs' validation accuracy curves (else their loss), in words."""
    said = []
    for info in runs:
        history = info.record.history or {}
        if history.get("val_accuracy"):
            name = tr("Validation accuracy of {run}").format(run=info.title)
            said.append(describe.curve(history["val_accuracy"], name, as_share=True))
        elif history.get("loss"):
            name = tr("Training loss of {run}").format(run=info.title)
            said.append(describe.curve(history["loss"], name))
    return said


def name_ui(info: RunInfo) -> None:
    """A name for one of this session's runs (shipped and others' runs are read-only)."""
    if str(info.path) not in state.session_runs():
        return
    name_col, save_col = st.columns([4, 1], vertical_alignment="bottom")
    title = name_col.text_input(
        tr("Name this run"),
        info.record.title,
        max_chars=artifacts.MAX_TITLE,
        placeholder=tr("e.g. no augmentation, 3 epochs"),
    )
    if save_col.button(tr("Save name"), width="stretch") and title != info.record.title:
        try:
            run_folders.rename_run(info.path, title)
        except artifacts.ArtifactError as err:
            st.error(str(err))
            return
        st.rerun()


def teachers_caption_ui(info: RunInfo) -> None:
    """Which trained runs a distilled run learned from, when it did."""
    config = info.record.config
    if not config.teachers:
        return
    names = ", ".join(f"`{Path(path).name}`" for path in config.teachers)
    st.caption(
        tr(
            "Besides the labels, this model learned from what {names} answered for every "
            "training image ({share} of its target: knowledge distillation). "
            "Its training loss stays higher than a run's without teachers: a target shared "
            "between classes cannot be met exactly, so the loss cannot reach 0."
        ).format(names=names, share=i18n.percent(config.distill))
    )


def _chosen_cell(names: list[str]) -> tuple[str, str] | None:
    event = st.session_state.get(f"{CELL_WIDGET}-{state.generation(CELL)}")
    points = event.selection.points if event else []
    return (points[0]["y"], points[0]["x"]) if points else None


def mistakes_ui(info: RunInfo) -> None:
    """Confusion matrix (click a cell), per-class accuracy, and the kept images of that cell."""
    names = info.record.class_names
    test = info.record.test
    if not test.confusion:
        st.info(tr("This run has no test results."))
        return
    cell = _chosen_cell(names)
    matrix, per_class = st.columns([3, 2])
    with matrix:
        if info.record.config.mirror:
            st.caption(
                tr(
                    "Click a cell: rows are the true class, columns what the model answered. "
                    "It answered each test image after reading it and its mirror image "
                    "(test-time augmentation), as Predict does."
                )
            )
        else:
            st.caption(
                tr("Click a cell: rows are the true class, columns what the model answered.")
            )
        st.plotly_chart(
            record_figure(info, "confusion", cell),
            on_select="rerun",
            selection_mode="points",
            key=f"{CELL_WIDGET}-{state.generation(CELL)}",
        )
        a11y.described_ui(describe.confusion(np.array(test.confusion), names))
    per_class.plotly_chart(record_figure(info, "per-class"))
    with per_class:
        a11y.described_ui(per_class_words(test.per_class))
    gallery_ui(info, names, cell)


def per_class_words(rows: list[dict]) -> str:
    """Per-class test accuracy in words, for screen readers."""
    parts = [
        tr("{name}: {accuracy}").format(
            name=row["name"],
            accuracy=tr("no images") if row["accuracy"] is None else i18n.percent(row["accuracy"]),
        )
        for row in rows
    ]
    return tr("Test accuracy per class: {classes}.").format(classes="; ".join(parts))


def kept_alt(true: str, answered: str, confidence: float | None) -> str:
    """A kept test image's text alternative: its true class, the answer and how sure."""
    if confidence is None:
        if true == answered:
            return tr("A test image of {true}; the model answered {answer} ✓").format(
                true=true, answer=answered
            )
        return tr("A test image of {true}; the model answered {answer} ✗").format(
            true=true, answer=answered
        )
    sure = i18n.percent(confidence)
    if true == answered:
        return tr(
            "A test image of {true}; the model answered {answer} ✓ ({confidence} sure)"
        ).format(true=true, answer=answered, confidence=sure)
    return tr("A test image of {true}; the model answered {answer} ✗ ({confidence} sure)").format(
        true=true, answer=answered, confidence=sure
    )


def gallery_ui(info: RunInfo, names: list[str], cell: tuple[str, str] | None) -> None:
    side = presenter.px(80)
    stamp = loaders.file_stamp(info.path / artifacts.ERRORS_FILE)
    kept = _kept_images(str(info.path), stamp, side)
    if kept is None or not len(kept["true"]):
        st.info(tr("This run kept no test images."))
        return
    true, predicted = kept["true"], kept["predicted"]
    sure = kept.get("confidence")
    if cell is None:
        chosen = np.flatnonzero(true != predicted)
    else:
        chosen = np.flatnonzero(
            (true == names.index(cell[0])) & (predicted == names.index(cell[1]))
        )
    head, reset = st.columns([4, 1], vertical_alignment="center")
    head.markdown(kept_words(len(chosen), count_in(info, cell), cell))
    if cell is not None and reset.button(tr("Show all mistakes"), icon=":material/close:"):
        state.next_generation(CELL)
        st.rerun()
    for start in range(0, len(chosen), GALLERY_COLUMNS):
        for column, i in zip(
            st.columns(GALLERY_COLUMNS), chosen[start : start + GALLERY_COLUMNS], strict=False
        ):
            said, answered = names[true[i]], names[predicted[i]]
            confidence = None if sure is None else float(sure[i])
            column.image(kept["framed"][i], width=side, alt=kept_alt(said, answered, confidence))
            mark = "✓" if true[i] == predicted[i] else "✗"
            column.caption(f"{said}<br>→ {answered} {mark}", unsafe_allow_html=True)


def count_in(info: RunInfo, cell: tuple[str, str] | None) -> int:
    """How many test images the model got wrong, or fell in the chosen cell."""
    confusion = np.array(info.record.test.confusion)
    names = info.record.class_names
    if cell is None:
        return int(confusion.sum() - np.trace(confusion))
    return int(confusion[names.index(cell[0]), names.index(cell[1])])


def kept_words(shown: int, total: int, cell: tuple[str, str] | None = None) -> str:
    """How many of the test images in question (the mistakes, or the chosen cell's) are
    shown, as a sentence (one msgid per case: a translator sees the whole sentence)."""
    case = "none" if total == 0 else "all" if shown >= total else "some"
    if total == 1 and case == "all":
        case = "one"
    values = {"total": i18n.number(total), "shown": i18n.number(shown)}
    if cell is not None:
        values.update(true=cell[0], answer=cell[1])
    return tr(KEPT_WORDS[cell is not None][case]).format(**values)


KEPT_WORDS = {  # [a cell is chosen][how many are shown]
    False: {
        "none": N_("Mistakes on the test images: none."),
        "one": N_("Mistakes on the test images: it is shown below."),
        "all": N_("Mistakes on the test images: all {total} are shown below."),
        "some": N_(
            "Mistakes on the test images: {total} in all; the run kept {shown} of them, "
            "shown below."
        ),
    },
    True: {
        "none": N_("True **{true}**, answered **{answer}**: none."),
        "one": N_("True **{true}**, answered **{answer}**: it is shown below."),
        "all": N_("True **{true}**, answered **{answer}**: all {total} are shown below."),
        "some": N_(
            "True **{true}**, answered **{answer}**: {total} in all; the run kept {shown} of "
            "them, shown below."
        ),
    },
}


def timelapse_ui(info: RunInfo) -> None:
    lapse = loaders.load_timelapse(info.path)
    if lapse is None or info.record.timelapse is None:
        st.info(tr("This run was trained without a time-lapse. Runs trained now record one."))
        return
    probes = info.record.timelapse.probes
    probe_col, layer_col = st.columns(2)
    probe = probe_col.selectbox(
        tr("Follow the input"),
        range(len(probes)),
        format_func=lambda i: tr("your drawing") if probes[i]["class"] < 0 else probes[i]["label"],
    )
    layer = layer_col.selectbox(tr("Feature maps of"), list(lapse.maps)) if lapse.maps else None
    name = probes[probe]["label"]
    # "a 7", but "a test image of '{name}'" (class names are often plural or long)
    label = (
        tr("a {name}").format(name=name)
        if len(name) == 1
        else tr("a test image of '{name}'").format(name=name)
    )
    label = tr("your drawing") if probes[probe]["class"] < 0 else label
    figure = loaders.timelapse_figure(
        str(info.path), probe, layer, label, lapse, tuple(info.record.class_names)
    )
    epochs = lapse.frame_epochs
    shown = st.select_slider(  # arrow keys step through it: plotly's own slider takes no focus
        tr("Snapshot (arrow keys step through them)"),
        range(len(lapse)),
        format_func=lambda i: tr("epoch {epoch}").format(epoch=i18n.number(epochs[i])),
        key=f"timelapse-at-{info.path.name}",
    )
    from ui.timelapse import at_frame

    st.plotly_chart(at_frame(figure, shown) if shown else figure, key="timelapse")
    st.caption(
        trn(
            "{n} snapshot, a few in the first epoch (when most of the learning happens), "
            "then one per epoch. Press Play, or drag the slider.",
            "{n} snapshots, a few in the first epoch (when most of the learning happens), "
            "then one per epoch. Press Play, or drag the slider.",
            len(lapse),
        )
    )


def confidence_ui(info: RunInfo) -> None:
    """The reliability diagram before and after calibration, and the unfamiliar-input flag."""
    cal, check = info.record.calibration, info.record.ood
    if cal is None:
        st.info(
            tr(
                "This run was not calibrated (it was trained before calibration existed, or "
                "without validation images)."
            )
        )
    else:
        chart, words = st.columns([3, 2])
        chart.plotly_chart(record_figure(info, "reliability"))
        with chart:
            a11y.described_ui(
                tr(
                    "Reliability diagram: calibration error {before} before, {after} after "
                    "calibration."
                ).format(
                    before=i18n.percent(cal.ece_before, 1), after=i18n.percent(cal.ece_after, 1)
                )
            )
        words.metric(tr("Calibration error before"), i18n.percent(cal.ece_before, 1))
        words.metric(
            tr("after (temperature {temperature})").format(
                temperature=i18n.number(cal.temperature, 2)
            ),
            i18n.percent(cal.ece_after, 1),
        )
        words.caption(
            tr(
                "Fitted on {fitted_on}; measured on the test split (15 bins). The bars "
                "count the test images in each bin: a point made of a handful of images wobbles "
                "by chance."
            ).format(fitted_on=fitted_on_shown(cal.fitted_on))
        )
        with words:
            glossary.explain_ui("calibration")
    if check is not None:
        if check.detection is not None:
            said = tr(
                "**Unlike its training data?** The flag is raised on {false_alarm} of its own "
                "test images and flags **{detection}** of {n} unfamiliar inputs: {foreign}."
            ).format(
                false_alarm=i18n.percent(check.false_alarm),
                detection=i18n.percent(check.detection),
                n=i18n.number(check.n_foreign),
                foreign=foreign.said(check.foreign),
            )
        else:
            said = tr(
                "**Unlike its training data?** The flag is raised on {false_alarm} of its own "
                "test images and was not measured on a foreign dataset."
            ).format(false_alarm=i18n.percent(check.false_alarm))
        st.markdown(said)
        if check.score == "neighbours":
            st.caption(
                tr(
                    "The flag reads a second network that has seen over a million photos "
                    "(EfficientNet-Lite0, trained on ImageNet): it compares a picture with "
                    "the photos this model learnt from. The model itself is unchanged."
                )
            )


def layer_table_ui(info: RunInfo) -> None:
    """A run's layers in numbers (from its spec: no model is loaded)."""
    record = info.record
    if record.spec is None:
        st.info(tr("This run's record holds no architecture description."))
        return
    layers = record.spec.shapes(tuple(record.input_shape), len(record.class_names))
    st.plotly_chart(record_figure(info, "architecture"), key="run-architecture")
    rows = architectures.summary_rows(layers)
    headers = {key: tr(key) for key in (rows[0] if rows else {})}  # the keys are msgids (N_)
    st.dataframe(rows, hide_index=True, width="stretch", column_config=headers)
