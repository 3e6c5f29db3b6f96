"""What a student in front of a projector waits for, in headless Chromium (1280x720).

`streamlit run app.py` (offline, CNN_OFFLINE=1, a temporary runs folder; the shipped MNIST run
is the default digit model) and one browser session, which measures in turn:

(a) stroke -> prediction: on /predict?source=Draw an official MNIST test digit is drawn with
    the mouse (its skeleton traced into pen strokes, digit_strokes.py, as in
    bench_drawn_browser.py) after a Clear; from the last mouse-up to the Prediction metric
    showing its value, and to the app idle again. Target: p50 < 300 ms, p95 < 600 ms.
(b) page switch: a click on a sidebar link (Train, Predict, Models, Data, Look inside,
    Probe, Make a dataset, in rounds) until the new page's h1 is on the page, and until the
    app is idle. Target < 2 s.
(c) a Data page rerun: the "Other samples" button, and the "Samples per class" slider moved
    one step with the keyboard; until idle. The < 100 ms target is server-side; a browser
    sees the input -> idle time, and the script's run as the status messages frame it.

Every time is taken inside the page: an init script logs, with the page's clock, each
mouse-up, click and key press, and each change of the app's script-run state (the
`data-test-script-state` attribute of stApp, set on the status messages from the server),
of the Prediction metric's value and of the h1 text. "Idle" is the last change to
notRunning once nothing has changed for QUIET_MS. Python only polls the log, so its own
latency adds nothing to the figures. (Streamlit's running-man icon appears only after
500 ms of running, so it cannot show a short run.)

Needs the MNIST test set (CNN_DATA_DIR), Debian's chromium and PyPI playwright:

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:bench python bench/bench_latency.py
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from digit_strokes import strokes

from tests.helpers import (
    CANVAS_HIT_TEST,
    CHROMIUM,
    CHROMIUM_ARGS,
    drag_strokes,
    streamlit_server,
)

SEED = 2
PROJECTOR = {"width": 1280, "height": 720}
QUIET_MS = 800  # idle: no change for this long
PAGE_S = 180  # the first Predict (TensorFlow import, model load, XLA compile)
WAIT_S = 120  # any other wait
NO_RUN_S = 20  # an input with no script run after this long is lost (the bench does it again)
NAV = '[data-testid="stSidebarNav"]'
PAGES = ["Train", "Predict", "Models", "Data", "Look inside", "Probe", "Make a dataset"]
TARGETS = {  # measure -> (p50 limit ms, p95 limit ms); None: not a target
    "stroke -> Prediction shown": (300, 600),
    "page switch -> h1 and idle": (None, 2000),
}

# Logs, with the page's clock (ms since the epoch), every input and every change of what the
# benchmarks wait for. window.__lab.log: [time, kind, value]; window.__lab.last: kind -> value.
INSTRUMENT_JS = """(() => {
  if (window.__lab) return;
  const now = () => performance.timeOrigin + performance.now();
  const log = [], last = {};
  window.__lab = {log, last};
  const text = (el) => el ? el.textContent.trim() : null;
  const probes = {
    state: () => {
      const app = document.querySelector('[data-testid="stApp"]');
      return app ? app.getAttribute('data-test-script-state') : null;
    },
    metric: () => {
      for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        const label = text(m.querySelector('[data-testid="stMetricLabel"]')) || '';
        if (label.startsWith('Prediction'))
          return text(m.querySelector('[data-testid="stMetricValue"]'));
      }
      return null;
    },
    h1: () => text(document.querySelector('h1')),
    train: () => {
      for (const a of document.querySelectorAll('[data-testid="stAlert"]')) {
        const t = text(a);
        if (t.includes('Test accuracy')) return 'done|' + t;
        if (t.includes('Waiting for a free training slot')) return 'queued|' + t;
      }
      for (const c of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
        const t = text(c);
        if (t.startsWith('State:')) return 'state|' + t;
      }
      return null;
    },
    job: () => {
      const captions = '[data-testid="stSidebar"] [data-testid="stCaptionContainer"]';
      for (const c of document.querySelectorAll(captions)) {
        const t = text(c);
        if (t.startsWith('Your training:')) return t;
      }
      return null;
    },
    exceptions: () => document.querySelectorAll('[data-testid="stException"]').length,
  };
  const check = () => {
    const t = now();
    for (const [kind, probe] of Object.entries(probes)) {
      const value = probe();
      if (value !== last[kind]) { last[kind] = value; log.push([t, kind, value]); }
    }
  };
  const start = () => {
    new MutationObserver(check).observe(document.documentElement, {subtree: true,
      childList: true, characterData: true, attributes: true,
      attributeFilter: ['data-test-script-state']});
    check();
  };
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
  for (const kind of ['pointerup', 'click', 'keydown'])  // value: messages received so far
    addEventListener(kind, () => log.push([now(), kind, last['ws-in']]), true);
  // the app's websocket: every message sent is logged, those received are counted
  last['ws-in'] = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => { last['ws-in'] += 1; });
    }
    send(data) {
      log.push([now(), 'ws-out', data.byteLength ?? data.length ?? data.size]);
      super.send(data);
    }
  };
})()"""
SNAPSHOT_JS = """(mark) => ({log: window.__lab.log.slice(mark), last: window.__lab.last,
  now: performance.timeOrigin + performance.now()})"""
MARK_JS = "() => window.__lab.log.length"


class NeverIdle(TimeoutError):
    """The app did not go idle (or the awaited input never showed) in time."""


class NoRun(NeverIdle):
    """An input started no script run: the server never reported one as running."""


def idle_after(snap: dict, since: float, quiet_ms: float = QUIET_MS) -> float | None:
    """When the app went idle after `since` (ms), if it has stayed so for `quiet_ms`; else None.

    Needs a change of the script-run state after `since`: the run that input asked for.
    """
    states = [e for e in snap["log"] if e[1] == "state"]
    after = [e for e in states if e[0] >= since]
    if not after or snap["last"].get("state") != "notRunning":
        return None
    if snap["now"] - states[-1][0] < quiet_ms:
        return None
    return states[-1][0]


def tail(snap: dict, n: int = 12) -> str:
    """The last entries of a log slice, for an error message."""
    t0 = snap["log"][0][0] if snap["log"] else snap["now"]
    entries = [f"{t - t0:.0f} {k} {str(v)[:60]}" for t, k, v in snap["log"][-n:]]
    return f"now {snap['now'] - t0:.0f}; " + "; ".join(entries)


def settled(
    snap: dict, inputs: int, kind: str, waited_s: float, timeout_s: float, no_run_s=NO_RUN_S
):
    """(the input's time, idle time) once the app is idle after the `inputs`-th event of
    `kind` in the log slice; None while waiting. Raises NoRun when no run has started
    NO_RUN_S after that input, NeverIdle after `timeout_s`."""
    events = [(0.0, None)] + [(e[0], e[2]) for e in snap["log"] if e[1] == kind]  # 0: no input
    if len(events) > inputs:
        since, received = events[inputs]
        idle = idle_after(snap, since)
        if idle is not None:
            return since, idle
        if (
            inputs
            and waited_s > no_run_s
            and not any(k == "state" and t >= since for t, k, _ in snap["log"])
        ):
            raise NoRun(
                f"no script run {no_run_s} s after the {kind} ({snap['last']['ws-in'] - received}"
                f" messages received since): {tail(snap)}"
            )
    if waited_s > timeout_s:
        raise NeverIdle(f"no idle app {timeout_s:.0f} s after the {kind}: {tail(snap)}")
    return None


def settle(page, mark: int, inputs: int = 1, kind: str = "click", timeout_s: float = WAIT_S):
    """Poll the page's log from `mark` until the app is idle after the `inputs`-th event of
    `kind` (pointerup, click, keydown). Returns (that event's time, idle time, the log slice)."""
    started = time.monotonic()
    while True:
        snap = page.evaluate(SNAPSHOT_JS, mark)
        done = settled(snap, inputs, kind, time.monotonic() - started, timeout_s)
        if done is not None:
            return *done, snap
        page.wait_for_timeout(100)


def first_at_or_after(snap: dict, kind: str, since: float, value=None) -> float | None:
    """Time of the first `kind` entry at or after `since` (with `value`, if given)."""
    for t, k, v in snap["log"]:
        if k == kind and t >= since and (value is None or v == value):
            return t
    return None


def stroke_timing(snap: dict, up: float, idle: float) -> dict:
    """A drawing's figures from its log: last mouse-up -> value shown, -> idle, -> run starts."""
    value = snap["last"].get("metric")
    shown = first_at_or_after(snap, "metric", up, value) if value is not None else None
    running = first_at_or_after(snap, "state", up, "running")
    return {
        "value": value,
        "shown_ms": (shown if shown is not None else idle) - up,
        "unchanged": value is not None and shown is None,  # already showing: the idle time
        "idle_ms": idle - up,
        "to_run_ms": None if running is None else running - up,
        "run_ms": None if running is None else idle - running,
    }


def canvas_box(page) -> dict:
    """The canvas's box, once the pointer at its centre reaches it (it re-mounts after Clear).

    The pointer then goes straight to a drawing's first point: ui/canvas.py has nothing laid
    over the canvas. (streamlit-drawable-canvas's hidden toolbar caught a press over its
    top-right until the pointer had rested there 0.1-0.2 s, so this bench rested 300 ms.)"""
    canvas = page.locator("canvas.drawing-canvas").first
    for _ in range(300):
        box = canvas.bounding_box()
        centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2] if box else None
        if centre and page.evaluate(CANVAS_HIT_TEST, centre):
            return box
        page.wait_for_timeout(100)
    raise NeverIdle("the canvas never came under the pointer")


def clear_canvas(page) -> None:
    mark = page.evaluate(MARK_JS)
    page.get_by_role("button", name="Clear", exact=True).click()
    settle(page, mark)


def draw_and_time(page, paths) -> dict:
    """Clear, draw `paths`, wait for the app to settle; the drawing's timing."""
    clear_canvas(page)
    box = canvas_box(page)
    mark = page.evaluate(MARK_JS)
    drag_strokes(page, box, paths)
    up, idle, snap = settle(page, mark, inputs=len(paths), kind="pointerup")
    return stroke_timing(snap, up, idle)


def retried(page, what: str, lost: list[str], shots: str | None, action, *args):
    """`action(page, *args)`, done again (up to twice) when the input started no run; each
    loss is noted in `lost` (and photographed into `shots`)."""
    for _ in range(3):
        try:
            return action(page, *args)
        except NoRun as err:
            lost.append(f"{what}: {err}")
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{shots}/lost-{len(lost)}.png")
    raise NeverIdle(f"{what}: three inputs in a row started no run")


def percentiles(values) -> tuple[float, float, float]:
    """p50, p95 (numpy's linear interpolation) and max."""
    a = np.asarray(values, float)
    return float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(a.max())


def verdict(name: str, p50: float, p95: float) -> str:
    if name not in TARGETS:
        return ""
    limit50, limit95 = TARGETS[name]
    met = (limit50 is None or p50 < limit50) and p95 < limit95
    wanted = " ".join(
        f"{k} < {v:,} ms" for k, v in (("p50", limit50), ("p95", limit95)) if v is not None
    )
    return f"{wanted}: {'met' if met else 'MISSED'}"


def print_table(rows: list[tuple[str, list[float]]]) -> None:
    print(f"{'measure':<44} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target")
    for name, values in rows:
        if not values:
            print(f"{name:<44} {0:>3}")
            continue
        p50, p95, top = percentiles(values)
        print(
            f"{name:<44} {len(values):>3} {p50:>8,.0f} {p95:>8,.0f} {top:>8,.0f}  "
            f"{verdict(name, p50, p95)}"
        )


def switch_page(page, title: str) -> dict:
    """Click the sidebar link `title`; click -> the new h1, click -> idle."""
    before = page.evaluate("() => window.__lab.last.h1")
    mark = page.evaluate(MARK_JS)
    page.locator(NAV).get_by_role("link", name=title, exact=True).click()
    try:
        click, idle, snap = settle(page, mark)
    except NoRun:  # a run too short for the page to show it running, or a lost click
        snap = page.evaluate(SNAPSHOT_JS, mark)
        click = first_at_or_after(snap, "click", 0)
        shown = first_at_or_after(snap, "h1", click or 0, title)
        if click is None or shown is None:
            raise
        print(f"\n{title}: the page came with no run seen; its h1 time counts as idle")
        return {"page": title, "h1": title, "h1_ms": shown - click, "idle_ms": shown - click}
    h1 = snap["last"].get("h1")
    if h1 == before:
        raise NeverIdle(f"{title}: the h1 is still {h1!r}")
    shown = first_at_or_after(snap, "h1", click, h1)
    return {"page": title, "h1": h1, "h1_ms": shown - click, "idle_ms": idle - click}


def data_rerun(page, action: str, step: int) -> dict:
    """One Data page rerun: the Other samples button, or the slider one step by keyboard."""
    mark = page.evaluate(MARK_JS)
    if action == "Other samples":
        page.get_by_role("button", name="Other samples").click()
        kind = "click"
    else:
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Samples per class")
        slider.get_by_role("slider").press("ArrowRight" if step % 2 == 0 else "ArrowLeft")
        kind = "keydown"
    event, idle, snap = settle(page, mark, kind=kind)
    running = first_at_or_after(snap, "state", event, "running")
    return {
        "idle_ms": idle - event,
        "run_ms": None if running is None else idle - running,
        "to_run_ms": None if running is None else running - event,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=40, help="timed drawings (a)")
    parser.add_argument("--warmup", type=int, default=2, help="drawings before timing (a)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 7 pages (b)")
    parser.add_argument("--data-reruns", type=int, default=20, help="Data reruns (c)")
    parser.add_argument("--shots", help="a folder for a screenshot of each lost input")
    args = parser.parse_args()
    from cnn import datasets

    test = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(test), args.warmup + args.drawings, replace=False)
    digits = [(str(int(test.labels[i])), strokes(test.image(int(i))[..., 0], rng)) for i in picks]
    runs_dir = tempfile.mkdtemp(prefix="latency-runs-")
    env = {**os.environ, "CNN_RUNS_DIR": runs_dir, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    from playwright.sync_api import sync_playwright

    log = Path(runs_dir) / "server.log"
    with streamlit_server(env, log) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PROJECTOR)
        context.add_init_script(INSTRUMENT_JS)
        page = context.new_page()
        started = time.monotonic()
        page.goto(f"{app.url}/predict?source=Draw")
        page.locator("canvas.drawing-canvas").first.wait_for(timeout=PAGE_S * 1000)
        settle(page, 0, inputs=0, timeout_s=PAGE_S)
        model = page.get_by_role("combobox", name="Model", exact=True).input_value()
        print(f"Predict open in {time.monotonic() - started:.1f} s, model: {model}")

        # (a) stroke -> prediction
        drawn, lost = [], []
        for n, (label, paths) in enumerate(digits):
            timing = retried(page, f"drawing {n + 1}", lost, args.shots, draw_and_time, paths)
            timing["right"] = timing["value"] == label
            if n < args.warmup:
                print(f"warm-up drawing {n + 1}: {timing['shown_ms']:.0f} ms to the Prediction")
            else:
                drawn.append(timing)
            print(f"\r{n + 1}/{len(digits)} drawings", end="", flush=True)
        print()

        # (b) page switches, from Predict
        switches = []
        for round_ in range(args.rounds):
            for title in PAGES:
                timing = retried(page, f"to {title}", lost, args.shots, switch_page, title)
                switches.append({**timing, "round": round_ + 1})
        print(f"{len(switches)} page switches")

        # (c) Data reruns (the page is open after the last round)
        if PAGES[-1] != "Data":
            retried(page, "to Data", lost, args.shots, switch_page, "Data")
        reruns = {"Other samples": [], "slider": []}
        for step in range(args.data_reruns):
            action = "Other samples" if step % 2 == 0 else "slider"
            reruns[action].append(
                retried(page, f"Data {action}", lost, args.shots, data_rerun, action, step // 2)
            )
        tracebacks = page.evaluate("() => window.__lab.last.exceptions")
        browser.close()
    server_tracebacks = log.read_text(errors="replace").count("Traceback")

    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"(a) {len(drawn)} drawings after {args.warmup} warm-up, viewport 1280x720: read right "
          f"{sum(d['right'] for d in drawn)}/{len(drawn)}; value already shown before the last "
          f"stroke (counted at idle): {sum(d['unchanged'] for d in drawn)}")  # fmt: skip
    rows = [
        ("stroke -> Prediction shown", [d["shown_ms"] for d in drawn]),
        ("stroke -> app idle", [d["idle_ms"] for d in drawn]),
        ("  mouse-up -> run starts", [d["to_run_ms"] for d in drawn
                                                          if d["to_run_ms"] is not None]),
        ("  run starts -> idle", [d["run_ms"] for d in drawn if d["run_ms"] is not None]),
    ]  # fmt: skip
    warm = [s for s in switches if s["round"] > 1]
    rows += [
        ("page switch -> h1 shown", [s["h1_ms"] for s in switches]),
        ("page switch -> h1 and idle", [s["idle_ms"] for s in switches]),
        ("page switch -> h1 and idle, rounds 2+", [s["idle_ms"] for s in warm]),
    ]
    for action, runs in reruns.items():
        rows += [
            (f"Data {action} -> idle (browser)", [r["idle_ms"] for r in runs]),
            (f"Data {action}: run starts -> idle", [r["run_ms"] for r in runs if r["run_ms"]]),
        ]
    print_table(rows)
    print("\npage switches, click -> h1 and idle (ms), per round:")
    for title in PAGES:
        mine = [s for s in switches if s["page"] == title]
        idle = "  ".join(f"{s['idle_ms']:>6,.0f}" for s in mine)
        h1 = ", ".join(f"{s['h1_ms']:,.0f}" for s in mine)
        print(f"  {title:<15} {idle}   (h1 shown: {h1})")
    print(f"tracebacks: {tracebacks} on the page, {server_tracebacks} in the server log")
    print(f"inputs that started no script run within {NO_RUN_S} s (done again): {len(lost)}")
    for note in lost:
        print(f"  {note[:400]}")


if __name__ == "__main__":
    main()
