"""A class on one server: some students start a Quick training while the others draw.

`streamlit run app.py` (offline, CNN_OFFLINE=1, a temporary runs folder, the trainings'
MNIST from CNN_DATA_DIR) and one headless Chromium with one context (a Streamlit session)
per student, driven together from one asyncio loop:

1. the sessions open the app OPEN_GAP_S apart: the trainers on Train (MNIST, the Quick preset as
   the page opens it), the drawers on /predict?source=Draw (the shipped MNIST run);
2. after one warm-up drawing each (not counted), the drawers draw official MNIST test
   digits with the mouse (digit_strokes.py), one after another: Clear, draw, wait for the
   app to settle, look at the answer for THINK_S; the first --baseline-s seconds nobody
   trains;
3. then the trainers press "Start training", one every --spread-s / trainers seconds, and
   watch their page until it shows the "Test accuracy" banner; the drawers go on drawing
   until the last training has finished.

It reports each training's wait in the queue (Start -> the page's "State: running"; the
page polls its job once a second, so to about a second), its finish (Start -> the banner),
the page's first queue estimate beside the real wait, the drawings' stroke -> Prediction
times without and during the trainings (as bench_latency.py measures them, in the page's
own clock), and the server's memory: the resident memory of the `streamlit` process and
its descendants sampled every SAMPLE_S (read from /proc, as psutil would: psutil is not a
dependency of the project) and the process's VmHWM (the kernel's own peak) at the end.

How many trainings run at once is the server's CNN_MAX_TRAININGS (cnn/training/jobs.py,
default 1, read each time a job asks for a slot); --max-trainings sets it for the server.
--train-in thread,process runs the whole class twice, one after the other on fresh servers:
trainings in the server's own process, then in child processes at a lower priority
(CNN_TRAIN_IN=process, cnn/training/process_backend.py), and prints the two side by side.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:bench python bench/bench_class.py \
        --sessions 30 --trainers 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from bench_latency import (
    INSTRUMENT_JS,
    MARK_JS,
    QUIET_MS,
    SNAPSHOT_JS,
    NeverIdle,
    NoRun,
    first_at_or_after,
    percentiles,
    stroke_timing,
    tail,
)
from digit_strokes import strokes

from cnn.settings import MAX_TRAININGS_ENV, TRAIN_IN_ENV
from tests.helpers import (
    CANVAS_HIT_TEST,
    CHROMIUM,
    CHROMIUM_ARGS,
    drag_strokes_async,
    streamlit_server,
)

SEED = 3
VIEWPORT = {"width": 1280, "height": 720}
OPEN_S = 300  # every session opening at once on 2 cores
OPEN_GAP_S = 0.5  # the students open the app one after another, this far apart
WAIT_S = 120  # a drawing's answer
THINK_S = 1.0  # a student looks at the answer before clearing
SAMPLE_S = 0.5  # memory sampling period
BUDGET_MB = 2500  # 2.5 GB
NO_RUN_S = 60  # a drawing that started no script run after this long is lost (under load)
POLL_S = 0.25  # how often a drawer reads its page's log (the times come from the page)
DONE = re.compile(r"Test accuracy: ([\d.]+)%.*?\((\d+) s in all\)")
ESTIMATE = re.compile(r"number (\d+) in line(?:, so about (\d+) s to go)?")


# Under load the browser can take a whole run's messages in one go, and React then never
# shows the "running" script state (bench_latency's sign of a run). So this page also logs,
# from the app's websocket, when the server says a run started or stopped
# (session_status_changed, ForwardMsg field 9, script_is_running field 2) and when a script
# finished (script_finished, field 6): [time, "status", true/false], [time, "finished", code].
MESSAGES_JS = """(() => {
  const now = () => performance.timeOrigin + performance.now();
  const scan = (buffer) => {
    const b = new Uint8Array(buffer);
    let i = 0;
    const varint = () => {
      let x = 0, shift = 0, c;
      do { c = b[i++]; x += (c & 0x7f) * 2 ** shift; shift += 7; } while (c & 0x80);
      return x;
    };
    const skip = (wire) => {
      if (wire === 0) varint(); else if (wire === 1) i += 8; else if (wire === 5) i += 4;
      else if (wire === 2) { const n = varint(); i += n; } else i = b.length;
    };
    while (i < b.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (field === 6 && wire === 0) return ['finished', varint()];
      if (field === 9 && wire === 2) {
        const end = varint() + i;
        let running = false;
        while (i < end) {
          const k = varint();
          if (Math.floor(k / 8) === 2 && k % 8 === 0) running = varint() !== 0; else skip(k % 8);
        }
        return ['status', running];
      }
      skip(wire);
    }
    return null;
  };
  const Watched = window.WebSocket;
  window.WebSocket = class extends Watched {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        const found = scan(event.data);
        if (found) window.__lab.log.push([now(), ...found]);
      });
    }
  };
})()"""


def run_over(snap: dict, since: float) -> float | None:
    """When the run asked for at `since` was over: the later of the script state turning
    notRunning and the last script_finished message, once nothing has changed for QUIET_MS
    (and the state is notRunning); None before. bench_latency.idle_after, which sees only
    the script state, misses the runs React never showed as running."""
    log = snap["log"]
    changes = [e for e in log if e[1] in ("state", "status", "finished")]
    ended = [e[0] for e in changes if e[0] >= since and e[1] != "status"]
    if not ended or snap["last"].get("state") != "notRunning":
        return None
    if snap["now"] - changes[-1][0] < QUIET_MS:
        return None
    return max(ended)


@dataclass
class Drawer:
    samples: list[dict] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # drawings that started no script run


@dataclass
class Trainer:
    index: int
    click: float | None = None  # epoch ms, the page's clock
    running: float | None = None
    done: float | None = None
    estimate: str | None = None  # the first queue message
    # every queue message: (epoch ms of the run that showed it, place in line, "about N s")
    estimates: list[tuple[float, int, int | None]] = field(default_factory=list)
    banner: str | None = None
    job: str | None = None  # the sidebar's "Your training: ..."


# --- memory of the server's process tree, from /proc ----------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += parents.get(found[-1], [])
    return found


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    return sum(status_kb(p, "VmRSS") for p in descendants(pid)) / 1024


def lower_browsers_once(server: int, nice: int) -> None:
    """Give this bench's own processes other than the server's tree (Playwright's driver,
    Chromium and its renderers) the priority `nice`."""
    serving = set(descendants(server))
    for pid in descendants(os.getpid())[1:]:
        if pid in serving:
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) < nice:
                os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError:  # gone already
            pass


async def lower_browsers(server: int, nice: int, stop: asyncio.Event) -> None:
    """`lower_browsers_once` every second (a new context starts new renderers)."""
    while not stop.is_set():
        lower_browsers_once(server, nice)
        await asyncio.sleep(1.0)


async def sample_memory(pid: int, peak: dict, begin: float, stop: asyncio.Event) -> None:
    """Keep the server tree's largest resident memory (and when) in `peak` until `stop`."""
    while not stop.is_set():
        mb = tree_rss_mb(pid)
        if mb > peak["mb"]:
            peak.update(mb=mb, at=time.monotonic() - begin)
        await asyncio.sleep(SAMPLE_S)


