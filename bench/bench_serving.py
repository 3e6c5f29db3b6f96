"""Is a drawing still answered fast while the server trains? Per way of training, side by side.

The server's own work for one stroke on Predict (`cnn.preprocess.digit_from_canvas`, then one
Inspector pass with Grad-CAM, as the page does) is timed every 0.25 s in this process while a
training runs beside it, in each way the server can train:
- thread: in a thread of this process (the default);
- process: in a child process at nice 10 (`CNN_TRAIN_IN=process`);
- process, 1 thread: the same with `CNN_TRAIN_THREADS=1` (TensorFlow in the child uses one
  thread per operation and one operation at a time);
and with no training at all. The modes take turns over --repeats rounds, so both of the
machine's speeds are in every mode. No browser is in it: bench_class.py measures a class with
Chromium, whose pages share this machine's cores with the server; this one isolates the
server, which a real class's browsers (on the students' machines) would leave alone.

    PYTHONPATH=.:bench python bench/bench_serving.py [--repeats 3] [--samples 4000] [--arch KEY]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from digit_strokes import render, strokes

from cnn import artifacts, datasets, preprocess
from cnn.inspect import Inspector
from cnn.training import TrainConfig, TrainingJob
from cnn.training.jobs import UNLIMITED
from cnn.training.process_backend import ProcessRunner

MODES = ("no training", "thread", "process", "process, 1 thread")
EVERY_S = 0.25  # a drawing this often (a class of drawing students, server-side)
IDLE_S = 20.0  # how long the no-training mode measures


def drawings(n: int) -> list[np.ndarray]:
    """n canvas images: official test digits drawn as strokes 20 px wide."""
    data = datasets.load("mnist", download=False)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(data.test), n, replace=False)
    return [render(strokes(data.test.image(int(i))[..., 0], rng), 20) for i in picks]


def answer_ms(inspector: Inspector, canvas: np.ndarray) -> float:
    """The server's work for one stroke: preprocessing and one pass with Grad-CAM."""
    start = time.perf_counter()
    steps = preprocess.digit_from_canvas(canvas)
    inspector.run(steps.input, gradcam=True)
    return 1000 * (time.perf_counter() - start)


def measure(mode: str, inspector, canvases, config: TrainConfig, out: Path) -> dict:
    """Answer times while one training of `config` runs in `mode` (or for IDLE_S)."""
    job = None
    if mode != "no training":
        runner = None if mode == "thread" else ProcessRunner(10, 1 if "1 thread" in mode else 0)
        job = TrainingJob(config, out, slots=UNLIMITED, runner=runner).start()
    times, start, i = [], time.perf_counter(), 0

    def going() -> bool:  # until the training ends, or for IDLE_S without one
        return not job.done if job is not None else time.perf_counter() - start < IDLE_S

    while going():
        times.append(answer_ms(inspector, canvases[i % len(canvases)]))
        i += 1
        if job is not None:
            job.drain()
        threading.Event().wait(EVERY_S)
    seconds = time.perf_counter() - start
    if job is not None and job.state != "finished":
        raise SystemExit(f"{mode}: the training ended {job.state}: {job.error}")
    return {"times": times, "seconds": seconds if job is not None else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4000, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--arch", default="mnist_98", help="the Quick preset's (default) or any")
    args = parser.parse_args()
    run = artifacts.load_run(str(next(artifacts.shipped_dir().glob("*-mnist-*"))))
    inspector = Inspector(run.model)
    canvases = drawings(40)
    for canvas in canvases[:3]:
        answer_ms(inspector, canvas)  # compile once
    config = TrainConfig(
        dataset="mnist", arch=args.arch, epochs=args.epochs, batch_size=64,
        max_samples=args.samples, timelapse=False,
    )  # fmt: skip
    found: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as out:
        for r in range(args.repeats):
            for mode in MODES:
                found[mode].append(measure(mode, inspector, canvases, config, Path(out)))
                m = found[mode][-1]
                print(f"round {r + 1} {mode}: {len(m['times'])} answers, "
                      f"p50 {np.percentile(m['times'], 50):.0f} ms", flush=True)  # fmt: skip
    print(f"\nrun: {run.info.name}; training: {config.arch}, {args.samples} images, "
          f"{args.epochs} epochs; {args.repeats} rounds, modes interleaved")  # fmt: skip
    print("| training | answers | p50 | p95 | max | training took (median) |")
    print("|---|---|---|---|---|---|")
    for mode in MODES:
        times = np.concatenate([m["times"] for m in found[mode]])
        took = [m["seconds"] for m in found[mode] if m["seconds"] is not None]
        took_text = f"{np.median(took):.1f} s" if took else "-"
        p50, p95 = np.percentile(times, [50, 95])
        print(f"| {mode} | {len(times)} | {p50:.0f} ms | {p95:.0f} ms | {times.max():.0f} ms "
              f"| {took_text} |")  # fmt: skip


if __name__ == "__main__":
    main()
