"""A class on one server, the students' browsers on their own computers: bench_class.py's
class, played by light websocket clients instead of 30 headless Chromium pages.

bench_class.py runs one Chromium context per student on the same 2 cores as the server, so
its drawing times count starved browsers as much as the server (its pages often took a
whole run's messages at once). Here each student is an `st_client.Session`: the messages
the page's JavaScript exchanges with the server, over the same websocket, costing the bench
machine almost nothing. The server does all that 30 pages make it do (every rerun, every
fragment poll of the trainers' pages, every image the pages fetch), so the figures are the
server's answer as it reaches a student's computer, network aside.

`--browsers K` makes K of the drawers real Chromium pages (bench_class.py's drawing, at
--browser-nice), so that a page's own stroke -> Prediction time, paint included, is
measured beside them under the same load.

The class: the trainers open Train (MNIST, the Quick preset as the page opens it), the
drawers /predict?source=Draw, OPEN_GAP_S apart. After a warm-up drawing each, the drawers
draw official MNIST test digits (digit_strokes.py: the strokes, rendered as the canvas
renders them, sent one stroke at a time, STROKE_GAP_S apart, each with the picture and the
paths so far, as the canvas sends them at pointer up), a drawing starting every
uniform(--pace) s after the one before started. After --baseline-s, the trainers press
"Start training" one every --spread-s / trainers s and wait for the "Test accuracy" banner.

A drawing's time is from its last stroke leaving the client to the end of the first script
run that started after it (the run that shows its Prediction; a run stopped early for a
newer rerun is passed over); "read right" compares that run's Prediction metric with the
digit's label.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:bench python bench/bench_class_clients.py \
        --sessions 30 --trainers 10 --pace 5,10 --browsers 2

--profile and --dumps need py-spy (`pip install py-spy`; not a project dependency).
"""

from __future__ import annotations

import asyncio
import base64
import io
import signal
import subprocess
import time

from bench_class import (
    DONE,
    ESTIMATE,
    OPEN_GAP_S,
    Drawer,
    Trainer,
    class_options,
    draw_once,
    drawer_loop,
    fmt,
    lower_browsers,
    open_session,
    print_estimates,
    print_memory,
    print_side_by_side,
    print_training_times,
    run_trainings,
    sample_memory,
    serve_class,
    status_kb,
    stop_class,
    test_digits,
    training_span,
    tree_rss_mb,
)
from bench_latency import NeverIdle, percentiles
from digit_strokes import render
from PIL import Image
from st_client import Session, SessionError

from tests.helpers import CHROMIUM, CHROMIUM_ARGS

STROKE_GAP_S = 0.4  # between one stroke's pointer up and the next's (a student's hand)
PEN = 20  # the Stroke slider's default width
OPEN_S = 300
ANSWER_S = 120  # a drawing with no answer after this long is a timeout
CANVAS = "cnn_lab_canvas"
WATCHER_ENV = "STREAMLIT_SERVER_FILE_WATCHER_TYPE"  # overrides .streamlit/config.toml


def epoch_ms(monotonic: float) -> float:
    """A time.monotonic() instant in epoch milliseconds (the pages' clock in bench_class)."""
    return (time.time() - (time.monotonic() - monotonic)) * 1000


def canvas_value(paths, width: int = PEN) -> dict:
    """What the canvas sends at a stroke's pointer up: its picture and every path so far."""
    buffer = io.BytesIO()
    Image.fromarray(render(paths, width)).save(buffer, "PNG")
    data = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"drawing": {"data": data, "paths": [[list(p) for p in path] for path in paths]}}


async def draw(session: Session, label: str, paths) -> dict:
    """Clear, then the strokes one at a time; the answer to the last one. A session that
    gets no answer raises bench_latency's NeverIdle, as a page does (drawer_loop counts it)."""
    try:
        return await _draw(session, label, paths)
    except SessionError as err:
        raise NeverIdle(str(err)) from err


async def _draw(session: Session, label: str, paths) -> dict:
    sent = await session.press("Clear")
    await session.run_after(sent, ANSWER_S)
    for k in range(1, len(paths) + 1):
        if k > 1:
            await asyncio.sleep(STROKE_GAP_S)
        sent = await session.set_component(CANVAS, canvas_value(paths[:k]))
    run = await session.run_after(sent, ANSWER_S)
    return {
        "up": epoch_ms(sent),
        "shown_ms": (run.ended - sent) * 1000,
        "right": run.metric("Prediction") == label,
        "errors": run.exceptions(),
    }