async def report_progress(trainers: list, drawers: list, pid: int, started: float) -> None:
    """Every 30 s until cancelled: trainings done, drawings so far, the server's memory."""
    while True:
        await asyncio.sleep(30)
        done = sum(t.done is not None for t in trainers)
        drawn = sum(len(d.samples) for d in drawers)
        print(f"  +{time.monotonic() - started:.0f} s: {done}/{len(trainers)} trainings done, "
              f"{drawn} drawings, server {tree_rss_mb(pid):,.0f} MB, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


async def run_trainings(train, sessions: list, args, drawers: list, pid: int) -> list[Trainer]:
    """Each session presses Start (`train(session, trainer, delay, limit_s)`), one every
    --spread-s / trainers s, with a progress line every 30 s; returns when all have ended."""
    trainers = [Trainer(i) for i in range(len(sessions))]
    gap = args.spread_s / max(1, len(sessions))
    reporter = asyncio.create_task(report_progress(trainers, drawers, pid, time.monotonic()))
    await asyncio.gather(
        *(
            train(s, t, i * gap, args.max_seconds)
            for i, (s, t) in enumerate(zip(sessions, trainers, strict=True))
        )
    )
    reporter.cancel()
    return trainers


# --- a session ---------------------------------------------------------------------------------


async def settle(page, mark: int, inputs: int = 1, kind: str = "click", timeout_s=WAIT_S):
    """Poll the page's log from `mark` every POLL_S until the run the `inputs`-th event of
    `kind` asked for is over (`run_over`). Returns (that event's time, when the run was over,
    the log slice). Raises NoRun when no run started NO_RUN_S after the input (page clock)."""
    started = time.monotonic()
    while True:
        snap = await page.evaluate(SNAPSHOT_JS, mark)
        events = [(0.0, None)] + [(e[0], e[2]) for e in snap["log"] if e[1] == kind]
        if len(events) > inputs:
            since, received = events[inputs]
            over = run_over(snap, since)
            if over is not None:
                return since, over, snap
            quiet = not any(t >= since and k in ("state", "status", "finished")
                            for t, k, _ in snap["log"])  # fmt: skip
            if inputs and quiet and snap["now"] - since > NO_RUN_S * 1000:
                raise NoRun(
                    f"no script run {NO_RUN_S} s after the {kind} ("
                    f"{snap['last']['ws-in'] - received} messages received since): {tail(snap)}"
                )
        if time.monotonic() - started > timeout_s:
            raise NeverIdle(f"no idle app {timeout_s:.0f} s after the {kind}: {tail(snap)}")
        await asyncio.sleep(POLL_S)


async def click_clear(page) -> None:
    """Click the page's Clear button once there is one (a rerun can show the stale and the
    new one together for a moment)."""
    clear = page.get_by_role("button", name="Clear", exact=True)
    for _ in range(100):
        if await clear.count() == 1:
            break
        await asyncio.sleep(0.1)
    await clear.click()


async def open_session(browser, url: str, path: str, delay: float):
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(INSTRUMENT_JS)
    await context.add_init_script(MESSAGES_JS)
    page = await context.new_page()
    await page.goto(f"{url}/{path}", timeout=OPEN_S * 1000)
    await settle(page, 0, inputs=0, timeout_s=OPEN_S)
    return page


async def canvas_box(page) -> dict:
    """bench_latency.canvas_box, for the async API."""
    canvas = page.locator("canvas.drawing-canvas").first
    for _ in range(300):
        box = await canvas.bounding_box()
        centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2] if box else None
        if centre and await page.evaluate(CANVAS_HIT_TEST, centre):
            return box
        await asyncio.sleep(0.1)
    raise NeverIdle("the canvas never came under the pointer")


