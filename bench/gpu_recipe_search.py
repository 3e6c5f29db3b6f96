"""Recipe search on a lent GPU with Keras 3's JAX backend (the device image has no TensorFlow).

A search, not the engine: the shipped runs are trained with `python -m cnn train` on the
2-core machine. This tries recipes fast to choose the one to train there. It mirrors
`cnn.training`: the registry architecture, the engine's augmentation layers (the stroke
thickness one rewritten with keras.ops), the seed-0 10% stratified hold-out (not trained on),
AdamW + cosine warm-up (5% of steps), label smoothing, EMA; redrawn digits mixed in at the
given share. CutMix/MixUp are done on the host per batch, before the augmentation (the
engine mixes after it). Its JAX figures tracked the engine's: Fashion-MNIST vgg_wide_28 with
the 2026-11-24 recipe gave 94.12/94.19/94.02% (seeds 0-2) here and 94.04% in the engine.

Prints one JSON line per run: test accuracy of the final (EMA) weights, and with the mirror
image read too (`tta_flip`).

Data: an .npz (optionally .npz.xz) with x_train, y_train (the training part after the seed-0
hold-out, with `kept`), x_test, y_test, and for digits x_redrawn (cnn.strokes.redrawn_digits
of x_train). The device takes 64 MiB with the repository: carry one dataset per call.

usage (via bench/gpu_recipe_search.sh, which installs the carried keras wheels and runs the
configs side by side on the one GPU):
    python bench/gpu_recipe_search.py DATA.npz.xz NAME key=value ...
    keys: arch epochs batch lr wd ls ema aug mix seed redraw limit
"""

import io
import json
import lzma
import math
import sys
import time

import keras  # KERAS_BACKEND=jax (bench/gpu_recipe_search.sh sets it)
import numpy as np
from keras import ops

from cnn import architectures
from cnn.datasets.splits import _holdout_mask
from cnn.training import recipe as aug_mod


def stroke_class():
    class StrokeThickness(keras.layers.Layer):
        def __init__(self, seed=None, widest=2, **kw):
            super().__init__(**kw)
            self.widest = widest
            self.gen = keras.random.SeedGenerator(seed or 0)

        def call(self, x, training=False):
            if not training:
                return x
            choices = [-ops.max_pool(-x, 2, 1, "same"), x]
            choices += [ops.max_pool(x, k, 1, "same") for k in range(2, self.widest + 1)]
            pick = keras.random.randint((ops.shape(x)[0], 1, 1, 1), 0, len(choices), seed=self.gen)
            out = choices[0]
            for i, v in enumerate(choices[1:], start=1):
                out = ops.where(pick == i, v, out)
            return out

    return StrokeThickness


aug_mod.StrokeThickness = stroke_class()


def mix_batch(x, y, kind, rng):
    if kind == "none":
        return x, y
    perm = rng.permutation(len(x))
    if kind == "mixup":
        lam = rng.beta(0.2, 0.2, size=(len(x), 1)).astype(np.float32)
        return lam[:, :, None, None] * x + (1 - lam[:, :, None, None]) * x[perm], lam * y + (
            1 - lam
        ) * y[perm]
    h, w = x.shape[1:3]
    lam = rng.beta(1.0, 1.0, size=len(x))
    out, ys = x.copy(), y.copy()
    for i in range(len(x)):
        ch, cw = int(h * math.sqrt(1 - lam[i])), int(w * math.sqrt(1 - lam[i]))
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        out[i, y0:y1, x0:x1] = x[perm[i], y0:y1, x0:x1]
        share = (y1 - y0) * (x1 - x0) / (h * w)
        ys[i] = (1 - share) * y[i] + share * y[perm[i]]
    return out, ys


