"""Peak memory (RSS high-water mark) of a process training through `cnn.training.train`.

Each case runs in its own fresh Python process (this script calling itself with `--case`),
which reads its peak resident set size, VmHWM in /proc/self/status, once after importing
TensorFlow and Keras and once after the training (fit, test evaluation, nothing saved):

    cats_vs_dogs   2,000 photos streamed from disk at 128x128, augmentation on, modern_cnn
    mnist          60,000 digits held in memory as uint8, modern_cnn
    server         the app itself (Streamlit's AppTest runtime, the real pages): Train with
                   cats_vs_dogs and the "Full" preset (128 px, augmentation, its batch size),
                   1 epoch, started with the button and polled once a second as the page's
                   fragment does; Streamlit, pandas and plotly count here too

One epoch each; target for cats_vs_dogs: under 1.2 GB (Streamlit Community Cloud gives an app
690 MB to 2.7 GB).

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_memory.py
    python bench/bench_memory.py --case cats_vs_dogs --max-samples 640 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cnn.training import TrainConfig

CASES = {
    "cats_vs_dogs": {"dataset": "cats_vs_dogs", "image_size": 128, "augmentation": "standard"},
    "mnist": {"dataset": "mnist"},
    "server": {"dataset": "cats_vs_dogs", "preset": "Full"},
}


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM) in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("No VmHWM in /proc/self/status (Linux only).")


def run_server_case() -> dict:
    """The Train page in Streamlit's runtime: Full preset on cats_vs_dogs, 1 epoch, polled."""
    import time

    import keras  # noqa: F401 - counted in the baseline
    from streamlit.testing.v1 import AppTest

    from ui import state

    baseline = peak_rss_mb()
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=600).run()
    at.switch_page("app_pages/train.py").run()
    picker = at.selectbox(key="train-dataset")
    picker.set_value(next(o for o in picker.options if "cats" in o.lower())).run()
    at.radio[0].set_value(CASES["server"]["preset"]).run()
    next(w for w in at.number_input if w.label == "Epochs").set_value(1).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    job = at.session_state[state.TRAINING_JOB]
    reruns = []
    while not job.done:
        time.sleep(1)
        begin = time.perf_counter()
        at.run()  # what the page's once-a-second fragment does, and more (the whole page)
        reruns.append(time.perf_counter() - begin)
    assert not at.exception, at.exception
    result = job.result
    return {
        "case": "server",
        "state": job.state,
        "message": job.error,
        "batch_size": result.config.batch_size if result else None,
        "train_images": result.record.dataset.train_samples if result.record else None,
        "images_per_s": result.record.timings.images_per_s if result.record else None,
        "tf_imported_mb": round(baseline),
        "peak_mb": round(peak_rss_mb()),
        "rerun_ms": round(1000 * sorted(reruns)[len(reruns) // 2]) if reruns else None,
    }


def run_case(name: str, max_samples: int | None, batch_size: int) -> None:
    """Train one case in this process and print one JSON line with the peaks."""
    if name == "server":
        print(json.dumps(run_server_case()))
        return
    import keras  # noqa: F401 - counted in the baseline

    from cnn.training import train

    baseline = peak_rss_mb()
    config = TrainConfig(epochs=1, max_samples=max_samples, batch_size=batch_size, **CASES[name])
    result = train(config)
    timings = vars(result.record.timings) if result.record else {}
    print(
        json.dumps(
            {
                "case": name,
                "state": result.state,
                "message": result.message,
                "batch_size": batch_size,
                "train_images": result.record.dataset.train_samples if result.record else None,
                "images_per_s": timings.get("images_per_s"),
                "tf_imported_mb": round(baseline),
                "peak_mb": round(peak_rss_mb()),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), action="append")
    parser.add_argument("--max-samples", type=int)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_case(args.case[0], args.max_samples, args.batch_size)
        return
    for name in args.case or list(CASES):
        command = [sys.executable, __file__, "--child", "--case", name]
        command += ["--batch-size", str(args.batch_size)]
        if args.max_samples:
            command += ["--max-samples", str(args.max_samples)]
        with tempfile.TemporaryDirectory(prefix="cnn-mem-") as runs:  # the server case saves
            env = {**os.environ, "CNN_RUNS_DIR": runs}
            out = subprocess.run(
                command, capture_output=True, text=True, check=True, env=env
            ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"{name:<13} batch {row['batch_size']} peak RSS {row['peak_mb']:>5} MB (TF/Keras "
            f"{row['tf_imported_mb']} MB after import); {row['train_images']} training images, "
            f"{row['images_per_s']} img/s, {row['state']}"
            + (f"; median page rerun {row['rerun_ms']} ms" if row.get("rerun_ms") else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
