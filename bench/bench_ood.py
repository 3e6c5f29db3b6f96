"""The unfamiliar-input flag on classroom inputs, every shipped run and score side by side.

For each run (artifacts/*, or the folders given) the check's sets are read as training reads
them (`cnn.training.confidence.read_run`): training images (the Gaussians are fitted on
them), the run's own test split, the classroom foreign set of `cnn.foreign` (scikit-image's
photos and crops, made pictures and the other shipped photo datasets through the upload path;
letters, shapes and scribbles through the canvas path, with their strokes) and, for a digit
run, its test digits drawn on the canvas (`cnn.drawn`). Each score's threshold flags 5% of
the test images (`cnn.ood.FALSE_ALARM`); the table gives the share of foreign inputs caught
(flagged, or refused by the page with a sentence: no answer is shown) and of drawn digits
flagged. Scores: energy (Liu et al. 2020), mahalanobis (penultimate features, Lee et al.
2018), knn (Sun et al. 2022: normalised penultimate features, distance to the K-th nearest
of the fitted training images), layers (`cnn.ood.Layers`, the one grey runs use) and, for
colour runs, neighbours (`cnn.ood.Neighbours`: knn on the features of a second network
trained on ImageNet's photos, `cnn.photo_embedder`; the one colour runs use).

    CNN_DATA_DIR=../shared/data PYTHONPATH=. python bench/bench_ood.py [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from cnn import artifacts, ood
from cnn.training.confidence import candidates, read_run, scored_by
from cnn.training.loop import prepare

K = 5  # the neighbour whose distance the knn score reads
ROOT = Path(__file__).resolve().parent.parent / "artifacts"


def knn_score(bank: np.ndarray):
    """Minus the cosine distance to the K-th nearest of `bank`, per input (Sun et al.): the
    "neighbours" score's arithmetic (`cnn.ood.Neighbours`), on the run's own features."""
    nearest = ood.Neighbours(ood.unit_rows(bank), K)
    return lambda readings: nearest.familiarity(readings.features)


def pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def bench_run(path: Path) -> list[str]:
    """The table rows of one run."""
    run = artifacts.load_run(path)
    record = run.record
    config = replace(record.config, spec=record.spec.to_dict())
    pre = record.preprocessing
    prepared = replace(prepare(config), input_shape=(*pre.image_size, pre.channels))
    started = time.perf_counter()
    measured = read_run(prepared, run.model)
    temperature = record.calibration.temperature if record.calibration else 1.0
    scores = candidates(prepared, measured, measured.test.logits, temperature)
    scores["knn"] = (scored_by(measured, knn_score(measured.fitted.features)), None)
    rows = []
    for name in ("energy", "mahalanobis", "knn", "layers", "neighbours"):
        if name not in scores:
            continue
        check = ood.measure_scored(scores[name][0], name, measured.description, temperature)
        used = " (used)" if record.ood is not None and record.ood.score == name else ""
        rows.append(
            f"| {record.dataset.key} | {name}{used} | {pct(check.false_alarm)} of "
            f"{check.n_test} | {pct(check.detection)} of {check.n_foreign} | "
            f"{pct(check.photo_detection)} | {pct(check.drawing_detection)} | {check.refused} | "
            f"{pct(check.drawn_false_alarm)} |"
        )
    print(f"{path.name}: {measured.description}; read in {time.perf_counter() - started:.0f} s",
          flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    args = parser.parse_args()
    runs = args.runs or sorted(p for p in ROOT.iterdir() if (p / "run.json").is_file())
    rows = [row for path in runs for row in bench_run(path)]
    print()
    print("| run | score | own test images flagged | foreign caught | photos | drawings | "
          "refused | drawn digits flagged |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