async def draw_once(page, label: str, paths) -> dict:
    mark = await page.evaluate(MARK_JS)
    await click_clear(page)
    await settle(page, mark)
    box = await canvas_box(page)
    mark = await page.evaluate(MARK_JS)
    await drag_strokes_async(page, box, paths, steps=4)
    up, idle, snap = await settle(page, mark, inputs=len(paths), kind="pointerup")
    unseen = not any(k == "state" and t >= up for t, k, _ in snap["log"])  # React showed none
    timing = stroke_timing(snap, up, idle)
    return {**timing, "up": up, "right": snap["last"]["metric"] == label, "unseen": unseen}


async def drawer_loop(
    page,
    drawer: Drawer,
    digits,
    offset: int,
    stop: asyncio.Event,
    pace: tuple[float, float],
    draw=draw_once,
) -> None:
    """Draw digits one after another until `stop`. With `pace` (low, high seconds), a drawing
    starts every uniform(low, high) s after the one before it started, as a student draws
    (the issue: a drawing every 5-10 s); (0, 0): THINK_S after each answer. `draw`
    (default `draw_once`, a Chromium page) draws one digit on `page`."""
    from playwright.async_api import Error as PlaywrightError

    n = offset
    rng = np.random.default_rng(offset)
    while not stop.is_set():
        started = time.monotonic()
        label, paths = digits[n % len(digits)]
        n += 1
        try:
            drawer.samples.append(await draw(page, label, paths))
        except NoRun as err:
            drawer.lost.append(str(err)[:400])
        except (NeverIdle, PlaywrightError) as err:  # a timeout, or the page lost its way
            drawer.timeouts.append(f"{type(err).__name__}: {str(err).splitlines()[0][:150]}")
        if pace[1] > 0:
            await asyncio.sleep(max(0.0, rng.uniform(*pace) - (time.monotonic() - started)))
        else:
            await asyncio.sleep(THINK_S)


