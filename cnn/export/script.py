"""A standalone Keras training script written from a run's record (no CNN Lab import in it).

The script a student gets is plain Keras: the run's settings as named constants, the model
as one `keras.Sequential([...])` list (`x = layer(x)` lines for a residual model) whose
lines are written from the Keras layers `cnn.architectures.build` makes from the run's spec
(same layers, same names, same parameter count), the augmentation written from the layers
`cnn.datasets.augmentation` makes, the data loading the run used, and `fit`. It takes
`--dry-run` (build the model, print `{"params": N}`, exit), `--data DIR` (local data: the
IDX files of MNIST-style sets, or a folder of class subfolders), `--epochs`,
`--max-samples` and `--save`.

What it reproduces exactly and what it does not, said in the script too: MNIST-style runs
pick the same training and validation images (the same stratified, seeded order as
`cnn.datasets.splits`); photo folders are read with Keras' own
`image_dataset_from_directory` (same centre crop, size and validation share, but Keras'
own choice of validation images). Weights differ from run to run on any machine unless
everything, data order included, is the same.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from string import Template

from cnn import architectures, datasets, strokes
from cnn.datasets.augment import MIX_STRENGTH, displaced, elastic_fields
from cnn.datasets.splits import _stratified_order
from cnn.export.layers_code import layer_code
from cnn.record import RunRecord
from cnn.training.config import WARMUP_FRACTION

ARRAY_DATASETS = {  # dataset key -> the keras.datasets module that downloads it
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
}
# photo datasets whose public archive holds class subfolders (Flowers-17's holds loose files)
FOLDER_DOWNLOADS = {"cats_vs_dogs": datasets.URLS["cats_vs_dogs"]}
INDENT = " " * 12  # the model's layer list sits three levels deep

HEADER = Template('''#!/usr/bin/env python3
"""Train "$label" again with Keras alone.

CNN Lab wrote this script from run $run_name:
$arch_title on $dataset_title, $epochs_run epochs, test accuracy $accuracy.
It needs only TensorFlow $tf_version and Keras $keras_version (what the run used).

Train, evaluate on the test images and save the model:
    python $file_name --data DATA
A short try:
    python $file_name --data DATA --epochs 1 --max-samples 500
Build the model, print {"params": N} and stop:
    python $file_name --dry-run

