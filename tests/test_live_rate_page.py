"""The Train page's learning-rate control while a training runs (issue 31 §4), in AppTest: the
box and Apply now appear, the rate reaches the job, the live chart marks where it changed,
and so do the finished run's curves on Models. A real tiny training in the test's process.
"""

from __future__ import annotations

import json
import time

from helpers import TIMEOUT_S, open_page, start_tiny_training

from ui import charts

MARK = "lr → 0.002"


def marks(at, contains: str) -> list[str]:
    """The annotation texts of the page's Plotly charts whose spec mentions `contains`."""
    texts = []
    for chart in at.get("plotly_chart"):
        if contains in chart.proto.spec:
            layout = json.loads(chart.proto.spec)["layout"]
            texts += [a.get("text", "") for a in layout.get("annotations", [])]
    return texts


def rerun_until(at, job, found) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not found():
        shown = [e.value for e in at.error]
        assert time.monotonic() < deadline and not job.done, (job.state, job.error, shown)
        time.sleep(0.2)
        at.run()
        assert not at.exception


def rate_box(at):
    return next((w for w in at.number_input if str(w.key or "").startswith("live-lr")), None)


def test_the_rate_changes_from_the_train_page_and_the_charts_mark_it(offline):
    at = open_page("app_pages/train.py")
    job = start_tiny_training(at, max_samples=600, epochs=50)
    rerun_until(at, job, lambda: rate_box(at) is not None)
    assert any("how big a step" in c.value for c in at.caption)  # said in words
    rate_box(at).set_value(0.0)  # refused with the setting's sentence, never a traceback
    next(b for b in at.button if b.label == "Apply now").click().run()
    assert any("is out of range" in e.value for e in at.error)
    rate_box(at).set_value(0.002)
    next(b for b in at.button if b.label == "Apply now").click().run()
    assert not any("is out of range" in e.value for e in at.error)
    rerun_until(at, job, lambda: MARK in marks(at, "Accuracy"))
    assert marks(at, "Accuracy").count(MARK) == 2  # on the loss and on the accuracy
    assert any("In use now: **0.002**" in m.value for m in at.markdown)

    next(b for b in at.button if b.label == "Stop").click().run()
    job.join(TIMEOUT_S)
    at.run()
    assert job.state == "stopped", job.error
    assert rate_box(at) is None and MARK in marks(at, "Accuracy")  # the end keeps the mark
    (change,) = job.result.history["lr_changes"]
    assert change["lr"] == 0.002
    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    assert MARK in marks(at, "Accuracy")  # the saved run's curves, from run.json


def test_run_curves_mark_each_runs_changes_in_its_colour():
    history = {"loss": [2.0, 1.0], "accuracy": [0.3, 0.6],
               "lr_changes": [{"epoch": 2, "batch": 3, "step": 13, "epochs_done": 1.2,
                               "lr": 0.0005}]}  # fmt: skip
    fig = charts.run_curves({"a": history, "b": {"loss": [1.0]}})
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.x0 for s in lines] == [1.2, 1.2]  # loss and accuracy
    assert {a.text for a in fig.layout.annotations} >= {"lr → 0.0005"}
    assert lines[0].line.color == fig.data[0].line.color  # run "a"'s colour
