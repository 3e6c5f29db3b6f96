"""What each kind of script run a class sends costs the server, one session at a time.

A `streamlit run app.py` (offline, an empty runs folder) and st_client sessions, one after
another, on an otherwise idle server:

- a drawer on /predict?source=Draw draws --drawings official MNIST test digits stroke by
  stroke (Clear, then each stroke as the canvas sends it), after 3 warm-up drawings;
- two trainers on Train press "Start training" (the Quick preset) 0.5 s apart, so that the
  second waits in line while the first trains; each page's progress fragment polls once a
  second, as the browser's `run_every` timer makes it.

Each run's time is from its `new_session` to its `script_finished` as the client received
them (the server's work for that run, websocket included). With --profile FILE, py-spy
samples every thread of the server while the drawer draws (raw collapsed stacks, 250 Hz), to
see where a Predict run's time goes (py-spy: `pip install py-spy`, not a project dependency).

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:bench python bench/bench_run_costs.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_class_clients import CANVAS, canvas_value, start_profiler, stop_profiler
from bench_latency import percentiles
from digit_strokes import strokes
from st_client import Run, Session

from tests.helpers import streamlit_server

WAIT_S = 120
WARM_UP = 3


def summary(runs: list[Run]) -> str:
    times = [(r.ended - r.started) * 1000 for r in runs if r.ended is not None]
    if not times:
        return "none"
    p50, p95, top = percentiles(times)
    return f"n={len(times)}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {top:.0f} ms"


async def drawer_costs(url: str, digits, pid: int, profile: str | None) -> None:
    session = Session(url, "predict", "source=Draw")
    await session.open(WAIT_S)
    clears, stroke_runs, rights = [], [], 0
    profiler = None
    for i, (label, paths) in enumerate(digits):
        if i == WARM_UP and profile:
            profiler = start_profiler(profile, pid, rate=250, gil=False)
            await asyncio.sleep(2)  # py-spy attaches
        sent = await session.press("Clear")
        run = await session.run_after(sent, WAIT_S)
        if i >= WARM_UP:
            clears.append(run)
        for k in range(1, len(paths) + 1):
            sent = await session.set_component(CANVAS, canvas_value(paths[:k]))
            run = await session.run_after(sent, WAIT_S)
            if i >= WARM_UP:
                stroke_runs.append(run)
        rights += i >= WARM_UP and run.metric("Prediction") == label
    stop_profiler(profiler)
    await session.close()
    drawn = len(digits) - WARM_UP
    print(f"Predict, Clear (the page with an empty canvas): {summary(clears)}")
    print(
        f"Predict, a stroke (preprocessing, the model, Grad-CAM, the maps): {summary(stroke_runs)}"
    )
    print(f"  {drawn} drawings, {len(stroke_runs) / drawn:.1f} strokes each, read right {rights}; "
          f"{stroke_runs[-1].images} images a run")  # fmt: skip


async def trainer_costs(url: str) -> None:
    first, second = Session(url, "train"), Session(url, "train")
    await first.open(WAIT_S)
    await second.open(WAIT_S)
    started = await first.press("Start training")
    await asyncio.sleep(0.5)
    queued = await second.press("Start training")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        if any("Test accuracy" in t for r in second.runs for t in r.texts()):
            break

    def polls(session: Session, since: float, text: str) -> list[Run]:
        return [r for r in session.runs if r.started > since and r.fragment
                and any(text in t for t in r.texts())]  # fmt: skip

    print(f"Train, a poll while waiting in line: {summary(polls(second, queued, 'in line'))}")
    print(f"Train, a poll while training (live curves): "
          f"{summary(polls(first, started, 'State: **running**'))}")  # fmt: skip
    full = [r for r in first.runs if not r.fragment and r.started > started]
    print(f"Train, full runs after Start (the press, the end): {summary(full)}")
    print(f"polling after the end: {len(first.auto) + len(second.auto)} timers left running")
    await first.close()
    await second.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=40)
    parser.add_argument("--profile", help="py-spy raw samples of the server while drawing")
    args = parser.parse_args()
    from cnn import datasets

    test = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(0)
    digits = [
        (str(int(test.labels[i])), strokes(test.image(i)[..., 0], rng))
        for i in range(args.drawings + WARM_UP)
    ]
    with tempfile.TemporaryDirectory(prefix="cnn-costs-") as tmp:
        env = {**os.environ, "CNN_RUNS_DIR": tmp, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        with streamlit_server(env, Path(tmp) / "server.log") as app:
            asyncio.run(drawer_costs(app.url, digits, app.pid, args.profile))
            asyncio.run(trainer_costs(app.url))
        tracebacks = (Path(tmp) / "server.log").read_text(errors="replace").count("Traceback")
    print(f"server log tracebacks: {tracebacks}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip


if __name__ == "__main__":
    main()