$data_help
"""

$standard_imports

import keras
import numpy as np
import tensorflow as tf
from keras import layers

# The run's settings (run.json "config"); change them and train again
CLASS_NAMES = $class_names
IMAGE_SIZE = $image_size  # (height, width) of the model input
CHANNELS = $channels  # 1: grayscale, 3: colour
EPOCHS = $epochs
BATCH_SIZE = $batch_size
OPTIMIZER = "$optimizer"
LEARNING_RATE = $learning_rate
LR_SCHEDULE = "$lr_schedule"  # "cosine": warm up over WARMUP_FRACTION of the steps, then decay to 0
WARMUP_FRACTION = $warmup_fraction
LABEL_SMOOTHING = $label_smoothing
VALIDATION_FRACTION = $validation_fraction  # share of the training images held out to validate
MAX_SAMPLES = $max_samples  # None: every training image
AUGMENT = $augment  # random changes to the training images, a new one every epoch
MIX = "$mix"  # "mixup" / "cutmix": blend pairs of training images and their labels; "none"
MIX_STRENGTH = $mix_strength  # MixUp's alpha / CutMix's factor
WEIGHT_DECAY = $weight_decay  # decoupled weight decay on kernels (AdamW); 0: none
EMA = $ema  # evaluate with an exponential moving average of the weights; 0: none
SEED = $seed
''')
REDRAW_SETTING = """\
REDRAW_STROKES = {share}  # share of training digits shown redrawn with the app's pen
"""
TEACHERS_SETTING = """\
# knowledge distillation: the run also learned from what these trained runs answered for each
# training image; give their model.keras files with --teacher (Models page: Download model.keras)
TEACHERS = {names}
DISTILL = {share}  # the share of each target that is the teachers' mean answer
"""

STROKE_THICKNESS = '''

class StrokeThickness(keras.layers.Layer):
    """Randomly thin (erode), keep or thicken (dilate, kernels 2 to `widest`) the strokes."""

    def __init__(self, seed=None, widest=2, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.widest = widest

    def call(self, inputs, training=False):
        if not training:
            return inputs
        choices = [-tf.nn.max_pool2d(-inputs, 2, 1, "SAME"), inputs]
        choices += [tf.nn.max_pool2d(inputs, k, 1, "SAME") for k in range(2, self.widest + 1)]
        pick = tf.random.uniform(
            [tf.shape(inputs)[0], 1, 1, 1], 0, len(choices), dtype=tf.int32, seed=self.seed
        )
        out = choices[0]
        for i, version in enumerate(choices[1:], start=1):
            out = tf.where(pick == i, version, out)
        return out
'''

GRAPH_MODEL = Template('''

def build_model():
    """The network, layer by layer (the names are those the app shows). Each residual block's
    input is kept under its layer's name and added back to the block's output."""
    x = image = keras.Input(shape=(*IMAGE_SIZE, CHANNELS), name="image")
$layers
    return keras.Model(image, x, name="$name")
''')

MODEL = Template('''

def build_model():
    """The network, layer by layer (the names are those the app shows)."""
    return keras.Sequential(
        [
            keras.Input(shape=(*IMAGE_SIZE, CHANNELS), name="image"),
$layers
        ],
        name="$name",
    )
''')

ELASTIC_DISTORTION = '''

class ElasticDistortion(keras.layers.Layer):
    """Bend each digit by a smooth random displacement field (Simard et al. 2003): uniform
    noise in [-1, 1] blurred by a Gaussian of `sigma` pixels, scaled by `alpha`."""

    def __init__(self, alpha, sigma, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.sigma = sigma
        self.seed = seed

    def displacements(self, shape):
        return elastic_fields(shape, self.alpha, self.sigma, self.seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return displaced(inputs, self.displacements(tf.shape(inputs)))
'''


AUGMENTATION = Template('''

def augmentation():
    """The random changes made to training batches (only while training)."""
    return keras.Sequential(
        [
$layers
        ],
        name="$name",
    )
''')

ARRAYS = Template('''

IDX_FILES = {  # split -> (images, labels), the official file names
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """One IDX file (gzip-compressed or not) as a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_arrays(data):
    """(x_train, y_train), (x_test, y_test): from the IDX files in `data`, else Keras' download."""
    if data is None:
        return keras.datasets.$keras_module.load_data()
    splits = []
    for images, labels in IDX_FILES.values():
        found = [Path(data) / name for name in (images, labels)]
        found = [p if p.exists() else p.with_suffix("") for p in found]
        splits.append((read_idx(found[0]), read_idx(found[1])))
    return splits


# CNN Lab's own function, so the same seed picks the same training and validation images
$stratified_order


