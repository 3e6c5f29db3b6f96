"""Shipped runs in artifacts/: they load safely, say what they are, classify real images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnn import architectures, artifacts, datasets, preprocess
from cnn.inspect import Inspector
from conftest import SHARED_DATA

BUILT_IN = ["mnist", "fashion_mnist", "cats_vs_dogs", "flowers17"]
REAL_IMAGES = 60  # real test images per dataset checked when ../shared/data is present


def shipped_info(key: str) -> artifacts.RunInfo:
    infos = [r for r in artifacts.list_runs([artifacts.shipped_dir()]) if r.ok]
    matching = [r for r in infos if r.record.dataset.key == key]
    if not matching:
        pytest.skip(f"no shipped run for {key} in artifacts/ yet (issue 4)")
    return matching[0]


def shipped_run(key: str) -> artifacts.Run:
    return artifacts.load_run(shipped_info(key).path)


def test_every_shipped_folder_is_a_good_run():
    runs = artifacts.list_runs([artifacts.shipped_dir()])
    assert all(r.ok for r in runs), [(r.name, r.error) for r in runs if not r.ok]
    assert all(r.shipped for r in runs)


@pytest.mark.parametrize("key", BUILT_IN)
def test_shipped_run_has_the_classes_and_preprocessing_it_claims(key):
    run = shipped_run(key)
    info = datasets.REGISTRY[key]
    assert run.class_names == list(info.class_names)
    pre = run.preprocessing
    assert tuple(run.model.input_shape[1:]) == (*pre["image_size"], pre["channels"])
    assert pre["channels"] == info.channels
    assert pre["method"] == info.method
    assert run.record.test.accuracy > 0.7
    assert run.record.dataset.source


@pytest.mark.parametrize("key", BUILT_IN)
def test_shipped_run_classifies_the_bundled_samples(key):
    run = shipped_run(key)
    inspector = Inspector(run.model)
    files = artifacts.sample_images(key)
    assert files, f"artifacts/samples/{key} is empty"
    right = 0
    for file in files:
        image = preprocess.load_image(file)
        steps = preprocess.photo_to_input(
            image, tuple(run.preprocessing["image_size"]), run.preprocessing["channels"]
        )
        true = file.name.split("__")[0]
        predicted = run.class_names[inspector.run(steps.input, gradcam=False).predicted_class]
        right += predicted.replace("/", "-").replace(" ", "_") == true
    # the samples are test images the model never trained on: most must be right
    assert right / len(files) >= 0.75, f"{right}/{len(files)}"


@pytest.mark.parametrize("key", BUILT_IN)
def test_shipped_run_on_real_test_images(key):
    folder = {"fashion_mnist": "fashion-mnist"}.get(key, key)
    if not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"real {key} data not present at {SHARED_DATA} (set CNN_DATA_DIR)")
    run = shipped_run(key)
    data = datasets.load(key, SHARED_DATA, download=False)
    pick = np.random.default_rng(0).choice(len(data.test), REAL_IMAGES, replace=False)
    pre = run.preprocessing
    batches = datasets.make_pipeline(
        data.test.take(pick), tuple(pre["image_size"]), pre["channels"], 64
    )
    probs = np.concatenate([np.asarray(run.model(x, training=False)) for x, _ in batches])
    accuracy = (probs.argmax(1) == data.test.labels[pick]).mean()
    assert accuracy >= run.record.test.accuracy - 0.15


@pytest.mark.parametrize("key", BUILT_IN)
def test_shipped_architecture_is_one_a_user_can_pick_by_name(key):
    """Each shipped run's net is a registry architecture (the Fashion-MNIST run trained from
    a spec file is `vgg_wide_28`), so the app and `--arch` retrain exactly that net."""
    # the stored JSON itself, not the record parsed from it (which drops unknown keys)
    data = json.loads((shipped_info(key).path / "run.json").read_text(encoding="utf-8"))
    spec = data["spec"]
    assert spec["name"] in architectures.REGISTRY, spec["name"]
    shape, classes = tuple(data["input_shape"]), len(data["class_names"])
    assert architectures.REGISTRY[spec["name"]].spec(shape, classes).to_dict() == spec
