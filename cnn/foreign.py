"""Classroom foreign sets: what a class shows a model that is none of its classes.

The unfamiliar-input flag (`cnn.ood`) is measured on what students actually upload and draw,
fed through the Predict page's own paths (`cnn.preprocess.prepare_upload` for a file,
`cnn.preprocess.prepare_drawing` with the strokes' paths for the canvas):

- photos: scikit-image's bundled pictures (an astronaut, a coffee cup, coins, a rocket, a
  page of text...; only when scikit-image is installed: it is a development dependency),
  two random crops of each (a student photographs part of a thing), pictures made here
  (printed words, blurry colour blobs: a photo of a screen or a wall), and photos of the
  other shipped photo dataset(s) when this machine has them offline (pets for the flower
  model, flowers for the pet model, both for the digit and clothes models);
- drawings (for every model whose page offers the canvas): letters, shapes and scribbles in
  a student's hand (`cnn.drawn`), at random size, place, tilt and brush width.

Which drawn shapes count as foreign to a digit model: only those no digit is written like.
Left out, because a student's honest digit can look the same: O, C, D, U and the circle
(0), I, l, T, J and a vertical bar (1, 7), Z (2), S (5), G and b (6), B (8), P, q and g (9),
Y (4, 7). Kept: A E F H K L M N R V W X, square, triangle, star, heart, house, smiley,
plus, hash, arrow, spiral, zigzag, wave, scribbles and hatching.
For a user's own folder dataset nothing is known about its classes, so only the scikit-image
and made photos are used (a folder of drawn shapes would find its own shapes "foreign").

Everything is generated from a seed (`SEED`): the same set every time, never downloaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from cnn import drawn, i18n, preprocess

SEED = 0
N_DRAWINGS = 150  # drawings per set
N_DATASET_PHOTOS = 60  # photos per other shipped dataset
N_MADE = 16  # pictures made here
CROPS = 2  # random crops of each scikit-image picture
# photos of each shipped photo dataset, foreign to every model except its own
PHOTO_DATASETS = ("cats_vs_dogs", "flowers17")
# scikit-image's bundled pictures (no download), and which model must not count them foreign
SKIMAGE = (
    "astronaut", "brick", "camera", "cat", "checkerboard", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry",
    "logo", "moon", "page", "retina", "rocket", "text",
)  # fmt: skip
NOT_FOREIGN = {"cats_vs_dogs": {"cat"}}  # scikit-image's chelsea is a cat
WORDS = ("homework", "lunch", "Maths 7B", "hello", "page 12", "science", "CNN", "quiz")

LETTERS = {  # unit-square strokes, y downwards
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.8, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.8, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "L": [[(0, 0), (0, 1), (0.8, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.9, 0.15), (0.9, 0.35), (0.7, 0.5), (0, 0.5)],
          [(0.4, 0.5), (1, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.4), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
}  # fmt: skip


def _arc(cx, cy, rx, ry, start, end, n=40):
    t = np.linspace(np.deg2rad(start), np.deg2rad(end), n)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


def _star():
    angles = np.deg2rad(-90 + 144 * np.arange(6))
    return [list(zip(0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles), strict=True))]


def _heart():
    t = np.linspace(0, 2 * np.pi, 60)
    x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t)
    return [list(zip(0.5 + x / 34, 0.5 - y / 34, strict=True))]


def _spiral():
    t = np.linspace(0, 5 * np.pi, 90)
    return [list(zip(0.5 + t / 32 * np.cos(t), 0.5 + t / 32 * np.sin(t), strict=True))]


SHAPES = {
    "square": lambda: [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "triangle": lambda: [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "star": _star,
    "heart": _heart,
    "house": lambda: [[(0, 0.4), (0, 1), (1, 1), (1, 0.4), (0, 0.4), (0.5, 0), (1, 0.4)]],
    "smiley": lambda: [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 60), [(0.33, 0.35)], [(0.67, 0.35)],
                       _arc(0.5, 0.5, 0.3, 0.3, 20, 160)],
    "plus": lambda: [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "hash": lambda: [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0, 0.33), (1, 0.33)],
                     [(0, 0.67), (1, 0.67)]],
    "arrow": lambda: [[(0, 0.5), (1, 0.5)], [(0.7, 0.2), (1, 0.5), (0.7, 0.8)]],
    "spiral": _spiral,
    "zigzag": lambda: [[(i / 6, float(i % 2)) for i in range(7)]],
    "wave": lambda: [[(x, 0.5 + 0.3 * np.sin(x * 4 * np.pi)) for x in np.linspace(0, 1, 50)]],
}  # fmt: skip


def _scribble(rng: np.random.Generator):
    """One or two strokes of a tangled random walk: a doodle that fills its patch."""
    lines = []
    for _ in range(int(rng.integers(1, 3))):
        points = rng.uniform(0, 1, (int(rng.integers(25, 50)), 2))
        smooth = cv2.GaussianBlur(points[:, None], (1, 3), 0)[:, 0]
        lines.append([tuple(p) for p in smooth])
    return lines


def _hatching(rng: np.random.Generator):
    """Four to eight parallel strokes: shading."""
    n = int(rng.integers(4, 9))
    lean = rng.uniform(-0.4, 0.4)
    return [[(i / n, 0.0), (i / n + lean, 1.0)] for i in range(n)]


@dataclass(repr=False)
class Item:
    """One foreign input as a student gives it: a photo (RGB) or a drawing (RGBA + paths)."""

    name: str
    kind: str  # "photo" or "drawing"
    image: np.ndarray
    paths: list | None = None

    def __repr__(self) -> str:
        return f"Item({self.name!r}, {self.kind}, {self.image.shape})"


@functools.lru_cache(maxsize=2)
def drawings(n: int = N_DRAWINGS, seed: int = SEED) -> tuple[Item, ...]:
    """`n` letters, shapes and scribbles as drawn on the canvas (a third each, about)."""
    rng = np.random.default_rng(seed)
    makers = [*(("letter " + k, lambda _r, v=v: v) for k, v in LETTERS.items())]
    makers += [("shape " + k, lambda _r, f=f: f()) for k, f in SHAPES.items()]
    makers += [("scribble", _scribble), ("hatching", _hatching)] * 6
    items = []
    for i in range(n):
        name, make = makers[i % len(makers)]
        paths = drawn.place(make(rng), rng)
        items.append(Item(name, "drawing", drawn.render(paths, drawn.brush(rng)), paths))
    return tuple(items)


def _crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    side = rng.uniform(0.4, 0.8)
    ch, cw = max(8, int(h * side)), max(8, int(w * side))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return image[top : top + ch, left : left + cw]


@functools.lru_cache(maxsize=1)
def skimage_photos(seed: int = SEED) -> tuple[Item, ...]:
    """scikit-image's bundled pictures and CROPS random crops of each; () without it."""
    try:
        import skimage.data
    except ImportError:
        return ()
    rng = np.random.default_rng(seed)
    items = []
    for name in SKIMAGE:
        picture = preprocess.load_image(_png(getattr(skimage.data, name)()))
        items.append(Item(name, "photo", picture))
        items += [Item(name, "photo", _crop(picture, rng)) for _ in range(CROPS)]
    return tuple(items)