def batches(x, y, shuffle=False):
    """uint8 images and int labels as batches of float32 in [0, 1] and one-hot labels."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=SEED, reshuffle_each_iteration=True)
    ds = ds.batch(BATCH_SIZE)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, tf.one_hot(y, len(CLASS_NAMES))))


def load_data(data, max_samples):
    """Training, validation and test batches, cut as CNN Lab cut them."""
    (x_train, y_train), (x_test, y_test) = load_arrays(data)
    x_train, x_test = x_train[..., None], x_test[..., None]  # one channel
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    if max_samples is not None and max_samples < len(y_train):
        keep = np.sort(stratified_order(y_train, SEED)[:max_samples])
        x_train, y_train = x_train[keep], y_train[keep]
    validation = None
    if VALIDATION_FRACTION:
        order = stratified_order(y_train, SEED)
        held_out = int(round(len(y_train) * VALIDATION_FRACTION))
        val, kept = np.sort(order[:held_out]), np.sort(order[held_out:])
        validation = batches(x_train[val], y_train[val])
        x_train, y_train = x_train[kept], y_train[kept]
    return $train_batches, validation, batches(x_test, y_test)
''')

REDRAW = Template('''

# CNN Lab's own functions (cnn/strokes.py): a digit redrawn along its centre lines with the pen
# the app redraws a drawing with. They need OpenCV with its contrib modules
# (pip install opencv-contrib-python-headless).
STROKE_FRACTION = $fraction  # the app's pen: this share of the digit's size
$functions


def redrawn_batches(x, y):
    """Shuffled training batches in which each digit is its redrawn copy REDRAW_STROKES of
    the time (drawn afresh for every digit every epoch), as CNN Lab trained the run."""
    print(f"Redrawing {len(x)} training digits with the app's pen...")
    redrawn = redrawn_digits(x)
    ds = tf.data.Dataset.from_tensor_slices((x, redrawn, y))
    ds = ds.shuffle(len(x), seed=SEED, reshuffle_each_iteration=True).batch(BATCH_SIZE)

    def pick(x, r, y):
        take = tf.random.uniform([tf.shape(x)[0], 1, 1, 1], seed=SEED) < REDRAW_STROKES
        image = tf.cast(tf.where(take, r, x), tf.float32) / 255.0
        return image, tf.one_hot(y, len(CLASS_NAMES))

    return ds.map(pick)
''')

FOLDERS = Template('''

def image_folder(folder, **options):
    """A folder of class subfolders as batches: centre-cropped, resized, in [0, 1], one-hot."""
    ds = keras.utils.image_dataset_from_directory(
        folder,
        class_names=CLASS_NAMES,
        color_mode="grayscale" if CHANNELS == 1 else "rgb",
        image_size=IMAGE_SIZE,
        crop_to_aspect_ratio=True,  # the centre crop CNN Lab makes before resizing
        interpolation="area",  # area averaging when shrinking, as CNN Lab does
        batch_size=BATCH_SIZE,
        label_mode="int",
        seed=SEED,
        **options,
    )
    return ds


def scaled(ds):
    return ds.map(lambda x, y: (x / 255.0, tf.one_hot(y, len(CLASS_NAMES))))


def unpacked(data):
    """`data` itself, or the folder a .zip of it is extracted into."""
    if data is None:
        $default_data
    path = Path(data)
    if path.suffix.lower() == ".zip":
        target = Path(tempfile.mkdtemp())
        shutil.unpack_archive(path, target)
        path = target
    # step into a single wrapping folder, as zips often have
    while len(entries := [p for p in path.iterdir() if not p.name.startswith((".", "__"))]) == 1:
        path = entries[0]
    return path


def load_data(data, max_samples):
    """Training, validation and test batches from a folder of class subfolders.

    A folder with train/ and test/ (or validation/) tests on the latter. Otherwise Keras
    holds out VALIDATION_FRACTION of the images and they are the test images as well
    (CNN Lab held out 20% of each class as its test split).
    """
    root = unpacked(data)
    test_dir = next((root / n for n in ("test", "validation") if (root / n).is_dir()), None)
    train_dir = root / "train" if test_dir is not None else root
    fraction = VALIDATION_FRACTION or 0.2
    train, validation = image_folder(train_dir, validation_split=fraction, subset="both")
    test = validation if test_dir is None else image_folder(test_dir, shuffle=False)
    if max_samples is not None:
        train = train.take(math.ceil(max_samples / BATCH_SIZE))
    return scaled(train), scaled(validation), scaled(test)
''')

MAIN = Template('''

def make_optimizer(total_steps):
    """The run's optimizer and learning-rate schedule."""
    rate = LEARNING_RATE
    if LR_SCHEDULE == "cosine":
        warmup = int(WARMUP_FRACTION * total_steps)
        rate = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, total_steps - warmup), warmup_target=LEARNING_RATE, warmup_steps=warmup
        )
    options = {"learning_rate": rate}
    if WEIGHT_DECAY:
        options["weight_decay"] = WEIGHT_DECAY
    if EMA:
        options.update(use_ema=True, ema_momentum=EMA)
    if OPTIMIZER == "sgd":
        optimizer = keras.optimizers.SGD(momentum=0.9, **options)
    else:
        adam = keras.optimizers.AdamW if WEIGHT_DECAY else keras.optimizers.Adam
        optimizer = {"adam": adam, "rmsprop": keras.optimizers.RMSprop,
                     "adadelta": keras.optimizers.Adadelta}[OPTIMIZER](**options)
    if WEIGHT_DECAY:  # biases and batch norm keep their scale
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def distilled(train, teacher_files):
    """Each target mixed with the teacher models' mean answer for the same (augmented) images:
    (1 - DISTILL) * label + DISTILL * answer. Without teacher files, the labels alone."""
    teachers = [keras.models.load_model(path, compile=False) for path in teacher_files]
    if TEACHERS and not teachers:
        names = ", ".join(TEACHERS)
        print(f"This run also learned from teacher runs ({names}): give their model.keras "
              "files with --teacher to do the same. Training on the labels alone.",
              file=sys.stderr)
    if not teachers:
        return train

    def targets(x, y):
        answers = [tf.cast(teacher(x, training=False), tf.float32) for teacher in teachers]
        return x, (1.0 - DISTILL) * y + DISTILL * tf.add_n(answers) / len(answers)

    return train.map(targets)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="$data_option")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--max-samples", type=int, default=MAX_SAMPLES)
    parser.add_argument("--save", default="model.keras", help="where the trained model goes")
    parser.add_argument("--dry-run", action="store_true", help="build the model and stop")
    parser.add_argument("--teacher", action="append", default=[],
                        help="a trained model.keras to learn from too; repeat for more")
    args = parser.parse_args()

    keras.utils.set_random_seed(SEED)
    model = build_model()
    if args.dry_run:
        print(json.dumps({"params": model.count_params()}))
        return
    train, validation, test = load_data(args.data, args.max_samples)
    if AUGMENT:
        augment = augmentation()
        train = train.map(lambda x, y: (tf.clip_by_value(augment(x, training=True), 0, 1), y))
    if MIX != "none":
        mix = (keras.layers.MixUp(alpha=MIX_STRENGTH, seed=SEED) if MIX == "mixup"
               else keras.layers.CutMix(factor=MIX_STRENGTH, seed=SEED))

        def mixed(x, y):
            batch = mix({"images": x, "labels": y}, training=True)
            return batch["images"], batch["labels"]

        train = train.map(mixed)
    train = distilled(train, args.teacher)
    steps = len(train)
    model.compile(
        optimizer=make_optimizer(steps * args.epochs),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),
        metrics=["accuracy"],
    )
    # shuffle=False: the training batches are shuffled already, every epoch anew
    model.fit(train, validation_data=validation, epochs=args.epochs, shuffle=False, verbose=2)
    loss, accuracy = model.evaluate(test, verbose=0)
    model.save(args.save)
    print(json.dumps({"test_accuracy": accuracy, "params": model.count_params(),
                      "saved": args.save}))


