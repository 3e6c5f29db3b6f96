"""A standalone Keras training script written from a run's record (no CNN Lab import in it).

The script a student gets is plain Keras: the run's settings as named constants, the model
as one `keras.Sequential([...])` list (`x = layer(x)` lines for a residual model) whose
lines are written from the Keras layers `cnn.architectures.build` makes from the run's spec
(same layers, same names, same parameter count), the augmentation written from the layers
`cnn.training.recipe.augmentation` makes, the data loading the run used, and `fit`. It takes
`--dry-run` (build the model, print `{"params": N}`, exit), `--data DIR` (local data: the
IDX files of MNIST-style sets, or a folder of class subfolders), `--epochs`,
`--max-samples`, `--teacher` and `--save`.

The scaffolding is a Jinja2 template that reads as the script it makes
(templates/train_script.py.j2). The training recipe in it is the engine's own: the source of
`cnn.training.recipe`'s optimizer, mixing and distillation functions and of its own layers
(stroke thickness, elastic distortion) is copied in with `inspect.getsource`, as are the
split order (`cnn.datasets.splits`) and, for redrawn strokes, `cnn.strokes`' functions.

What it reproduces exactly and what it does not, said in the script too: MNIST-style runs
pick the same training and validation images (the same stratified, seeded order as
`cnn.datasets.splits`); photo folders are read with Keras' own
`image_dataset_from_directory` (same centre crop, size and validation share, but Keras'
own choice of validation images). Weights differ from run to run on any machine unless
everything, data order included, is the same.
"""

from __future__ import annotations

import functools
import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

import jinja2

from cnn import architectures, datasets, strokes
from cnn.datasets.splits import _stratified_order
from cnn.export.layers_code import layer_code
from cnn.record import RunRecord
from cnn.training import recipe as recipes
from cnn.training.config import describe
from cnn.training.recipe import Recipe

ARRAY_DATASETS = {  # dataset key -> the keras.datasets module that downloads it
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
}
# photo datasets whose public archive holds class subfolders (Flowers-17's holds loose files)
FOLDER_DOWNLOADS = {"cats_vs_dogs": datasets.URLS["cats_vs_dogs"]}
INDENT = " " * 12  # the model's layer list sits three levels deep
TEMPLATE = Path(__file__).parent / "templates" / "train_script.py.j2"
# copied into every script: the recipe's optimizer, image mixing and distillation targets
RECIPE_FUNCTIONS = (recipes.make_optimizer, recipes.mixed, recipes.distilled)
# copied into the script of a run trained with redrawn strokes
STROKE_FUNCTIONS = (strokes.mnist_centre, strokes.pen_for, strokes.redrawn_digit,
                    strokes.redrawn_digits)  # fmt: skip
IMPORTS = ["import argparse", "import json", "import sys", "from pathlib import Path",
           "from collections.abc import Callable"]  # fmt: skip


@functools.cache
def _template() -> jinja2.Template:
    """The script's scaffolding: Python with {{ value }} and {% if part %} in it."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=False,  # Python source, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a name the template misses is an error, not ""
    )
    environment.filters["py"] = repr  # a value as Python source
    return environment.get_template(TEMPLATE.name)


def _about(config) -> Any:
    """A function giving a setting's help (the schema's, `describe`) as comment lines."""
    helps = {name: text for name, _, text in describe(config)}
    return lambda name: textwrap.fill(helps[name], 99, initial_indent="# ", subsequent_indent="# ")


def _sources(*objects: Any) -> str:
    """Functions and classes as their own source, two blank lines apart."""
    return "\n\n\n".join(inspect.getsource(o).rstrip() for o in objects)


def _layers_block(layer_objects, overrides=None) -> str:
    """Layers as the lines of a list, one constructor call each."""
    overrides = overrides or {}
    return "\n".join(
        layer_code(layer, overrides.get(layer.name), INDENT) + "," for layer in layer_objects
    )


def _graph_block(model, overrides) -> str:
    """A functional model's layers as `x = layer(x)` lines; a layer that reads an earlier
    output than the last one (a shortcut, an add) reads it by that layer's name."""
    layers = architectures.model_layers(model)
    previous = ["image"] + [layer.name for layer in layers[:-1]]
    wiring = architectures.inbound_layers(model)
    kept = {
        n for layer, p in zip(layers, previous, strict=True) for n in wiring[layer.name] if n != p
    }
    lines = []
    for layer, before in zip(layers, previous, strict=True):
        names = ["x" if n == before else n for n in wiring[layer.name]]
        arg = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
        code = layer_code(layer, overrides.get(layer.name), INDENT)
        lines.append(f"    x = {code[len(INDENT) :]}({arg})")
        if layer.name in kept:
            lines.append(f"    {layer.name} = x")
    return "\n".join(lines)


def _names_code(names: list[str]) -> str:
    """The class names as a Python list: on one line when short, else one name a line."""
    one_line = "[" + ", ".join(json.dumps(n, ensure_ascii=False) for n in names) + "]"
    if len(one_line) < 80:
        return one_line
    return "[\n" + "".join(f"    {json.dumps(n, ensure_ascii=False)},\n" for n in names) + "]"


