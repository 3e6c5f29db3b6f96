"""Soak: many simulated students drawing and predicting on one local server (not a test).

Starts `streamlit run app.py` on 127.0.0.1 (a free port, CNN_OFFLINE=1, an empty data folder,
a temporary runs folder), then opens N sessions in headless Chromium (one browser, one
context per student). Each opens Predict and, until the time is up or it has done
`--loops` rounds, draws a digit with the mouse, waits for the Prediction metric, clears the
canvas and waits for the metric to go. It reports:

- predictions served (a Prediction metric seen after a drawing), per session and per second;
- errors: tracebacks on the page (target: none) and timeouts (target: none);
- the server's resident memory (VmRSS of the `streamlit` process) when it is up, once every
  session shows Predict, at every tenth of the drawing time and at the end (target: flat
  after warm-up).

Before each stroke a session waits until the canvas is under the pointer: after Clear the
canvas component is mounted anew and for a moment is not there, and a stroke drawn then
only selects page text (as it would for a student; the bench counts those rounds).

Predict uses the first listed run: the shipped MNIST run when artifacts/ has one, else a
TinyVGG run trained here first (about 20 s). Only localhost is used.

Needs the Debian `chromium` package and PyPI `playwright` (never `playwright install`).
Run from the repository root:

    PYTHONPATH=. python bench/bench_soak.py                     # 8 sessions, 120 s
    PYTHONPATH=. python bench/bench_soak.py --sessions 4 --seconds 45
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import (
    CANVAS_HIT_TEST,
    CHROMIUM,
    CHROMIUM_ARGS,
    drag_strokes_async,
    streamlit_server,
)

PAGE_S = 180  # Predict opening (TensorFlow import, model load) with N sessions at once
PREDICTION_S = 60  # mouse up to the Prediction metric, with every session busy
STROKES = [  # canvas pixels (280 x 280): a "1" and a "7"
    [[(140, 50), (140, 230)]],
    [[(80, 60), (200, 60), (120, 230)]],
]
METRIC = '[data-testid="stMetric"]'
EXCEPTION = '[data-testid="stException"]'
RUNNING = '[data-testid="stStatusWidgetRunningIcon"]'  # shown while a script run is in progress
THINK_MS = 500  # a student looks at the empty canvas before drawing again
CANVAS_READY_TRIES = 300  # 100 ms apart: 30 s for the canvas to be where the pointer goes


@dataclass
class Student:
    """What one simulated session did."""

    predictions: int = 0
    tracebacks: int = 0
    timeouts: list[str] = field(default_factory=list)  # which wait ran out
    latencies: list[float] = field(default_factory=list)  # mouse up to Prediction, seconds
    canvas_waits: int = 0  # rounds whose canvas was not yet under the pointer at first look


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ensure_a_run(runs_dir: Path) -> None:
    """Train a tiny run into `runs_dir` unless a shipped run is there for Predict to use."""
    from cnn import artifacts

    if any(r.ok for r in artifacts.list_runs()):
        return
    from cnn.training import TrainConfig, train

    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=1000)
    result = train(config, out_dir=runs_dir)
    if result.state != "finished":
        sys.exit(f"could not train a run to predict with: {result.message}")


async def ready_canvas_box(page, student: Student) -> dict | None:
    """The canvas's box once the pointer at its centre would reach it (after Clear the canvas
    is mounted anew and, for a moment, is elsewhere or covered); None if it never is."""
    for attempt in range(CANVAS_READY_TRIES):
        box = await page.locator("canvas.drawing-canvas").first.bounding_box()
        if box is not None:
            centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
            if await page.evaluate(CANVAS_HIT_TEST, centre):
                student.canvas_waits += attempt > 0
                return box
        await page.wait_for_timeout(100)
    return None


async def draw(page, strokes, student: Student) -> bool:
    """Drag the mouse through each stroke's points on the drawing canvas; False if it never
    became reachable."""
    box = await ready_canvas_box(page, student)
    if box is None:
        return False
    await drag_strokes_async(page, box, strokes, steps=8)
    return True


async def open_predict(browser, url: str):
    """A new session (browser context) on Predict, once its canvas is there."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/predict")
    await page.locator("canvas.drawing-canvas").wait_for(timeout=PAGE_S * 1000)
    return page