if __name__ == "__main__":
    main()
''')


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


def _data_parts(record: RunRecord) -> tuple[list[str], str, str, str]:
    """(imports, loading code, the docstring's data paragraph, the --data help) for the run."""
    key = record.dataset.key
    if key in ARRAY_DATASETS:
        order = inspect.getsource(_stratified_order).replace("def _", "def ", 1).rstrip()
        redraw = bool(record.config.redraw_strokes)
        code = ARRAYS.substitute(
            keras_module=ARRAY_DATASETS[key],
            stratified_order=order,
            train_batches="redrawn_batches(x_train, y_train)"
            if redraw
            else "batches(x_train, y_train, shuffle=True)",
        )
        if redraw:
            functions = (strokes.mnist_centre, strokes.pen_for, strokes.redrawn_digit,
                         strokes.redrawn_digits)  # fmt: skip
            source = "\n\n\n".join(inspect.getsource(f).rstrip() for f in functions)
            code += REDRAW.substitute(functions=source, fraction=repr(strokes.STROKE_FRACTION))
        help_text = (
            "DATA is a folder holding the four IDX files (train-images-idx3-ubyte.gz, ...); "
            f"without --data, Keras downloads {record.dataset.title}."
        )
        return (
            ["import gzip", "import struct"] + (["import cv2"] if redraw else []),
            code,
            help_text,
            ("folder with the four IDX files (default: Keras' download)"),
        )
    url = FOLDER_DOWNLOADS.get(key)
    if url:
        default = (
            f'archive = keras.utils.get_file(origin="{url}", extract=True)\n        data = archive'
        )
        where = f"without --data, Keras downloads {url}"
    else:
        default = 'raise SystemExit("--data is needed: the folder (or .zip) of class subfolders")'
        where = "--data is needed"
    help_text = (
        "DATA is a folder of one subfolder of images per class (or a .zip of one), "
        f"with or without train/ and test/ folders; {where}."
    )
    code = FOLDERS.substitute(default_data=default)
    imports = ["import math", "import shutil", "import tempfile"]
    return imports, code, help_text, "folder (or .zip) of class subfolders"


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
    input_shape = (*pre.image_size, pre.channels)
    model = architectures.build(record.spec, input_shape, len(record.class_names))
    kind = datasets.kind_of_method(pre.method)
    imports, data_code, data_help, data_option = _data_parts(record)
    imports += ["import argparse", "import json", "import sys", "from pathlib import Path"]
    accuracy = record.test.accuracy
    header = HEADER.substitute(
        label=record.label,
        run_name=record.name or "(unsaved)",
        arch_title=record.arch_name,
        dataset_title=record.dataset.title or record.dataset.key,
        epochs_run=record.epochs_run or config.epochs,
        accuracy="not measured" if accuracy is None else f"{accuracy:.1%}",
        tf_version=record.versions.get("tensorflow", "2.x"),
        keras_version=record.versions.get("keras", "3.x"),
        file_name=file_name,
        data_help=textwrap.fill(data_help, 88),
        standard_imports="\n".join(sorted(imports, key=_import_order)),
        class_names=_names_code(record.class_names),
        image_size=repr(tuple(pre.image_size)),
        channels=pre.channels,
        epochs=config.epochs,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
        learning_rate=repr(config.learning_rate),
        lr_schedule=config.lr_schedule,
        warmup_fraction=repr(WARMUP_FRACTION),
        label_smoothing=repr(config.label_smoothing),
        validation_fraction=repr(config.validation_fraction),
        max_samples=repr(config.max_samples),
        augment=repr(bool(config.augment)),
        mix=config.mix,
        mix_strength=repr(MIX_STRENGTH.get(config.mix, 0.0)),
        weight_decay=repr(config.weight_decay),
        ema=repr(config.ema),
        seed=config.seed,
    )
    if config.redraw_strokes:
        header += REDRAW_SETTING.format(share=repr(config.redraw_strokes))
    names = [Path(path).name for path in config.teachers]
    header += TEACHERS_SETTING.format(names=repr(names), share=repr(config.distill))
    parts = [header]
    try:
        overrides = {architectures.OUTPUT_LAYER: {"units": "len(CLASS_NAMES)"}}
        graph = type(model).__name__ != "Sequential"
        layers = _graph_block(model, overrides) if graph else _layers_block(model.layers, overrides)
        augment_code = ""
        if config.augment and kind is not None:
            name = datasets.augmentation_name(kind.key, config.augmentation)
            augment = datasets.augmentation(name, seed=config.seed)
            if kind.key == "digits":
                parts.append(STROKE_THICKNESS)
            if name == "digits-elastic":  # CNN Lab's own functions, then the layer
                functions = (elastic_fields, displaced)
                sources = [inspect.getsource(f).rstrip() for f in functions]
                parts.append("\n\n\n" + "\n\n\n".join(sources))
                parts.append(ELASTIC_DISTORTION)
            augment_code = AUGMENTATION.substitute(
                layers=_layers_block(augment.layers), name=augment.name
            )
    except UnknownLayer as err:
        raise ExportError(f"{err} No script can be written for this run.") from err
    parts.append((GRAPH_MODEL if graph else MODEL).substitute(layers=layers, name=model.name))
    parts.append(augment_code)
    parts.append(data_code)
    parts.append(MAIN.substitute(data_option=data_option))
    return "".join(parts)
