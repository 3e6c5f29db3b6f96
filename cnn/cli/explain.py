"""`explain`: every number behind one feature-map value of a saved run, for one image file.

The file goes through the Predict page's preprocessing (as `predict` does); the value is the
layer's output as the feature-map view shows it (a conv's activated output).

Example:
    python -m cnn explain --model artifacts/<run> digit.png --layer conv1 --channel 3 --at 5 7
"""

from __future__ import annotations

from cnn import preprocess
from cnn.cli import CliError, print_json
from cnn.cli.runs import load_run, prepared_file


def describe(arithmetic) -> list[str]:
    """The arithmetic as readable lines for the terminal."""
    a = arithmetic
    field = a.receptive_field
    lines = [
        f"{a.layer}, channel {a.channel}, at y {a.at[0]}, x {a.at[1]}",
        f"  sees input pixels: rows {field.top}-{field.bottom}, columns {field.left}-{field.right}"
        f" ({field.height} x {field.width})",
    ]
    if a.kind != "add":  # an add reads one number of each of its two inputs, no window
        lines.append(
            f"  window on its input: {' x '.join(map(str, a.window.shape))}"
            + (
                ""
                if a.inside.all()
                else f" ({(~a.inside).sum()} positions are padding, counted as 0)"
            )
        )
    if a.kind == "pool":
        what = "the largest" if a.operation == "max" else "the average"
        lines.append(f"  {a.operation} pooling takes {what} of the window: {a.value:.6f}")
    elif a.kind == "add":
        lines.append(f"  {a.main_layer} {a.main:.6f} + shortcut {a.shortcut_layer} "
                     f"{a.shortcut:.6f} = {a.sum:.6f}")  # fmt: skip
        lines.append(f"  {a.activation}: {a.value:.6f}")
    else:
        lines += [
            f"  sum of {a.products.size} products (window x kernel): {a.sum:.6f}",
            f"  + bias {a.bias:.6f} = {a.sum + a.bias:.6f}",
        ]
        if a.batch_norm is not None:
            bn = a.batch_norm
            lines.append(
                f"  batch norm (gamma {bn.gamma:.4f}, beta {bn.beta:.4f}, mean {bn.mean:.4f}, "
                f"variance {bn.variance:.4f}, epsilon {bn.epsilon:g}): {bn.output:.6f}"
            )
        lines.append(f"  {a.activation}({a.pre_activation:.6f}) = {a.value:.6f}")
    lines.append(f"  the feature map shows {a.keras_value:.6f}")
    return lines


def cmd_explain(args) -> int:
    from cnn.explain import Explainer

    run = load_run(args.model)
    try:
        steps = prepared_file(run, args.file)
    except preprocess.PreprocessError as err:
        raise CliError(str(err)) from err
    explainer = Explainer.for_run(run)
    forward = explainer.forward(steps.input)
    y, x = args.at
    arithmetic = explainer.position(forward, args.layer, args.channel, y, x)
    if args.json:
        print_json(arithmetic.to_dict())
    else:
        print("\n".join(describe(arithmetic)))
    return 0


def register(sub, common) -> None:
    """Add `explain`."""
    e = sub.add_parser(
        "explain", parents=[common], help="the arithmetic of one feature-map value of a run"
    )
    e.add_argument("--model", required=True, help="run folder")
    e.add_argument("file", help="an image file (prepared as `predict` prepares it)")
    e.add_argument("--layer", required=True, help="a conv or pooling layer's name")
    e.add_argument("--channel", type=int, required=True, help="output channel (from 0)")
    e.add_argument(
        "--at", type=int, nargs=2, required=True, metavar=("Y", "X"), help="row and column"
    )
    e.set_defaults(run=cmd_explain)
