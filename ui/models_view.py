"""The Models page's views: comparing runs, naming one, where it goes wrong, how it learned,
how honest its confidence is, its layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cnn import architectures, artifacts
from cnn.artifacts import RunInfo
from ui import arch_diagram, charts, glossary, loaders, pictures, presenter, state

GALLERY_COLUMNS = 8  # kept images per row
MAX_FIGURES = 32  # built figures and kept-image galleries remembered per server
CELL = "confusion-cell"  # session key: the chosen (true, predicted) cell
CELL_WIDGET = "confusion"  # the chart's widget key (a new generation clears its selection)


def record_stamp(info: RunInfo) -> tuple[int, int] | None:
    """The stamp of a run's run.json: part of the key of everything built from its record."""
    return loaders.file_stamp(info.path / artifacts.RECORD_FILE)


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _record_figure(chart: str, path: str, stamp: tuple | None, cell: tuple | None) -> Any:
    """A figure drawn from one run's run.json alone, built once per (run.json, chart, cell):
    building Plotly figures was most of the Models page's rerun time."""
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
    return _record_figure(chart, str(info.path), record_stamp(info), cell)


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _curves_figure(runs: tuple[tuple[str, str, tuple | None], ...]) -> Any:
    """The training curves of (title, path, run.json stamp) runs, built once per choice."""
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
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


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
                "kind": "shipped"
                if info.shipped
                else "yours"
                if str(info.path) in state.session_runs()
                else "user",
                "error": info.error or "",
                "run": info.name,  # the folder: a run's unique id
            }
        )
    return pd.DataFrame(rows)