async def train(page, trainer: Trainer, delay: float, limit_s: float) -> None:
    """Press Start after `delay` s, then watch the page until the banner (or `limit_s`)."""
    await asyncio.sleep(delay)
    mark = await page.evaluate(MARK_JS)
    await page.get_by_role("button", name="Start training").click()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        snap = await page.evaluate(SNAPSHOT_JS, mark)
        trainer.click = first_at_or_after(snap, "click", 0)
        for t, kind, value in snap["log"]:
            if kind != "train" or not value:
                continue
            if value.startswith("queued|") and trainer.estimate is None:
                trainer.estimate = value.split("|", 1)[1]
            if value.startswith("state|State: running") and trainer.running is None:
                trainer.running = t
            if value.startswith("done|") and trainer.done is None:
                trainer.done, trainer.banner = t, value.split("|", 1)[1]
        trainer.job = snap["last"].get("job")
        if trainer.done or (trainer.job and re.search(r"stopped|failed", trainer.job)):
            return


async def class_session(args, url: str, pid: int, digits) -> dict:
    from playwright.async_api import async_playwright

    drawers_n = args.sessions - args.trainers
    peak = {"mb": tree_rss_mb(pid), "at": 0.0}
    memory = {"server up": peak["mb"]}
    begin = time.monotonic()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stop_memory = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(pid, peak, begin, stop_memory))
        lowering = None
        if args.browser_nice:
            lowering = asyncio.create_task(lower_browsers(pid, args.browser_nice, stop_memory))
        paths = ["train"] * args.trainers + ["predict?source=Draw"] * drawers_n
        pages = await asyncio.gather(
            *(open_session(browser, url, path, i * OPEN_GAP_S) for i, path in enumerate(paths))
        )
        trainer_pages, drawer_pages = pages[: args.trainers], pages[args.trainers :]
        opened = time.monotonic() - begin
        memory["all open"] = tree_rss_mb(pid)
        setup = {}
        if trainer_pages:
            for name in ("Dataset", "Architecture"):
                box = trainer_pages[0].get_by_role("combobox", name=name, exact=True)
                setup[name] = await box.input_value()
        if drawer_pages:
            box = drawer_pages[0].get_by_role("combobox", name="Model", exact=True)
            setup["Predict model"] = await box.input_value()
        print(f"{args.sessions} sessions open after {opened:.0f} s; {setup}", flush=True)

        warmups = await asyncio.gather(  # the model's first calls compile: not counted
            *(draw_once(p, *digits[-1 - i]) for i, p in enumerate(drawer_pages)),
            return_exceptions=True,
        )
        warmed = time.monotonic() - begin - opened
        failed = [f"{type(w).__name__}: {str(w).splitlines()[0][:150]}" for w in warmups
                  if isinstance(w, Exception)]  # fmt: skip
        print(f"warm-up drawing on each Predict: {warmed:.0f} s, {len(failed)} failed"
              + "".join(f"\n  {f}" for f in failed), flush=True)  # fmt: skip
        drawers = [Drawer() for _ in drawer_pages]
        stop_drawing = asyncio.Event()
        drawing = [
            asyncio.create_task(drawer_loop(p, d, digits, 17 * i, stop_drawing, args.pace))
            for i, (p, d) in enumerate(zip(drawer_pages, drawers, strict=True))
        ]
        baseline_start = time.time() * 1000
        await asyncio.sleep(args.baseline_s)
        trainers = await run_trainings(train, trainer_pages, args, drawers, pid)
        memory["trainings over"] = tree_rss_mb(pid)
        await stop_class(stop_drawing, drawing, stop_memory, sampler, lowering)
        tracebacks = 0
        for page in pages:
            tracebacks += await page.evaluate("() => window.__lab.last.exceptions || 0")
        await browser.close()
    memory["end"] = tree_rss_mb(pid)
    return {
        "opened": opened,
        "setup": setup,
        "drawers": drawers,
        "trainers": trainers,
        "baseline_start": baseline_start,
        "peak": peak,
        "memory": memory,
        "hwm_mb": status_kb(pid, "VmHWM") / 1024,
        "tracebacks": tracebacks,
    }