async def client_train(session: Session, trainer: Trainer, delay: float, limit_s: float) -> None:
    """Press Start after `delay` s; read the page's runs (its fragment polls included) until
    the banner."""
    await asyncio.sleep(delay)
    sent = await session.press("Start training")
    trainer.click = epoch_ms(sent)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not session.closed:
        await asyncio.sleep(0.5)
        for run in session.runs:
            if run.started < sent or run.ended is None:
                continue
            seen = {at for at, _, _ in trainer.estimates}
            for text in run.texts():
                if (told := ESTIMATE.search(text)) and epoch_ms(run.ended) not in seen:
                    about = int(told[2]) if told[2] else None
                    trainer.estimates.append((epoch_ms(run.ended), int(told[1]), about))
                    seen.add(epoch_ms(run.ended))
                if trainer.estimate is None and ESTIMATE.search(text):
                    trainer.estimate = text
                if trainer.running is None and "State: **running**" in text:
                    trainer.running = epoch_ms(run.ended)
                if trainer.done is None and DONE.search(text.replace("**", "")):
                    trainer.done, trainer.banner = epoch_ms(run.ended), text.replace("**", "")
        if trainer.done:
            return
    trainer.job = session.closed or "no banner"


def start_profiler(path: str | None, pid: int, rate: int = 50, gil: bool = True):
    """py-spy (a sampling profiler, another process) on the server, raw stacks to `path`:
    with `gil` it keeps only the samples of the thread that holds Python's GIL, which is
    what every other session's script waits for (the trainings here); without, every
    thread's (where a run's time goes, bench_run_costs.py)."""
    if not path:
        return None
    command = ["py-spy", "record", "--rate", str(rate), "--format", "raw", "--output", path,
               "--pid", str(pid), "--nonblocking", *(["--gil"] if gil else [])]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop_profiler(profiler) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        profiler.wait(timeout=60)


async def dump_stacks(path: str | None, pid: int, seconds: float) -> None:
    """Every thread's stack in the server (`py-spy dump`), every 2 s for `seconds` from the
    first Start, appended to `path`: what the sessions' script threads wait on in a stall."""
    if not path:
        return
    began = time.monotonic()
    with open(path, "a") as out:
        while time.monotonic() - began < seconds:
            out.write(f"\n===== +{time.monotonic() - began:.1f} s after the first Start\n")
            out.flush()
            dump = await asyncio.create_subprocess_exec(
                "py-spy", "dump", "--pid", str(pid), stdout=out, stderr=out
            )
            await dump.wait()
            await asyncio.sleep(2.0)


def slowest(during: list[dict], trainers: list[Trainer], first_click: float, n: int = 8):
    """The n slowest drawings during the trainings, each with the trainings' Starts and ends
    that fell in the 10 s before it or while it waited."""
    for sample in sorted(during, key=lambda s: -s["shown_ms"])[:n]:
        start, end = sample["up"] - 10_000, sample["up"] + sample["shown_ms"]
        near = [f"#{t.index + 1} {what} {(at - first_click) / 1000:.1f} s"
                for t in trainers for what, at in (("Start", t.click), ("banner", t.done))
                if at and start <= at <= end]  # fmt: skip
        print(f"    at {(sample['up'] - first_click) / 1000:6.1f} s: {sample['shown_ms']:,.0f} ms"
              f"; near: {', '.join(near) or 'no Start or banner'}")  # fmt: skip


async def open_client(url: str, path: str, query: str, delay: float) -> Session:
    await asyncio.sleep(delay)
    session = Session(url, path, query)
    await session.open(OPEN_S)
    return session


