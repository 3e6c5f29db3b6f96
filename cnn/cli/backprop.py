"""`backprop`: one SGD step of one conv weight of a saved run, for one image file and its label.

The file goes through the Predict page's preprocessing (as `predict` does); the numbers are
`cnn.backprop.weight_step`'s: the loss, the weight's gradient written out as a sum over the
filter's output positions, the weight after `w - lr x gradient`, and the loss afterwards.

Example:
    python -m cnn backprop --model artifacts/<run> digit.png --label 7 --layer conv1 \
        --filter 3 --weight 1 2 0 --lr 0.01 --json
"""

from __future__ import annotations

from cnn import preprocess
from cnn.cli import CliError, print_json
from cnn.cli.runs import load_run, prepared_file
from cnn.i18n import tr


def class_index(label: str, class_names: list[str]) -> int:
    """A label given as a class name or a class number, as the model's class number."""
    if label in class_names:
        return class_names.index(label)
    if label.lstrip("-").isdigit() and 0 <= int(label) < len(class_names):
        return int(label)
    raise CliError(
        tr(
            "The label {label} is not one of this model's classes: give a name ({names}) or a "
            "number from 0 to {last}."
        ).format(label=repr(label), names=", ".join(class_names), last=len(class_names) - 1)
    )


def describe(step, class_names: list[str]) -> list[str]:
    """The step as readable lines for the terminal."""
    r, c, ch = step.weight
    return [
        tr(
            "{layer}, filter {f}, weight at row {r}, column {c}, input channel {ch}; true label "
            "{label}"
        ).format(layer=step.layer, f=step.filter_index, r=r, c=c, ch=ch,
                 label=class_names[step.label]),
        "  " + tr("loss: {formula}").format(
            formula=f"-log({step.probability:.6f}) = {step.loss:.6f}"),
        "  " + tr(
            "gradient: the sum over {n} positions of (gradient reaching the filter's map x the "
            "input under the weight) = {gradient}"
        ).format(n=step.products.size, gradient=f"{step.gradient:.6g}"),
        "  " + tr("(TensorFlow's GradientTape: {gradient})").format(
            gradient=f"{step.tape_gradient:.6g}"),
        "  " + tr("new weight: {formula}").format(
            formula=f"{step.weight_before:.6f} - {step.learning_rate:g} x {step.gradient:.6g}"
            f" = {step.weight_after:.6f}"),
        "  " + tr("loss after moving only this weight: {loss}").format(
            loss=f"{step.loss_after_weight:.6f}"),
        "  " + tr("loss after one SGD step of every weight: {loss}").format(
            loss=f"{step.loss_after:.6f}"),
    ]  # fmt: skip


def cmd_backprop(args) -> int:
    from cnn.backprop import BackpropError, weight_step

    run = load_run(args.model)
    try:
        steps = prepared_file(run, args.file)
    except preprocess.PreprocessError as err:
        raise CliError(str(err)) from err
    label = class_index(args.label, run.class_names)
    try:
        step = weight_step(
            run.model, steps.input, label, args.layer, args.filter, tuple(args.weight), args.lr
        )
    except BackpropError as err:
        raise CliError(str(err)) from err
    if args.json:
        print_json(step.to_dict())
    else:
        print("\n".join(describe(step, run.class_names)))
    return 0


def register(sub, common) -> None:
    """Add `backprop`."""
    b = sub.add_parser(
        "backprop", parents=[common], help=tr("one SGD step of one conv weight, number by number")
    )
    b.add_argument("--model", required=True, help=tr("run folder"))
    b.add_argument("file", help=tr("an image file (prepared as `predict` prepares it)"))
    b.add_argument("--label", required=True, help=tr("the image's true class: a name or a number"))
    b.add_argument("--layer", required=True, help=tr("a conv layer's name"))
    b.add_argument(
        "--filter", type=int, required=True, help=tr("the filter (output channel), from 0")
    )
    b.add_argument(
        "--weight",
        type=int,
        nargs=3,
        required=True,
        metavar=("ROW", "COL", "CHANNEL"),
        help=tr("the weight's row, column and input channel inside the filter"),
    )
    b.add_argument("--lr", type=float, default=0.01, help=tr("learning rate of the step (0.01)"))
    b.set_defaults(run=cmd_backprop)