def main():
    opener = lzma.open if sys.argv[1].endswith(".xz") else open
    with opener(sys.argv[1], "rb") as fh:
        raw = fh.read()
    data = np.load(io.BytesIO(raw))
    name = sys.argv[2]
    c = dict(
        arch="vgg_wide_28",
        epochs=30,
        batch=128,
        lr=0.003,
        wd=0.05,
        ls=0.1,
        ema=0.999,
        aug="grayscale-strong",
        mix="none",
        seed=0,
        redraw=0.0,
        limit=0,
    )
    for kv in sys.argv[3:]:
        k, v = kv.split("=", 1)
        c[k] = type(c[k])(v) if not isinstance(c[k], str) else v
    keras.utils.set_random_seed(c["seed"])
    xtr, ytr, xte, yte = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    if "kept" not in data:  # else the carried file holds the seed-0 training part only
        keep = ~_holdout_mask(ytr, 0.1, 0)
        xtr, ytr = xtr[keep], ytr[keep]
    if c["limit"]:
        xtr, ytr, xte, yte = (
            xtr[: c["limit"]],
            ytr[: c["limit"]],
            xte[: c["limit"]],
            yte[: c["limit"]],
        )
    alt = data["x_redrawn"] if c["redraw"] else None
    n, k = len(xtr), 10
    base = architectures.build_named(c["arch"], (28, 28, 1), k)
    layers = [keras.Input((28, 28, 1))]
    if c["aug"] != "none":
        layers.append(aug_mod.augmentation(c["aug"], c["seed"]))
    layers += [keras.layers.Lambda(lambda t: ops.clip(t, 0.0, 1.0)), base]
    trainer = keras.Sequential(layers)
    for layer in trainer._flatten_layers():  # the affine layers say no for XLA on TF; JAX jits them
        layer.supports_jit = True
    steps = math.ceil(n / c["batch"])
    total = steps * c["epochs"]
    warm = int(0.05 * total)
    lr = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, total - warm), warmup_target=c["lr"], warmup_steps=warm
    )
    opt_kw = dict(learning_rate=lr)
    if c["ema"]:
        opt_kw.update(use_ema=True, ema_momentum=c["ema"])
    if c["wd"]:
        opt = keras.optimizers.AdamW(weight_decay=c["wd"], **opt_kw)
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    else:
        opt = keras.optimizers.Adam(**opt_kw)
    trainer.compile(
        opt, keras.losses.CategoricalCrossentropy(label_smoothing=c["ls"]), jit_compile=True
    )
    rng = np.random.default_rng(c["seed"])
    eye = np.eye(k, dtype=np.float32)

    class Gen(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = rng.permutation(n)

        def __len__(self):
            return steps

        def on_epoch_end(self):
            self.order = rng.permutation(n)

        def __getitem__(self, i):
            idx = self.order[i * c["batch"] : (i + 1) * c["batch"]]
            x = xtr[idx]
            if alt is not None:
                pick = rng.random(len(idx)) < c["redraw"]
                x = np.where(pick[:, None, None], alt[idx], x)
            x = x[..., None].astype(np.float32) / 255.0
            return mix_batch(x, eye[ytr[idx]], c["mix"], rng)

    t0 = time.time()

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(
                f"{name} epoch {epoch + 1} {time.time() - t0:.0f}s loss {logs['loss']:.4f}",
                file=sys.stderr,
                flush=True,
            )

    trainer.fit(Gen(), epochs=c["epochs"], verbose=0, callbacks=[Progress()])
    secs = time.time() - t0
    xt = xte[..., None].astype(np.float32) / 255.0
    p = base.predict(xt, batch_size=1000, verbose=0)
    acc = float((p.argmax(1) == yte).mean())
    pf = base.predict(xt[:, :, ::-1], batch_size=1000, verbose=0)
    tta = float(((p + pf).argmax(1) == yte).mean())
    print(
        json.dumps({"name": name, **c, "acc": acc, "tta_flip": tta, "secs": round(secs, 1)}),
        flush=True,
    )


if __name__ == "__main__":
    main()
