"""Official MNIST test digits drawn with the mouse on the Predict page, in a real browser.

Each digit becomes pen strokes (its skeleton, traced: digit_strokes.py) 120-250 px tall at a
random place, and is dragged with the mouse onto the canvas of `streamlit run app.py` in
headless Chromium, with the page's own stroke-width slider set to each width of 8-40 px in
turn (a fifth of the digits each). After the last stroke the bench waits for the answer and
reads the Prediction metric. It reports the share read right per width and in all, and what was
misread. Predict is opened on the run with a lesson link (`?run=NAME&lock=1`).

Needs the real MNIST test set (CNN_DATA_DIR), Debian's chromium and PyPI playwright.

    CNN_DATA_DIR=../shared/data PYTHONPATH=.:bench \
        python bench/bench_drawn_browser.py RUN_DIR --n 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_latency import canvas_box
from digit_strokes import STROKE_WIDTHS, strokes
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from cnn import datasets
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, drag_strokes, streamlit_server

SEED = 1
METRIC = '[data-testid="stMetric"]'
RUNNING = '[data-testid="stStatusWidgetRunningIcon"]'
ANSWER_S = 60  # a drawing with no Prediction after this long counts as unread (None)
IDLE_S = 0.6  # the app counts as done once no run has been in progress for this long


def wait_idle(page, timeout_s: float = 60) -> None:
    """Until no script run has been in progress for IDLE_S seconds."""
    deadline, quiet_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if page.locator(RUNNING).count():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= IDLE_S:
            return
        page.wait_for_timeout(50)
    raise TimeoutError("the app never became idle")


def set_stroke(page, width: int) -> None:
    """Move the page's stroke-width slider to `width` with the keyboard, as a student could."""
    slider = (
        page.locator('[data-testid="stSlider"]').filter(has_text="Stroke").get_by_role("slider")
    )
    slider.focus()
    slider.press("Home")  # 5 px
    for _ in range(width - 5):
        slider.press("ArrowRight")
    wait_idle(page)


def draw_digit(page, paths: list[list[tuple[int, int]]]) -> str | None:
    """Clear, drag every stroke, wait for the app; the Prediction shown (None: none shown)."""
    page.get_by_role("button", name="Clear", exact=True).click()
    page.locator(METRIC).first.wait_for(state="detached", timeout=60_000)
    wait_idle(page)  # Clear gives the canvas a new key: draw on the new one, not the old
    box = canvas_box(page)
    drag_strokes(page, box, paths)
    metric = page.locator(METRIC).filter(has_text="Prediction")
    try:  # the first answers can take a while (the model loads; a training may share the CPU)
        metric.first.wait_for(timeout=ANSWER_S * 1000)
    except PlaywrightTimeout:
        return None
    wait_idle(page)  # the answer to the last stroke, not to the first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an MNIST run folder (shipped or yours)")
    parser.add_argument("--n", type=int, default=200, help="digits (shared out over the widths)")
    parser.add_argument("--widths", type=int, nargs="+", default=list(STROKE_WIDTHS))
    parser.add_argument("--shots", help="a folder for a screenshot of each misread digit")
    args = parser.parse_args()
    run = Path(args.run).resolve()
    test = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(test), args.n, replace=False)
    runs_dir = tempfile.mkdtemp(prefix="drawn-browser-runs-")
    if run.parent.name != "artifacts":  # a copy: the server lists no symlinked run folders
        shutil.copytree(run, Path(runs_dir) / run.name)
    env = {**os.environ, "CNN_RUNS_DIR": runs_dir, "CNN_OFFLINE": "1"}
    right: dict[int, list[int]] = {w: [] for w in args.widths}
    misread = []
    with streamlit_server(env, Path(runs_dir) / "server.log") as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{app.url}/predict?run={run.name}&source=Draw&lock=1")
        page.locator("canvas.drawing-canvas").first.wait_for(timeout=180_000)
        wait_idle(page)
        if page.get_by_text("is not on this server").count():
            raise SystemExit(f"The server does not list {run.name}: nothing measured.")
        done = 0
        for width, group in zip(args.widths, np.array_split(picks, len(args.widths)), strict=True):
            set_stroke(page, width)  # a fifth of the digits at each width
            for i in group:
                label = str(int(test.labels[i]))
                read = draw_digit(page, strokes(test.image(int(i))[..., 0], rng))
                right[width].append(int(read == label))
                if read != label:
                    misread.append(f"{label}->{read}@{width}")
                    if args.shots:
                        Path(args.shots).mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=f"{args.shots}/{i}-{label}-{read}-{width}px.png")
                done += 1
                print(f"\r{done}/{args.n} digits", end="", flush=True)
        browser.close()
    print(f"\nrun: {run.name}   digits drawn with the mouse: {args.n}")
    for width, oks in right.items():
        print(f"stroke width {width:>2} px: {np.mean(oks):.1%} of {len(oks)}")
    print(f"all widths: {np.mean([o for oks in right.values() for o in oks]):.2%}")
    print(f"misread: {' '.join(misread)}")


if __name__ == "__main__":
    main()
