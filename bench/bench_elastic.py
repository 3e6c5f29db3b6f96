"""How strongly the elastic distortion may bend a digit and leave it a digit.

A trained digit model (by default the shipped one) reads N training digits bent by
`ElasticDistortion` at several (alpha, sigma) pairs. A setting that leaves many digits
misread by a good model teaches the model from digits that are no longer what their label
says; the engine's "elastic" augmentation uses the pair marked "engine".

    CNN_DATA_DIR=../shared/data PYTHONPATH=. python bench/bench_elastic.py [RUN_DIR] [--n 3000]
"""

from __future__ import annotations

import argparse

import numpy as np

from cnn import artifacts, datasets
from cnn.training.recipe import ELASTIC_ALPHA, ELASTIC_SIGMA, ElasticDistortion

SHIPPED = "artifacts/20261124-133544-mnist-vgg_wide-bf0813"
PAIRS = [(34.0, 4.0), (34.0, 5.0), (24.0, 4.0), (16.0, 4.0), (36.0, 6.0), (8.0, 3.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=SHIPPED)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    model = artifacts.load_run(args.run).model
    split = datasets.load("mnist").train
    x = split.images[: args.n].astype(np.float32) / 255
    y = split.labels[: args.n]
    plain = (model.predict(x, verbose=0, batch_size=500).argmax(1) == y).mean()
    print(f"{len(x)} training digits, read right unbent: {plain:.2%}")
    print("| alpha | sigma | displacement std (px) | read right | |")
    print("|---|---|---|---|---|")
    for alpha, sigma in PAIRS:
        layer = ElasticDistortion(alpha=alpha, sigma=sigma, seed=1)
        bent = np.concatenate(
            [layer(x[i : i + 500], training=True).numpy() for i in range(0, len(x), 500)]
        )
        fields = layer.displacements(np.array([64, 64, 64, 1])).numpy()
        reach = int(3 * sigma)
        std = fields[:, reach:-reach, reach:-reach].std()
        right = (model.predict(bent, verbose=0, batch_size=500).argmax(1) == y).mean()
        engine = "engine" if (alpha, sigma) == (ELASTIC_ALPHA, ELASTIC_SIGMA) else ""
        print(f"| {alpha:g} | {sigma:g} | {std:.2f} | {right:.2%} | {engine} |")


if __name__ == "__main__":
    main()