async def stop_class(stop_drawing, drawing: list, stop_memory, sampler, lowering) -> None:
    """Stop the drawers and wait for them, then the memory sampler and the browsers' renicing."""
    stop_drawing.set()
    await asyncio.gather(*drawing)
    stop_memory.set()
    await sampler
    if lowering is not None:
        await lowering


def fmt(values: list[float], unit: str = "ms") -> str:
    if not values:
        return "none"
    p50, p95, top = percentiles(values)
    if unit == "s":
        return f"p50 {p50:.1f} s, p95 {p95:.1f} s, max {top:.1f} s (n={len(values)})"
    return f"p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, max {top:,.0f} ms (n={len(values)})"


def training_span(trainers: list[Trainer]) -> tuple[list[Trainer], float, float]:
    """The trainings that showed their banner, the first Start and the last banner (epoch ms;
    inf when there was none)."""
    clicks = [t.click for t in trainers if t.click]
    finished = [t for t in trainers if t.done]
    first_click = min(clicks) if clicks else float("inf")
    return finished, first_click, max((t.done for t in finished), default=float("inf"))


def print_estimates(trainers: list[Trainer]) -> None:
    """What each waiting student was told against what happened: the first message's "about
    N s" beside the wait that followed it (to the page's running state), and how far the
    start time the later messages promised moved (steady: a few seconds)."""
    print("queue estimates (first message: told / real wait from it / error; promised start "
          "moved by):")  # fmt: skip
    errors = []
    for t in trainers:
        told = [(at, place, about) for at, place, about in t.estimates if about is not None]
        if not told or not t.running:
            continue
        at, place, about = told[0]
        real = (t.running - at) / 1000
        error = (about - real) / real if real > 0 else float("nan")
        errors.append(abs(error))
        promised = [a / 1000 + s for a, _, s in told]
        print(f"  {t.index + 1:>2}  #{place} about {about:>4} s  real {real:6.1f} s  "
              f"{error:+6.0%}  moved {max(promised) - min(promised):5.1f} s over "
              f"{len(told)} messages")  # fmt: skip
    if errors:
        print(f"  largest first-message error {max(errors):.0%}; within 30%: "
              f"{sum(e <= 0.3 for e in errors)}/{len(errors)}")  # fmt: skip


def print_training_times(trainers: list[Trainer], running: str) -> list[float]:
    """The queue waits (Start -> the page's `running` state), the finishes and the last one;
    returns the waits in seconds."""
    finished, first_click, last_done = training_span(trainers)
    waits = [(t.running - t.click) / 1000 for t in trainers if t.running and t.click]
    ends = [(t.done - t.click) / 1000 for t in finished if t.click]
    print(f"queue wait (Start -> {running}): {fmt(waits, 's')}")
    print(f"finish (Start -> Test accuracy): {fmt(ends, 's')}")
    if finished:
        print(f"last training finished {(last_done - first_click) / 1000:.1f} s after the "
              f"first Start")  # fmt: skip
    return waits