def _import_order(line: str) -> tuple[bool, str]:
    """isort's order: `import x` lines first, then `from x import y`, each alphabetical."""
    return line.startswith("from"), line


def _data_parts(record: RunRecord, recipe: Recipe) -> dict[str, Any]:
    """How the script loads the run's data: its imports, the docstring's paragraph, the --data
    help, and for MNIST-style sets the source of CNN Lab's functions it copies."""
    key = record.dataset.key
    if key in ARRAY_DATASETS:
        redraw = bool(recipe.redraw_strokes)
        help_text = (
            "DATA is a folder holding the four IDX files (train-images-idx3-ubyte.gz, ...); "
            f"without --data, Keras downloads {record.dataset.title}."
        )
        return {
            "arrays": True,
            "imports": ["import gzip", "import struct"] + (["import cv2"] if redraw else []),
            "keras_module": ARRAY_DATASETS[key],
            "stratified_order": _sources(_stratified_order).replace("def _", "def ", 1),
            "stroke_fraction": strokes.STROKE_FRACTION,
            "stroke_functions": _sources(*STROKE_FUNCTIONS) if redraw else "",
            "help": textwrap.fill(help_text, 88),
            "option": "folder with the four IDX files (default: Keras' download)",
        }
    url = FOLDER_DOWNLOADS.get(key)
    where = f"without --data, Keras downloads {url}" if url else "--data is needed"
    help_text = (
        "DATA is a folder of one subfolder of images per class (or a .zip of one), "
        f"with or without train/ and test/ folders; {where}."
    )
    return {
        "arrays": False,
        "imports": ["import math", "import shutil", "import tempfile"],
        "url": url,
        "help": textwrap.fill(help_text, 88),
        "option": "folder (or .zip) of class subfolders",
    }


def _model_code(record: RunRecord) -> dict[str, Any]:
    """The run's model as the script writes it: `x = layer(x)` lines for a graph (residual)
    model, else the lines of a Sequential list."""
    pre = record.preprocessing
    input_shape = (*pre.image_size, pre.channels)
    model = architectures.build(record.spec, input_shape, len(record.class_names))
    overrides = {architectures.OUTPUT_LAYER: {"units": "len(CLASS_NAMES)"}}
    graph = type(model).__name__ != "Sequential"
    layers = _graph_block(model, overrides) if graph else _layers_block(model.layers, overrides)
    return {"graph": graph, "layers": layers, "name": model.name}


def _augmentation_code(recipe: Recipe) -> dict[str, str] | None:
    """The recipe's augmentation as the script writes it: the lines of its layer list, and the
    source of CNN Lab's own layers in it (with the functions they call); None without."""
    augment = recipe.augmentation_layers()
    if augment is None:
        return None
    used = {type(layer) for layer in augment.layers}
    own = [recipes.StrokeThickness] if recipes.StrokeThickness in used else []
    if recipes.ElasticDistortion in used:
        own += [recipes.elastic_fields, recipes.displaced, recipes.ElasticDistortion]
    return {
        "layers": _layers_block(augment.layers),
        "name": augment.name,
        "classes": _sources(*own),
    }


def _run_facts(record: RunRecord) -> dict[str, Any]:
    """What the script's docstring says of the run it was written from."""
    accuracy = record.test.accuracy
    return {
        "label": record.label,
        "name": record.name or "(unsaved)",
        "arch": record.arch_name,
        "dataset": record.dataset.title or record.dataset.key,
        "epochs": record.epochs_run or record.config.epochs,
        "accuracy": "not measured" if accuracy is None else f"{accuracy:.1%}",
        "tensorflow": record.versions.get("tensorflow", "2.x"),
        "keras": record.versions.get("keras", "3.x"),
    }


def script_source(record: RunRecord, file_name: str) -> str:
    """The training script of a run, as Python source.

    Args:
        record: the run's record (config, spec, preprocessing, dataset, class names).
        file_name: the name the script is saved under (shown in its usage lines).

    Raises:
        ExportError: the run has no architecture description, or uses a layer the writer
            does not know.
    """
    from cnn.errors import ExportError
    from cnn.export.layers_code import UnknownLayer

    if record.spec is None:
        raise ExportError("This run's record holds no architecture, so no script can be written.")
    config, pre = record.config, record.preprocessing
    kind = datasets.kind_of_method(pre.method)
    recipe = Recipe.of(config, None if kind is None else kind.key)
    try:
        model, augment = _model_code(record), _augmentation_code(recipe)
    except UnknownLayer as err:
        raise ExportError(f"{err} No script can be written for this run.") from err
    data = _data_parts(record, recipe)
    imports = (
        data["imports"]
        + IMPORTS
        + (["from typing import Any"] if augment and augment["classes"] else [])
    )
    return _template().render(
        run=_run_facts(record),
        file_name=file_name,
        imports="\n".join(sorted(imports, key=_import_order)),
        class_names=_names_code(record.class_names),
        image_size=tuple(pre.image_size),
        channels=pre.channels,
        config=config,
        about=_about(config),
        recipe=recipe,
        teachers=[Path(path).name for path in config.teachers],
        model=model,
        augment=augment,
        data=data,
        recipe_functions=_sources(*RECIPE_FUNCTIONS),
    )
