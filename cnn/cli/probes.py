"""`probe`, `nearest` and `attack`: look further into what a saved run does with one file.

FILE goes through the Predict page's preprocessing (`prepare_upload`), exactly as `predict`.

Example:
    python -m cnn probe --model artifacts/<run> digit.png --sweep shift_x --json
    python -m cnn nearest --model artifacts/<run> digit.png --k 5 --json
    python -m cnn attack --model artifacts/<run> digit.png --method pgd --json
"""

from __future__ import annotations

import numpy as np

from cnn import datasets, preprocess
from cnn.cli import CliError, print_json
from cnn.cli.runs import load_run
from cnn.i18n import tr
from cnn.probes import attack, embedding, sweeps


def _model_input(run, file: str) -> np.ndarray:
    """The model input Predict would make of a file, or a sentence saying why not."""
    try:
        return preprocess.prepare_upload(preprocess.load_image(file), run.preprocessing).input
    except preprocess.PreprocessError as err:
        raise CliError(f"{file}: {err}") from err  # the error is a sentence already


def _opened(args):
    """(run, inspector, model input) for the command's --model and FILE."""
    from cnn.inspect import Inspector

    run = load_run(args.model)
    # one-off calls: compiling with XLA would cost more than it saves
    mirror = run.record.config.mirror  # read as Predict reads the run
    return run, Inspector(run.model, jit_compile=False, mirror=mirror), _model_input(run, args.file)


def cmd_probe(args) -> int:
    run, inspector, image = _opened(args)
    result = sweeps.run_sweep(inspector, image, args.sweep, run.preprocessing["method"])
    names = [run.class_names[i] for i in result.labels]
    if args.json:
        print_json(
            {
                "sweep": args.sweep,
                "values": result.values.tolist(),
                "probabilities": np.round(result.probabilities.astype(float), 6).tolist(),
                "labels": names,
            }
        )
        return 0
    print(
        tr("{sweep} ({unit}) of {file}:").format(
            sweep=tr(result.sweep.title), unit=tr(result.sweep.unit), file=args.file
        )
    )
    for value, name, probs in zip(result.values, names, result.probabilities, strict=True):
        print(f"  {value:>8g}  {name:<16} {probs.max():.1%}")
    below, above = result.flip()
    print(
        "  "
        + tr(
            "the answer changes at {below} and {above} (None: not within the values tried)"
        ).format(below=below, above=above)
    )
    return 0


def cmd_nearest(args) -> int:
    if args.k < 1:
        raise CliError(tr("--k must be at least 1."))
    run, inspector, image = _opened(args)
    record = run.record
    data = datasets.load(record.dataset.key, record.config.data)
    limit = args.limit or None
    pool = embedding.embedded_split(run, inspector, data, "train", limit)
    feature, _ = inspector.predict_with_features(image[None])
    found = embedding.nearest(pool, feature[0], args.k)
    neighbours = [
        {"label": data.class_names[n.label], "distance": round(n.distance, 6), "index": n.index}
        for n in found
    ]
    if args.json:
        print_json({"neighbours": neighbours, "source": pool.source})
        return 0
    print(
        tr("Nearest to {file} among {source}:").format(file=args.file, source=pool.source_words())
    )
    for n in neighbours:
        line = tr("training image {index}  {label} distance {distance}").format(
            index=f"{n['index']:>6}", label=f"{n['label']:<16}", distance=f"{n['distance']:.4f}"
        )
        print("  " + line)
    return 0


def cmd_attack(args) -> int:
    run, inspector, image = _opened(args)
    target = None
    if args.toward is not None:
        if args.toward not in run.class_names:
            raise CliError(
                tr("{name} is not one of the model's classes: {names}.").format(
                    name=repr(args.toward), names=", ".join(run.class_names)
                )
            )
        target = run.class_names.index(args.toward)
    attacker = attack.Attacker(inspector, jit_compile=False)
    try:
        found = attacker.attack(image, args.method, target)
    except attack.AttackError as err:
        raise CliError(str(err)) from err
    doc = {
        "label_before": run.class_names[found.label_before],
        "label_after": run.class_names[found.label_after],
        "epsilon": None if found.epsilon is None else round(found.epsilon, 6),
        "method": found.method,
        "goal": found.goal,
        "target": None if target is None else run.class_names[target],
    }
    if args.json:
        print_json(doc)
    elif found.epsilon is None:
        print(
            tr("{method}: no epsilon up to 1 changed {before} as asked.").format(
                method=args.method, before=repr(doc["label_before"])
            )
        )
    else:
        print(
            tr("{method}: epsilon {epsilon} turns {before} into {after} ({share}).").format(
                method=args.method, epsilon=f"{found.epsilon:.4f}",
                before=repr(doc["label_before"]), after=repr(doc["label_after"]),
                share=f"{found.probabilities_after.max():.1%}",
            )
        )  # fmt: skip
    return 0


def register(sub, common) -> None:
    """Add `probe`, `nearest` and `attack`."""
    p = sub.add_parser("probe", parents=[common], help=tr("sweep a transform over one image"))
    p.add_argument("--model", required=True, help=tr("run folder"))
    p.add_argument("file")
    p.add_argument("--sweep", required=True, choices=list(sweeps.SWEEPS))
    p.set_defaults(run=cmd_probe)
    n = sub.add_parser("nearest", parents=[common], help=tr("the training images nearest to one"))
    n.add_argument("--model", required=True, help=tr("run folder"))
    n.add_argument("file")
    n.add_argument("--k", type=int, default=5, help=tr("how many neighbours (default 5)"))
    n.add_argument(
        "--limit",
        type=int,
        default=embedding.TRAIN_POOL,
        help=f"training images searched, stratified (default {embedding.TRAIN_POOL}; 0: all)",
    )
    n.set_defaults(run=cmd_nearest)
    a = sub.add_parser("attack", parents=[common], help=tr("the smallest change that fools it"))
    a.add_argument("--model", required=True, help=tr("run folder"))
    a.add_argument("file")
    a.add_argument("--method", choices=attack.METHODS, default="fgsm")
    a.add_argument("--toward", help=tr("a class to push toward (default: away from the answer)"))
    a.set_defaults(run=cmd_attack)