def report(args, result: dict, slots: str, server_tracebacks: int) -> dict:
    """Print one class's figures; returns the ones compared between --train-in modes."""
    trainers: list[Trainer] = result["trainers"]
    finished, first_click, last_done = training_span(trainers)
    print(f"\nclass: {args.sessions} sessions ({args.trainers} training, "
          f"{args.sessions - args.trainers} drawing) on one server; {slots}")  # fmt: skip
    print(f"sessions open ({OPEN_GAP_S} s apart) after {result['opened']:.0f} s; {result['setup']}")
    print(f"trainings: Quick preset on MNIST, Start pressed over {args.spread_s:.0f} s; "
          f"{len(finished)}/{len(trainers)} showed Test accuracy")  # fmt: skip
    print("  #  Start at  first queue message                      queue wait  finish  banner")
    for t in trainers:
        at = (t.click - first_click) / 1000 if t.click else float("nan")
        wait = (t.running - t.click) / 1000 if t.running and t.click else float("nan")
        done = (t.done - t.click) / 1000 if t.done and t.click else float("nan")
        estimate = ESTIMATE.search(t.estimate or "")
        guess = (
            f"#{estimate[1]} in line, 'about {estimate[2]} s'"
            if estimate and estimate[2]
            else (f"#{estimate[1]} in line" if estimate else "(none: started at once)")
        )
        banner = DONE.search(t.banner or "")
        end = f"{banner[1]}%, {banner[2]} s in all" if banner else (t.job or "no banner")
        print(f" {t.index + 1:>2}  {at:>6.1f} s  {guess:<40} {wait:>8.1f} s {done:>6.1f} s  "
              f"{end}")  # fmt: skip
    waits = print_training_times(trainers, "running")

    samples = [s for d in result["drawers"] for s in d.samples]
    baseline = [s for s in samples if s["up"] < first_click]
    during = [s for s in samples if first_click <= s["up"] <= last_done]
    after = [s for s in samples if s["up"] > last_done]
    baseline_s = (first_click - result["baseline_start"]) / 1000
    for name, group in (
        (f"no training ({baseline_s:.0f} s)", baseline),
        ("during the trainings", during),
        ("after the last training", after),
    ):
        right, unseen = sum(s["right"] for s in group), sum(s["unseen"] for s in group)
        print(f"drawings {name}: {len(group)}, read right {right}; runs the page never showed "
              f"as running (seen in the websocket only): {unseen}")  # fmt: skip
        print(f"  stroke -> Prediction shown: {fmt([s['shown_ms'] for s in group])}")
        print(f"  stroke -> app idle:         {fmt([s['idle_ms'] for s in group])}")
    timeouts = [t for d in result["drawers"] for t in d.timeouts]
    print(f"drawing timeouts: {len(timeouts)}" + "".join(f"\n  {t}" for t in timeouts[:10]))
    lost = [t for d in result["drawers"] for t in d.lost]
    print(f"drawings (or their Clear) that started no script run within {NO_RUN_S} s: "
          f"{len(lost)}" + "".join(f"\n  {t}" for t in lost[:10]))  # fmt: skip
    print(f"tracebacks: {result['tracebacks']} on the pages, {server_tracebacks} in the server log")
    print_memory(result)
    peak = result["peak"]
    shown = [s["shown_ms"] for s in during]
    return {
        "drawing p50 during (ms)": percentiles(shown)[0] if shown else float("nan"),
        "drawing p95 during (ms)": percentiles(shown)[1] if shown else float("nan"),
        "queue wait p50 (s)": percentiles(waits)[0] if waits else float("nan"),
        "last finish (s)": (last_done - first_click) / 1000 if finished else float("nan"),
        "peak RSS (MB)": max(peak["mb"], result["hwm_mb"]),
    }


def print_memory(result: dict) -> None:
    """The server's memory at each step of the class, and its peak against the budget."""
    peak = result["peak"]
    print("server RSS (MB, streamlit and its children): "
          + ", ".join(f"{k} {v:,.0f}" for k, v in result["memory"].items()))  # fmt: skip
    verdict = "within" if max(peak["mb"], result["hwm_mb"]) <= BUDGET_MB else "OVER"
    print(f"server peak RSS: sampled {peak['mb']:,.0f} MB (at +{peak['at']:.0f} s), VmHWM "
          f"{result['hwm_mb']:,.0f} MB: {verdict} the {BUDGET_MB:,} MB budget")  # fmt: skip


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def test_digits(n: int = 300) -> list[tuple[str, list]]:
    """`n` official MNIST test digits (a fixed draw) as (label, pen strokes on the canvas)."""
    from cnn import datasets

    test = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(test), n, replace=False)
    return [(str(int(test.labels[i])), strokes(test.image(int(i))[..., 0], rng)) for i in picks]


