"""Quick before and after: the Quick preset of two source trees, side by side on every kind of
data a class meets.

For each case, each repeat runs `python -m cnn train --dataset D --preset Quick --json` once
with the BEFORE tree and once with the AFTER tree (order alternating), each a whole process,
and prints the test accuracy each printed and its wall time. Cases: MNIST offline (the
embedded 5,000 digits a new user meets: CNN_DATA_DIR pointed at an empty folder), MNIST in
full, Fashion-MNIST, cats vs dogs, Flowers-17 and a teacher's own folder (three Flowers-17
classes copied into class folders). Sets this machine lacks are skipped with a sentence.

Run (BEFORE: a worktree of an older commit):
    git worktree add /tmp/before 9913804
    CNN_DATA_DIR=/work/shared/data python bench/bench_quick.py --before /tmp/before --after .
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FOLDER_CLASSES = ("daffodil", "sunflower", "tulip")


def quick(tree: Path, dataset: str, env: dict, data: str | None) -> tuple[float, float]:
    """(test accuracy, wall seconds) of one Quick training with the code of `tree`."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "cnn", "train", "--dataset", dataset,
                   "--preset", "Quick", "--out", out, "--json"]  # fmt: skip
        if data:
            command += ["--data", data]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=tree,
                              env={**env, "PYTHONPATH": str(tree)})  # fmt: skip
        seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{tree}: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["test_accuracy"], seconds


def teacher_folder(data_dir: Path, target: Path) -> Path | None:
    """Three Flowers-17 classes as a teacher's own class folders, or None without them."""
    source = data_dir / "flowers17"
    if not all((source / name).is_dir() for name in FOLDER_CLASSES):
        return None
    for name in FOLDER_CLASSES:
        shutil.copytree(source / name, target / name)
    return target


def cases(data_dir: Path, scratch: Path) -> list[tuple[str, str, dict, str | None]]:
    """(title, dataset, environment, --data) of every case this machine can run."""
    empty = scratch / "empty"
    empty.mkdir()
    base = dict(os.environ)
    out = [("MNIST offline (embedded 5,000)", "mnist", {**base, "CNN_DATA_DIR": str(empty)}, None)]
    full = {**base, "CNN_DATA_DIR": str(data_dir)}
    for title, key, folder in (
        ("MNIST (full)", "mnist", "mnist"),
        ("Fashion-MNIST", "fashion_mnist", "fashion-mnist"),
        ("cats vs dogs", "cats_vs_dogs", "cats_vs_dogs"),
        ("Flowers-17", "flowers17", "flowers17"),
    ):
        if (data_dir / folder).is_dir():
            out.append((title, key, full, None))
        else:
            print(f"skipped {title}: {data_dir / folder} is not on this machine")
    made = teacher_folder(data_dir, scratch / "teacher")
    if made is not None:
        out.append(("a teacher's folder (3 flower classes)", "folder", full, str(made)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the older source tree")
    parser.add_argument("--after", type=Path, default=Path("."), help="the newer source tree")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", help="run only cases whose title contains this")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CNN_DATA_DIR", "../shared/data")).resolve()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for title, dataset, env, data in cases(data_dir, Path(scratch)):
            if args.only and args.only not in title:
                continue
            seen: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for repeat in range(args.repeats):
                order = ("before", "after") if repeat % 2 == 0 else ("after", "before")
                for which in order:
                    seen[which].append(quick(trees[which], dataset, env, data))
                    accuracy, seconds = seen[which][-1]
                    print(f"{title} {which}: {accuracy:.2%} in {seconds:.1f} s "
                          f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
            rows.append((title, seen))
    print("\n| data | before: accuracy, wall s | after: accuracy, wall s |")
    print("|---|---|---|")
    for title, seen in rows:
        cells = [
            ", ".join(f"{a:.1%}" for a, _ in seen[w])
            + f"; {statistics.median(s for _, s in seen[w]):.1f} s (median)"
            for w in ("before", "after")
        ]
        print(f"| {title} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
