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
from cnn.i18n import tr


def describe(arithmetic) -> list[str]:
    """The arithmetic as readable lines for the terminal."""
    a = arithmetic
    field = a.receptive_field
    lines = [
        tr("{layer}, channel {channel}, at y {y}, x {x}").format(
            layer=a.layer, channel=a.channel, y=a.at[0], x=a.at[1]
        ),
        tr(
            "  sees input pixels: rows {top}-{bottom}, columns {left}-{right} ({height} x {width})"
        ).format(
            top=field.top,
            bottom=field.bottom,
            left=field.left,
            right=field.right,
            height=field.height,
            width=field.width,
        ),
    ]
    if a.kind != "add":  # an add reads one number of each of its two inputs, no window
        window = " x ".join(map(str, a.window.shape))
        lines.append(
            tr("  window on its input: {window}").format(window=window)
            if a.inside.all()
            else tr(
                "  window on its input: {window} ({n} positions are padding, counted as 0)"
            ).format(window=window, n=(~a.inside).sum())
        )
    if a.kind == "pool":
        said = (
            tr("  max pooling takes the largest of the window: {value}")
            if a.operation == "max"
            else tr("  {operation} pooling takes the average of the window: {value}")
        )
        lines.append(said.format(operation=a.operation, value=f"{a.value:.6f}"))
    elif a.kind == "add":
        lines.append(f"  {a.main_layer} {a.main:.6f} + {tr('shortcut')} {a.shortcut_layer} "
                     f"{a.shortcut:.6f} = {a.sum:.6f}")  # fmt: skip
        lines.append(f"  {a.activation}: {a.value:.6f}")
    else:
        lines += [
            tr("  sum of {n} products (window x kernel): {sum}").format(
                n=a.products.size, sum=f"{a.sum:.6f}"
            ),
            tr("  + bias {bias} = {total}").format(
                bias=f"{a.bias:.6f}", total=f"{a.sum + a.bias:.6f}"
            ),
        ]
        if a.batch_norm is not None:
            bn = a.batch_norm
            lines.append(
                tr(
                    "  batch norm (gamma {gamma}, beta {beta}, mean {mean}, variance {variance}, "
                    "epsilon {epsilon}): {output}"
                ).format(
                    gamma=f"{bn.gamma:.4f}",
                    beta=f"{bn.beta:.4f}",
                    mean=f"{bn.mean:.4f}",
                    variance=f"{bn.variance:.4f}",
                    epsilon=f"{bn.epsilon:g}",
                    output=f"{bn.output:.6f}",
                )
            )
        lines.append(f"  {a.activation}({a.pre_activation:.6f}) = {a.value:.6f}")
    lines.append(tr("  the feature map shows {value}").format(value=f"{a.keras_value:.6f}"))
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
        "explain", parents=[common], help=tr("the arithmetic of one feature-map value of a run")
    )
    e.add_argument("--model", required=True, help=tr("run folder"))
    e.add_argument("file", help=tr("an image file (prepared as `predict` prepares it)"))
    e.add_argument("--layer", required=True, help=tr("a conv or pooling layer's name"))
    e.add_argument("--channel", type=int, required=True, help=tr("output channel (from 0)"))
    e.add_argument(
        "--at", type=int, nargs=2, required=True, metavar=("Y", "X"), help=tr("row and column")
    )
    e.set_defaults(run=cmd_explain)