def print_side_by_side(figures: dict[str, dict[str, float]]) -> None:
    """With two classes (two modes), each figure of both and their ratio."""
    if len(figures) != 2:
        return
    first, second = figures
    print(f"\nside by side (same class, one run after the other): {first} | {second} | "
          f"{second}/{first}")  # fmt: skip
    for name in figures[first]:
        a, b = figures[first][name], figures[second].get(name, float("nan"))
        print(f"  {name}: {a:,.1f} | {b:,.1f} | {b / a:.2f}")


def print_tracebacks(log: Path) -> int:
    """Print each traceback in the server's log (what went wrong, not just how often);
    returns how many there were."""
    parts = log.read_text(errors="replace").split("Traceback")[1:]
    for part in parts:
        print("server log traceback:\nTraceback" + "\n".join(part.splitlines()[:40]))
    return len(parts)


def class_options(doc: str, baseline_s: float, pace: str, browser_nice: int):
    """The options both class benchmarks take, with their own defaults."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="students")
    parser.add_argument("--trainers", type=int, default=10, help="of them, who train")
    parser.add_argument("--baseline-s", type=float, default=baseline_s, help="drawing before Start")
    parser.add_argument("--spread-s", type=float, default=10, help="Start presses spread over")
    parser.add_argument("--max-seconds", type=float, default=900, help="a training's limit")
    parser.add_argument("--max-trainings", type=int, help=f"set {MAX_TRAININGS_ENV} for the server")
    parser.add_argument("--train-in", default="thread", help="thread, process or thread,process")
    parser.add_argument("--pace", default=pace,
                        help="LOW,HIGH: a drawing starts every LOW-HIGH s (the issue: 5,10); "
                        f"0,0: the next one {THINK_S} s after each answer")  # fmt: skip
    parser.add_argument("--browser-nice", type=int, default=browser_nice,
                        help="run Chromium at this nice level, so that on one machine the "
                        "server comes first, as it would with the browsers on the students' "
                        "own computers")  # fmt: skip
    return parser


def main() -> None:
    args = class_options(__doc__, baseline_s=45, pace="0,0", browser_nice=0).parse_args()
    args.pace = tuple(float(x) for x in args.pace.split(","))
    digits = test_digits()
    figures = {mode: one_class(args, digits, mode) for mode in args.train_in.split(",")}
    print_side_by_side(figures)


def serve_class(args, digits, mode: str, session, report_class, more_env=None) -> dict:
    """One class played by `session(args, url, pid, digits)` on a fresh server, trainings in
    `mode` ("thread" or "process"), then `report_class(args, result, slots, tracebacks)`;
    returns the report's figures."""
    with tempfile.TemporaryDirectory(prefix="cnn-class-") as tmp:
        env = {**os.environ, "CNN_RUNS_DIR": tmp, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
               TRAIN_IN_ENV: mode, **(more_env or {})}  # fmt: skip
        if args.max_trainings:
            env[MAX_TRAININGS_ENV] = str(args.max_trainings)
        setting = env.get(MAX_TRAININGS_ENV)
        slots = (
            f"{MAX_TRAININGS_ENV}={setting}"
            if setting
            else f"{MAX_TRAININGS_ENV} unset: 1 training at a time"
        )
        print(f"{slots}; load average at start: {load_average()}", flush=True)
        log = Path(tmp) / "server.log"
        with streamlit_server(env, log) as app:
            result = asyncio.run(session(args, app.url, app.pid, digits))
        figures = report_class(args, result, slots, print_tracebacks(log))
        runs = [p.name for p in Path(tmp).iterdir() if p.is_dir() and not p.name.startswith(".")]
        print(f"run folders saved: {len(runs)}; load average at end: {load_average()}")
    return figures


def one_class(args, digits, mode: str) -> dict:
    """One class of Chromium pages on a fresh server, trainings in `mode`."""
    print(f"\n=== trainings in a {mode} ===", flush=True)
    figures = serve_class(args, digits, mode, class_session, report)
    pace = (
        f"a drawing every {args.pace[0]:g}-{args.pace[1]:g} s"
        if args.pace[1]
        else (f"think time {THINK_S} s")
    )
    print(f"(quiet period that defines idle: {QUIET_MS} ms; {pace}; browsers at nice "
          f"{args.browser_nice})")  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
