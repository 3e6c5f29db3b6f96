"""`visualize`: the picture a channel (or a class) of a saved run responds to most.

Gradient ascent from a grey start (`cnn.visualize`); the PNG is the model's input itself (its
size and colour mode), so feeding it back through the model gives the printed activation: a
channel's mean over its feature map, or a class's score (logit).

Example:
    python -m cnn visualize --model artifacts/<run> --layer conv4_2 --channel 3 --out c3.png
    python -m cnn visualize --model artifacts/<run> --class 7 --out seven.png --json
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnn.cli import CliError, print_json
from cnn.cli.backprop import class_index
from cnn.cli.runs import load_run
from cnn.i18n import tr


def save_png(image: np.ndarray, path: Path) -> None:
    """A float (h, w, 1 or 3) picture in [0, 1] as an 8-bit grey or RGB PNG."""
    from PIL import Image

    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if pixels.shape[-1] == 1:
        picture = Image.fromarray(pixels[..., 0], mode="L")
    else:
        picture = Image.fromarray(pixels, mode="RGB")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path, format="PNG")
    except OSError as err:
        raise CliError(
            tr("Cannot write {path}: {error}.").format(path=path, error=err.strerror or err)
        ) from err


def cmd_visualize(args) -> int:
    from cnn.visualize import VisualizeError, visualize

    run = load_run(args.model)
    if (args.layer is None) == (args.class_ is None):
        raise CliError(tr("Give --layer with --channel, or --class (one of the two)."))
    if args.layer is not None and args.channel is None:
        raise CliError(tr("--layer needs --channel: the channel of its map to visualise."))
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise CliError(
            tr("The output file must end in .png, not {name}.").format(name=repr(out.name))
        )
    try:
        if args.class_ is not None:
            label = class_index(args.class_, run.class_names)
            (result,) = visualize(run.model, classes=[label], steps=args.steps, seed=args.seed)
        else:
            (result,) = visualize(
                run.model, args.layer, channels=[args.channel], steps=args.steps, seed=args.seed
            )
    except VisualizeError as err:
        raise CliError(str(err)) from err
    save_png(result.image, out)
    if args.json:
        print_json(result.to_dict(str(out)))
    else:
        if result.layer:
            text = tr("{out}: {layer}, channel {index}: mean activation {value} ({seconds} s)")
        else:
            text = tr("{out}: class {name}: score (logit) {value} ({seconds} s)")
        print(
            text.format(
                out=out, layer=result.layer, index=result.index,
                name=run.class_names[result.index], value=f"{result.activation:.4f}",
                seconds=f"{result.seconds:.1f}",
            )
        )  # fmt: skip
    return 0


def register(sub, common) -> None:
    """Add `visualize`."""
    from cnn.visualize import STEPS

    v = sub.add_parser(
        "visualize", parents=[common], help=tr("the picture a channel or a class responds to most")
    )
    v.add_argument("--model", required=True, help=tr("run folder"))
    v.add_argument("--layer", help=tr("a conv, pooling or add layer's name"))
    v.add_argument("--channel", type=int, help=tr("a channel of that layer's map (from 0)"))
    v.add_argument("--class", dest="class_", help=tr("a class name or number, instead of a layer"))
    v.add_argument("--out", required=True, help=tr("the PNG to write"))
    v.add_argument(
        "--steps", type=int, default=STEPS, help=tr("ascent steps ({n})").format(n=STEPS)
    )
    v.add_argument("--seed", type=int, default=0, help=tr("the start's noise and the jitter (0)"))
    v.set_defaults(run=cmd_visualize)