def runs_table_ui(runs: list[RunInfo]) -> None:
    """The runs table; its first six columns fit 1280x720 uncut."""
    column = st.column_config
    st.dataframe(
        runs_table(runs),
        hide_index=True,
        width="stretch",
        column_config={
            "name": column.TextColumn("name", width=240),
            "accuracy": column.ProgressColumn(
                "test accuracy", format="percent", min_value=0, max_value=1, width=120
            ),
            "epochs": column.NumberColumn("epochs", width=70),
            "time": column.TextColumn("trained for", width=90),
            "saved": column.TextColumn("saved", width=100),
            "params": column.NumberColumn("parameters", format="localized", width=100),
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
        "Runs to compare", good, default=compare_default(good), format_func=lambda r: r.title
    )
    if compared:
        chosen = tuple((r.title, str(r.path), record_stamp(r)) for r in compared)
        st.plotly_chart(_curves_figure(chosen))
    glossary.explain_ui("overfitting")


def name_ui(info: RunInfo) -> None:
    """A name for one of this session's runs (shipped and others' runs are read-only)."""
    if str(info.path) not in state.session_runs():
        return
    name_col, save_col = st.columns([4, 1], vertical_alignment="bottom")
    title = name_col.text_input(
        "Name this run",
        info.record.title,
        max_chars=artifacts.MAX_TITLE,
        placeholder="e.g. no augmentation, 3 epochs",
    )
    if save_col.button("Save name", width="stretch") and title != info.record.title:
        try:
            artifacts.rename_run(info.path, title)
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
        f"Besides the labels, this model learned from what {names} answered for every "
        f"training image ({config.distill:.0%} of its target: knowledge distillation). "
        "Its training loss stays higher than a run's without teachers: a target shared "
        "between classes cannot be met exactly, so the loss cannot reach 0."
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
        st.info("This run has no test results.")
        return
    cell = _chosen_cell(names)
    matrix, per_class = st.columns([3, 2])
    with matrix:
        mirrored = (
            " It answered each test image after reading it and its mirror image (test-time "
            "augmentation), as Predict does."
            if info.record.config.mirror
            else ""
        )
        st.caption(
            "Click a cell: rows are the true class, columns what the model answered." + mirrored
        )
        st.plotly_chart(
            record_figure(info, "confusion", cell),
            on_select="rerun",
            selection_mode="points",
            key=f"{CELL_WIDGET}-{state.generation(CELL)}",
        )
    per_class.plotly_chart(record_figure(info, "per-class"))
    gallery_ui(info, names, cell)


def gallery_ui(info: RunInfo, names: list[str], cell: tuple[str, str] | None) -> None:
    side = presenter.px(80)
    stamp = loaders.file_stamp(info.path / artifacts.ERRORS_FILE)
    kept = _kept_images(str(info.path), stamp, side)
    if kept is None or not len(kept["true"]):
        st.info("This run kept no test images.")
        return
    true, predicted = kept["true"], kept["predicted"]
    if cell is None:
        chosen = np.flatnonzero(true != predicted)
        what = "Mistakes on the test images"
    else:
        chosen = np.flatnonzero(
            (true == names.index(cell[0])) & (predicted == names.index(cell[1]))
        )
        what = f"True **{cell[0]}**, answered **{cell[1]}**"
    head, reset = st.columns([4, 1], vertical_alignment="center")
    head.markdown(f"{what}: {kept_words(len(chosen), count_in(info, cell))}")
    if cell is not None and reset.button("Show all mistakes", icon=":material/close:"):
        state.next_generation(CELL)
        st.rerun()
    for start in range(0, len(chosen), GALLERY_COLUMNS):
        for column, i in zip(
            st.columns(GALLERY_COLUMNS), chosen[start : start + GALLERY_COLUMNS], strict=False
        ):
            column.image(kept["framed"][i], width=side)
            column.caption(f"{names[true[i]]}<br>→ {names[predicted[i]]}", unsafe_allow_html=True)


def count_in(info: RunInfo, cell: tuple[str, str] | None) -> int:
    """How many test images the model got wrong, or fell in the chosen cell."""
    confusion = np.array(info.record.test.confusion)
    names = info.record.class_names
    if cell is None:
        return int(confusion.sum() - np.trace(confusion))
    return int(confusion[names.index(cell[0]), names.index(cell[1])])


def kept_words(shown: int, total: int) -> str:
    """How many of the test images in question are shown, as a sentence."""
    if total == 0:
        return "none."
    if shown >= total:
        return f"all {total} are shown below." if total > 1 else "it is shown below."
    return f"{total:,} in all; the run kept {shown} of them, shown below."


def timelapse_ui(info: RunInfo) -> None:
    lapse = loaders.load_timelapse(info.path)
    if lapse is None or info.record.timelapse is None:
        st.info("This run was trained without a time-lapse. Runs trained now record one.")
        return
    probes = info.record.timelapse.probes
    probe_col, layer_col = st.columns(2)
    probe = probe_col.selectbox(
        "Follow the input", range(len(probes)), format_func=lambda i: probes[i]["label"]
    )
    layer = layer_col.selectbox("Feature maps of", list(lapse.maps)) if lapse.maps else None
    name = probes[probe]["label"]
    # "a 7", but "a test image of 'cats'" (class names are often plural or long)
    label = f"a {name}" if len(name) == 1 else f"a test image of '{name}'"
    label = "your drawing" if probes[probe]["class"] < 0 else label
    figure = loaders.timelapse_figure(
        str(info.path), probe, layer, label, lapse, tuple(info.record.class_names)
    )
    st.plotly_chart(figure, key="timelapse")
    st.caption(
        f"{len(lapse)} snapshots, a few in the first epoch (when most of the learning happens), "
        "then one per epoch. Press Play, or drag the slider."
    )


def confidence_ui(info: RunInfo) -> None:
    """The reliability diagram before and after calibration, and the unfamiliar-input flag."""
    cal, check = info.record.calibration, info.record.ood
    if cal is None:
        st.info(
            "This run was not calibrated (it was trained before calibration existed, or "
            "without validation images)."
        )
    else:
        chart, words = st.columns([3, 2])
        chart.plotly_chart(record_figure(info, "reliability"))
        words.metric("Calibration error before", f"{cal.ece_before:.1%}")
        words.metric(f"after (temperature {cal.temperature:.2f})", f"{cal.ece_after:.1%}")
        words.caption(
            f"Fitted on {cal.fitted_on}; measured on the test split (15 bins). The bars "
            "count the test images in each bin: a point made of a handful of images wobbles "
            "by chance."
        )
        with words:
            glossary.explain_ui("calibration")
    if check is not None:
        caught = (
            f"flags **{check.detection:.0%}** of {check.n_foreign:,} {check.foreign} images"
            if check.detection is not None
            else "was not measured on a foreign dataset"
        )
        st.markdown(
            f"**Unlike its training data?** The flag is raised on {check.false_alarm:.0%} of "
            f"its own test images and {caught}."
        )


def layer_table_ui(info: RunInfo) -> None:
    """A run's layers in numbers (from its spec: no model is loaded)."""
    record = info.record
    if record.spec is None:
        st.info("This run's record holds no architecture description.")
        return
    layers = record.spec.shapes(tuple(record.input_shape), len(record.class_names))
    st.plotly_chart(record_figure(info, "architecture"), key="run-architecture")
    st.dataframe(architectures.summary_rows(layers), hide_index=True, width="stretch")
