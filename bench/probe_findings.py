"""What the probes show about MNIST models: how far a digit can move, turn or be nudged.

For each run given and the same N official MNIST test digits (N/10 of every class, fixed
seed), counting only the digits the run gets right unchanged:

- shift: the smallest shift (1 px steps, up to 8 px left, right, up or down) after which
  the answer is no longer the digit (">8" when it never changes);
- the share of digits still right after every shift of up to 1, 2, 3, 4, 6 and 8 px;
- rotation: the smallest turn (10 degree steps) that changes the answer;
- FGSM: the smallest epsilon that changes the answer.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/probe_findings.py RUN_DIR... [--n 100]
"""

from __future__ import annotations

import argparse

import numpy as np

from cnn import artifacts, datasets
from cnn.inspect import Inspector
from cnn.probes import attack, embedding, sweeps

NEVER = 99  # stands for "no change within the values tried"
SURVIVE_PX = (1, 2, 3, 4, 6, 8)


def smallest_change(result) -> float:
    """The smallest |value| on either side at which the answer changes (NEVER if none)."""
    sides = [abs(v) for v in result.flip() if v is not None]
    return min(sides) if sides else NEVER


def probe_run(path: str, images: np.ndarray, labels: np.ndarray) -> dict:
    run = artifacts.load_run(path)
    inspector = Inspector(run.model)
    attacker = attack.Attacker(inspector)
    right = inspector.probabilities(images).argmax(axis=1) == labels
    shifts, turns, epsilons = [], [], []
    for image in images[right]:
        x = sweeps.run_sweep(inspector, image, "shift_x", "digits")
        y = sweeps.run_sweep(inspector, image, "shift_y", "digits")
        shifts.append(min(smallest_change(x), smallest_change(y)))
        turns.append(smallest_change(sweeps.run_sweep(inspector, image, "rotation", "digits")))
        found = attacker.attack(image, "fgsm")
        epsilons.append(np.inf if found.epsilon is None else found.epsilon)
    shifts, turns = np.array(shifts), np.array(turns)
    record = run.record
    return {
        "run": f"{record.arch_name}{' +aug' if record.config.augmentation != 'none' else ''} "
        f"{record.epochs_run} ep ({record.test.accuracy:.2%})",
        "right": int(right.sum()),
        "shift_median": float(np.median(shifts)),
        "survive": [float((shifts > px).mean()) for px in SURVIVE_PX],
        "turn_median": float(np.median(turns)),
        "eps_median": float(np.median(epsilons)),
    }


def main(paths: list[str], n: int) -> None:
    data = datasets.load("mnist", download=False)
    indices = embedding.subset_indices(data.test, n)
    images = data.test.images[indices].astype(np.float32) / 255.0
    labels = data.test.labels[indices]
    print(f"{len(indices)} test digits of {data.source} (stratified, seed 0)")
    header = " | ".join(f"right after all shifts <= {px} px" for px in SURVIVE_PX)
    print(
        f"| run | digits right | median smallest flipping shift (px) | {header} "
        "| median flipping turn (deg) | median FGSM epsilon |"
    )
    print("|---" * (5 + len(SURVIVE_PX)) + "|")
    for path in paths:
        r = probe_run(path, images, labels)
        shift = ">8" if r["shift_median"] == NEVER else f"{r['shift_median']:g}"
        turn = ">180" if r["turn_median"] == NEVER else f"{r['turn_median']:g}"
        survive = " | ".join(f"{s:.0%}" for s in r["survive"])
        print(
            f"| {r['run']} | {r['right']} | {shift} | {survive} | {turn} | {r['eps_median']:.4f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    main(args.runs, args.n)
