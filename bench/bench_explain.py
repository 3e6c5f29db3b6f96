"""Look inside's cost: the every-layer pass and one value's arithmetic, per shipped run.

For each shipped run: `Inspector.layer_outputs` on a fresh Inspector the way the app builds it
(XLA), its first call (build + compile) and the median of 20 warm calls; beside it the median
of 20 warm `Inspector.run` calls without Grad-CAM (what Predict pays); then the median of
`Explainer.position` (one value's arithmetic, no model call) and `Explainer.network` (the
overview's numbers). The page pays the every-layer pass once per input (it is cached).

Run:
    PYTHONPATH=. python bench/bench_explain.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from cnn import artifacts
from cnn.explain import Explainer
from cnn.inspect import Inspector

CALLS = 20


def median_ms(call, calls: int = CALLS) -> float:
    """Median wall time of `calls` calls, in milliseconds."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    print(
        "run | first every-layer pass (s) | warm every-layer (ms) | warm run (ms) | "
        "one value (ms) | network (ms)"
    )
    for info in artifacts.list_runs([artifacts.shipped_dir()]):
        run = artifacts.load_run(info.path)
        inspector = Inspector(run.model)
        explainer = Explainer.for_run(run, inspector)
        image = np.random.default_rng(0).uniform(0, 1, explainer.input_shape).astype(np.float32)
        start = time.perf_counter()
        forward = explainer.forward(image)
        first = time.perf_counter() - start
        warm = median_ms(lambda: inspector.layer_outputs(image))  # noqa: B023
        inspector.run(image, gradcam=False)
        plain = median_ms(lambda: inspector.run(image, gradcam=False))  # noqa: B023
        last = explainer.map_layers[-1]
        h, w, c = last.shape
        one = median_ms(lambda: explainer.position(forward, last.name, c - 1, h // 2, w // 2))  # noqa: B023
        overview = median_ms(lambda: explainer.network(forward, run.class_names))  # noqa: B023
        print(
            f"{info.record.dataset.key} | {first:.2f} | {warm:.1f} | {plain:.1f} | "
            f"{one:.2f} | {overview:.1f}"
        )


if __name__ == "__main__":
    main()