async def one_round(page, strokes, student: Student) -> None:
    """Draw, wait for a Prediction (or a traceback), clear, wait for the metric to go."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    waiting_for = "the Prediction after drawing"
    try:
        if not await draw(page, strokes, student):
            student.timeouts.append("the canvas to be reachable")
            return
        drawn = time.monotonic()
        shown = page.locator(METRIC).or_(page.locator(EXCEPTION)).first
        await shown.wait_for(timeout=PREDICTION_S * 1000)
        if await page.locator(EXCEPTION).count():
            student.tracebacks += 1
        else:
            student.predictions += 1
            student.latencies.append(time.monotonic() - drawn)
        waiting_for = "the metric to go after Clear"
        await page.get_by_role("button", name="Clear").click()
        await page.locator(METRIC).first.wait_for(state="detached", timeout=PREDICTION_S * 1000)
        waiting_for = "the script run after Clear to end"
        await page.locator(RUNNING).wait_for(state="detached", timeout=PREDICTION_S * 1000)
        await page.wait_for_timeout(THINK_MS)
    except PlaywrightTimeout:
        student.timeouts.append(waiting_for)
        if os.environ.get("SOAK_SHOTS"):
            name = f"timeout-{id(student)}-{len(student.timeouts)}.png"
            await page.screenshot(path=str(Path(os.environ["SOAK_SHOTS"]) / name))


async def soak(url: str, pid: int, sessions: int, seconds: float, loops: int) -> None:
    from playwright.async_api import async_playwright

    memory = {"server up": rss_mb(pid)}
    students = [Student() for _ in range(sessions)]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        started = time.monotonic()
        pages = await asyncio.gather(*(open_predict(browser, url) for _ in range(sessions)))
        print(f"{sessions} sessions on Predict after {time.monotonic() - started:.0f} s")
        memory["all on Predict"] = rss_mb(pid)

        begin = time.monotonic()
        deadline = begin + seconds

        async def student_loop(index: int) -> None:
            for round_ in range(loops):
                if time.monotonic() > deadline:
                    return
                await one_round(pages[index], STROKES[(index + round_) % 2], students[index])

        async def sample_memory() -> None:  # ten samples over the run, to see the trend
            for tenth in range(1, 10):
                await asyncio.sleep(seconds / 10)
                memory[f"{tenth * 10}%"] = rss_mb(pid)

        await asyncio.gather(sample_memory(), *(student_loop(i) for i in range(sessions)))
        elapsed = time.monotonic() - begin
        memory["end"] = rss_mb(pid)
        await browser.close()

    served = sum(s.predictions for s in students)
    tracebacks = sum(s.tracebacks for s in students)
    timeouts = [t for s in students for t in s.timeouts]
    latencies = sorted(t for s in students for t in s.latencies) or [float("nan")]
    print(f"soak: {sessions} sessions, {elapsed:.0f} s of drawing")
    print(
        f"predictions served: {served} ({served / elapsed:.2f}/s), per session "
        f"{[s.predictions for s in students]}"
    )
    print(
        f"drawing -> Prediction: median {latencies[len(latencies) // 2]:.1f} s, "
        f"max {latencies[-1]:.1f} s"
    )
    print(
        f"errors: {tracebacks} tracebacks on the page, {len(timeouts)} timeouts "
        f"of {PREDICTION_S} s" + "".join(f"\n  waiting for {t}" for t in timeouts)
    )
    print(
        f"rounds that waited for the re-mounted canvas before drawing: "
        f"{sum(s.canvas_waits for s in students)}"
    )
    print("server RSS (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="simulated students")
    parser.add_argument("--seconds", type=float, default=120, help="drawing time per session")
    parser.add_argument("--loops", type=int, default=500, help="most rounds per session")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is not installed (apt-get install chromium)")

    with tempfile.TemporaryDirectory(prefix="cnn-soak-") as tmp:
        runs, data = Path(tmp) / "runs", Path(tmp) / "data"
        runs.mkdir()
        data.mkdir()
        env = {
            **os.environ,
            "CNN_OFFLINE": "1",
            "CNN_DATA_DIR": str(data),
            "CNN_RUNS_DIR": str(runs),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        os.environ.update(env)
        ensure_a_run(runs)
        log = Path(tmp) / "streamlit.log"
        with streamlit_server(env, log) as app:
            asyncio.run(soak(app.url, app.pid, args.sessions, args.seconds, args.loops))
            server_errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        print(f"tracebacks in the server log: {len(server_errors)}")


if __name__ == "__main__":
    main()