def _png(array: np.ndarray) -> bytes:
    """An array as PNG bytes (the upload path decodes files)."""
    image = np.asarray(array)
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    if image.ndim == 3:
        to_bgr = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
        image = cv2.cvtColor(image, to_bgr)
    return cv2.imencode(".png", image)[1].tobytes()


@functools.lru_cache(maxsize=1)
def made_photos(seed: int = SEED) -> tuple[Item, ...]:
    """N_MADE pictures made here: printed words on paper, and blurry colour blobs."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(N_MADE):
        h, w = int(rng.integers(240, 480)), int(rng.integers(320, 640))
        if i % 2 == 0:  # a photo of a page of writing
            page = np.full((h, w, 3), int(rng.integers(200, 256)), np.uint8)
            for line in range(int(rng.integers(2, 6))):
                words = " ".join(rng.choice(WORDS, 2))
                y = int((line + 1) * h / 7)
                cv2.putText(page, words, (int(rng.integers(5, 40)), y), cv2.FONT_HERSHEY_SIMPLEX,
                            rng.uniform(0.8, 1.6), (20, 20, 20), 2, cv2.LINE_AA)  # fmt: skip
            picture = cv2.GaussianBlur(page, (0, 0), 1.0)
        else:  # a blurry photo of a wall or a screen
            small = rng.integers(0, 256, (4, 5, 3)).astype(np.uint8)
            picture = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
            picture = np.clip(picture + rng.normal(0, 6, picture.shape), 0, 255).astype(np.uint8)
        items.append(Item("made: page" if i % 2 == 0 else "made: blur", "photo", picture))
    return tuple(items)


def dataset_photos(key: str, n: int = N_DATASET_PHOTOS, seed: int = SEED) -> tuple[Item, ...]:
    """`n` test photos of shipped dataset `key`, when this machine has it offline; else ()."""
    from cnn import datasets
    from cnn.errors import DatasetError

    try:
        data = datasets.load(key, download=False)
    except DatasetError:
        return ()
    split = datasets.stratified_subset(data.test, n, seed)
    return tuple(Item(f"{key} photo", "photo", split.image(i)) for i in range(len(split)))


@dataclass
class ForeignSet:
    """A classroom foreign set for one model.

    Attributes:
        items: what a student gives, before the page's preprocessing.
        description: which inputs, in a few words (recorded in run.json).
    """

    items: list[Item] = field(default_factory=list)
    description: str = ""


def classroom(dataset_key: str, seed: int = SEED, with_drawings: bool = True) -> ForeignSet:
    """The foreign set for a model trained on `dataset_key` (see the module's docstring)."""
    parts: list[tuple[str, tuple[Item, ...]]] = []
    skipped = NOT_FOREIGN.get(dataset_key, set())
    pictures = tuple(i for i in skimage_photos(seed) if i.name not in skipped)
    parts.append(("scikit-image photos", pictures))
    parts.append(("made pictures", made_photos(seed)))
    if dataset_key != "folder":
        for key in PHOTO_DATASETS:
            if key != dataset_key:
                parts.append((f"{key} photos", dataset_photos(key, seed=seed)))
        if with_drawings:
            parts.append(("drawings (letters, shapes, scribbles)", drawings(seed=seed)))
    parts = [(name, items) for name, items in parts if items]
    description = "; ".join(f"{len(items)} {name}" for name, items in parts)
    return ForeignSet([i for _, items in parts for i in items], description)


@dataclass
class Prepared:
    """A foreign set through a run's preprocessing: what the model sees.

    Attributes:
        inputs: float32 (n, h, w, c), the inputs the page would show the model.
        kinds: "photo" or "drawing" per input.
        names: what each input is.
        refused: inputs the page refuses with a sentence (no answer shown), per kind.
    """

    inputs: np.ndarray
    kinds: list[str]
    names: list[str]
    refused: dict[str, int]


def prepare(items: list[Item] | tuple[Item, ...], preprocessing: dict) -> Prepared:
    """Each item through the Predict page's path for its kind (upload or canvas)."""
    inputs, kinds, names = [], [], []
    refused = {"photo": 0, "drawing": 0}
    for item in items:
        try:
            if item.kind == "drawing":
                steps = preprocess.prepare_drawing(item.image, preprocessing, item.paths)
            else:
                steps = preprocess.prepare_upload(item.image, preprocessing)
        except preprocess.PreprocessError:
            refused[item.kind] += 1
            continue
        inputs.append(steps.input)
        kinds.append(item.kind)
        names.append(item.name)
    shape = (0, *preprocessing["image_size"], preprocessing["channels"])
    stacked = np.stack(inputs).astype(np.float32) if inputs else np.zeros(shape, np.float32)
    return Prepared(stacked, kinds, names, refused)


def said(description: str | None) -> str:
    """A recorded description ("57 scikit-image photos; 16 made pictures; ...", kept in
    English in run.json) in the reader's language, part by part; a part of another form as
    it was recorded."""
    parts = []
    for part in (description or "").split("; "):
        count, _, name = part.partition(" ")
        if not count.isdigit():
            parts.append(part)
            continue
        n = int(count)
        if name == "scikit-image photos":
            parts.append(i18n.trn("{n} scikit-image photo", "{n} scikit-image photos", n))
        elif name == "made pictures":
            parts.append(i18n.trn("{n} made picture", "{n} made pictures", n))
        elif name == "drawings (letters, shapes, scribbles)":
            parts.append(i18n.trn("{n} drawing (letters, shapes, scribbles)",
                                  "{n} drawings (letters, shapes, scribbles)", n))  # fmt: skip
        elif name.endswith(" photos") and name.removesuffix(" photos") in PHOTO_DATASETS:
            parts.append(i18n.trn("{n} {dataset} photo", "{n} {dataset} photos", n)
                         .replace("{dataset}", name.removesuffix(" photos")))  # fmt: skip
        else:
            parts.append(part)
            continue
        parts[-1] = parts[-1].replace("{n}", i18n.number(n))
    return ("；" if i18n.language() == "zh" else "; ").join(parts)