async def class_session(args, url: str, pid: int, digits) -> dict:
    from playwright.async_api import async_playwright

    drawers_n = args.sessions - args.trainers
    begin = time.monotonic()
    peak = {"mb": tree_rss_mb(pid), "at": 0.0}
    memory = {"server up": peak["mb"]}
    stop_memory = asyncio.Event()

    sampler = asyncio.create_task(sample_memory(pid, peak, begin, stop_memory))
    async with async_playwright() as playwright:
        browser = None
        lowering = None
        if args.browsers:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            lowering = asyncio.create_task(lower_browsers(pid, args.browser_nice, stop_memory))
        kinds = ["train"] * args.trainers + ["draw"] * drawers_n
        opening = []
        for i, kind in enumerate(kinds):
            delay = i * OPEN_GAP_S
            if kind == "train":
                opening.append(open_client(url, "train", "", delay))
            elif i >= len(kinds) - args.browsers:  # the last K drawers are real pages
                opening.append(open_session(browser, url, "predict?source=Draw", delay))
            else:
                opening.append(open_client(url, "predict", "source=Draw", delay))
        sessions = await asyncio.gather(*opening)
        trainer_sessions = sessions[: args.trainers]
        drawer_sessions = sessions[args.trainers :]
        opened = time.monotonic() - begin
        memory["all open"] = tree_rss_mb(pid)
        print(f"{args.sessions} sessions open after {opened:.0f} s "
              f"({args.browsers} of them Chromium pages)", flush=True)  # fmt: skip

        def is_page(s) -> bool:
            return not isinstance(s, Session)

        warmups = await asyncio.gather(
            *(
                (draw_once(s, *digits[-1 - i]) if is_page(s) else draw(s, *digits[-1 - i]))
                for i, s in enumerate(drawer_sessions)
            ),
            return_exceptions=True,
        )
        failed = [
            f"{type(w).__name__}: {str(w)[:150]}" for w in warmups if isinstance(w, Exception)
        ]
        print(f"warm-up drawing on each Predict: {time.monotonic() - begin - opened:.0f} s, "
              f"{len(failed)} failed" + "".join(f"\n  {f}" for f in failed),
              flush=True)  # fmt: skip

        drawers = [Drawer() for _ in drawer_sessions]
        stop_drawing = asyncio.Event()
        drawing = []
        for i, (s, d) in enumerate(zip(drawer_sessions, drawers, strict=True)):
            by = draw_once if is_page(s) else draw
            task = drawer_loop(s, d, digits, 17 * i, stop_drawing, args.pace, by)
            drawing.append(asyncio.create_task(task))
        baseline_start = time.time() * 1000
        await asyncio.sleep(args.baseline_s)
        profiler = start_profiler(args.profile, pid)
        dumping = asyncio.create_task(dump_stacks(args.dumps, pid, args.dumps_s))
        trainers = await run_trainings(client_train, trainer_sessions, args, drawers, pid)
        stop_profiler(profiler)
        await dumping
        memory["trainings over"] = tree_rss_mb(pid)
        await asyncio.sleep(args.after_s)
        await stop_class(stop_drawing, drawing, stop_memory, sampler, lowering)
        page_errors = 0
        for s in sessions:
            if is_page(s):
                page_errors += await s.evaluate("() => window.__lab.last.exceptions || 0")
            else:
                page_errors += sum(len(run.exceptions()) for run in s.runs)
                await s.close()
        if browser is not None:
            await browser.close()
    memory["end"] = tree_rss_mb(pid)
    kinds_of = ["page" if is_page(s) else "client" for s in drawer_sessions]
    return {
        "opened": opened,
        "drawers": drawers,
        "drawer_kinds": kinds_of,
        "trainers": trainers,
        "baseline_start": baseline_start,
        "peak": peak,
        "memory": memory,
        "hwm_mb": status_kb(pid, "VmHWM") / 1024,
        "errors": page_errors,
    }


