"""Streamlit rerun cost: the Predict page with a model and a drawing, and the Data page, vs a
trivial page (AppTest).

The app is opened with AppTest on the Predict page, the newest shipped MNIST run active and an
official MNIST test digit, enlarged to the 280x280 canvas, injected as the canvas value (as
the drawing canvas would send it). Then 30 reruns of that page and 30 of a one-line page are timed,
interleaved, in the same process (so Keras is loaded for both and Streamlit's after-run
clean-up, see ../shared/DESIGN.md, is paid by both). The difference is the app's own cost.
The Data page (the first dataset, MNIST) is timed in the same loop two ways: a plain rerun,
and a click on "Other samples" (new images in the grid), as a student browsing does.
Targets: Predict and Data reruns under 100 ms (median).

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_reruns.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnn import artifacts, datasets
from tests import helpers
from ui import state

ROOT = Path(__file__).resolve().parents[1]
RERUNS = 30
CANVAS = 280  # the Predict page's canvas side in pixels
TRIVIAL_PAGE = "import streamlit as st\nst.write('hello')\n"


def canvas_value() -> dict:
    """An official test digit drawn white on black at canvas size, as the canvas returns it."""
    digit = datasets.load("mnist").test.images[0, :, :, 0]
    big = cv2.resize(digit, (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    return helpers.canvas_value(np.asarray(Image.fromarray(big).convert("RGBA")))


def timed_run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"The page raised: {at.exception[0].message}")
    return seconds


def main() -> None:
    runs = [r for r in artifacts.list_runs([artifacts.shipped_dir()]) if r.ok]
    mnist = [r for r in runs if r.record.dataset.key == "mnist"]
    if not mnist:
        raise SystemExit("No MNIST run in artifacts/: train one first.")
    predict = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    predict.session_state[state.ACTIVE_RUN] = str(mnist[0].path)
    predict.switch_page("app_pages/predict.py")
    predict.session_state[state.CANVAS_KEY] = canvas_value()
    data = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    data.switch_page("app_pages/data.py")
    trivial = AppTest.from_string(TRIVIAL_PAGE, default_timeout=120)
    for _ in range(3):  # warm-up: model load, Inspector build, first compiled calls
        timed_run(predict)
        timed_run(data)
        timed_run(trivial)
    if not predict.metric or predict.metric[0].label != "Prediction":
        raise SystemExit("The Predict page showed no prediction for the drawing.")
    times: dict[str, list[float]] = {"predict": [], "data": [], "data, Other samples": [],
                                     "trivial": []}  # fmt: skip
    for _ in range(RERUNS):
        times["predict"].append(timed_run(predict))
        times["data"].append(timed_run(data))
        other = next(b for b in data.button if b.label == "Other samples")
        other.click()
        times["data, Other samples"].append(timed_run(data))
        times["trivial"].append(timed_run(trivial))
    print(f"{mnist[0].path.name}, {RERUNS} reruns each, interleaved")
    for name, seconds in times.items():
        print(
            f"  {name:<20} median {statistics.median(seconds) * 1000:7.1f} ms  "
            f"max {max(seconds) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