def report(args, result: dict, slots: str, server_tracebacks: int) -> dict:
    """Print one class's figures; returns the ones compared between --train-in modes."""
    trainers: list[Trainer] = result["trainers"]
    finished, first_click, last_done = training_span(trainers)
    print(f"\nclass: {args.sessions} sessions ({args.trainers} training, "
          f"{args.sessions - args.trainers} drawing, {args.browsers} of those Chromium pages) "
          f"on one server; {slots}")  # fmt: skip
    print(f"trainings: Quick preset on MNIST, Start pressed over {args.spread_s:.0f} s; "
          f"{len(finished)}/{len(trainers)} showed Test accuracy")  # fmt: skip
    for t in trainers:
        at = (t.click - first_click) / 1000 if t.click else float("nan")
        done = (t.done - t.click) / 1000 if t.done and t.click else float("nan")
        estimate = ESTIMATE.search(t.estimate or "")
        guess = f"#{estimate[1]} in line, about {estimate[2] or '?'} s" if estimate else "at once"
        banner = DONE.search(t.banner or "")
        end = f"{banner[1]}%, {banner[2]} s in all" if banner else (t.job or "no banner")
        print(f" {t.index + 1:>2}  Start at {at:>5.1f} s  {guess:<28} finish {done:>6.1f} s  {end}")
    print_training_times(trainers, "'State: running'")
    print_estimates(trainers)
    figures = {}
    for kind in ("client", "page"):
        samples = [
            s
            for d, k in zip(result["drawers"], result["drawer_kinds"], strict=True)
            if k == kind
            for s in d.samples
        ]
        if not samples:
            continue
        print(f"drawings by the {'websocket clients' if kind == 'client' else 'Chromium pages'}:")
        for name, group in (
            ("before any training", [s for s in samples if s["up"] < first_click]),
            ("during the trainings", [s for s in samples if first_click <= s["up"] <= last_done]),
            ("after the last training", [s for s in samples if s["up"] > last_done]),
        ):
            shown = [s["shown_ms"] for s in group]
            right = sum(s["right"] for s in group)
            print(f"  {name}: {len(group)}, read right {right}; last stroke -> Prediction "
                  f"{fmt(shown)}")  # fmt: skip
            if name == "during the trainings" and shown:
                slowest(group, trainers, first_click)
                p50, p95, _ = percentiles(shown)
                figures[f"{kind} drawing p50 during (ms)"] = p50
                figures[f"{kind} drawing p95 during (ms)"] = p95
    timeouts = [t for d in result["drawers"] for t in d.timeouts + d.lost]
    print(f"drawings with no answer (timeouts, lost): {len(timeouts)}"
          + "".join(f"\n  {t}" for t in timeouts[:10]))  # fmt: skip
    print(f"errors shown: {result['errors']} (exceptions in the runs the sessions received); "
          f"server log tracebacks: {server_tracebacks}")  # fmt: skip
    print_memory(result)
    peak = result["peak"]
    figures["last finish (s)"] = (last_done - first_click) / 1000 if finished else float("nan")
    figures["peak RSS (MB)"] = max(peak["mb"], result["hwm_mb"])
    return figures


def one_class(args, digits, mode: str, watcher: str) -> dict:
    """One class on a fresh server, trainings in `mode` ("thread" or "process"), Streamlit's
    file watcher `watcher` ("none", the app's setting, or "auto", Streamlit's default)."""
    print(f"\n=== trainings in a {mode}, file watcher {watcher} ===", flush=True)
    figures = serve_class(args, digits, mode, class_session, report, {WATCHER_ENV: watcher})
    print(f"(a drawing every {args.pace[0]:g}-{args.pace[1]:g} s, strokes {STROKE_GAP_S} s apart; "
          f"pages at nice {args.browser_nice})")  # fmt: skip
    return figures


def main() -> None:
    parser = class_options(__doc__, baseline_s=30, pace="5,10", browser_nice=10)
    parser.add_argument("--browsers", type=int, default=0,
                        help="of the drawers, how many are real Chromium pages")  # fmt: skip
    parser.add_argument("--after-s", type=float, default=20, help="drawing after the last training")
    parser.add_argument("--profile", help="py-spy's raw samples of the server's GIL holder "
                        "during the trainings, to this file (with one --train-in)")  # fmt: skip
    parser.add_argument("--watcher", default="none",
                        help="Streamlit's server.fileWatcherType: none (the app's config), "
                        "auto (Streamlit's default) or auto,none")  # fmt: skip
    parser.add_argument("--dumps", help="every thread's stack in the server every 2 s, for "
                        "--dumps-s after the first Start, to this file")  # fmt: skip
    parser.add_argument("--dumps-s", type=float, default=30)
    args = parser.parse_args()
    args.pace = tuple(float(x) for x in args.pace.split(","))
    digits = test_digits()
    modes = [(m, w) for m in args.train_in.split(",") for w in args.watcher.split(",")]
    figures = {f"{m}, watcher {w}": one_class(args, digits, m, w) for m, w in modes}
    print_side_by_side(figures)


if __name__ == "__main__":
    main()
