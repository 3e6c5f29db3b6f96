"""The Open the box page (AppTest) on the shared tiny run: what a filter wants to see.

Each real test image's number under a channel is that channel's mean activation, checked
against a Keras sub-model of its own; every channel of the page gets a made picture whose
number is compared with the strongest real one in words that match the numbers.
"""

from __future__ import annotations

import re

import keras
import numpy as np
from helpers import open_page

PAGE = "app_pages/open_box.py"


def test_opens_on_the_default_model(offline):
    """With no run of one's own the app picks a shipped one: the page opens on it."""
    at = open_page(PAGE)
    assert not at.exception
    assert at.title[0].value == "Open the box"
    assert at.caption[0].value.startswith("Model **")


def test_a_layer_s_channels_beside_their_strongest_test_images(trained):
    from cnn import artifacts, datasets, geometry
    from cnn.probes.embedding import subset_indices
    from ui import visualize_views

    at = open_page(PAGE, active_run=trained)
    assert not at.exception
    at.selectbox(key=f"{visualize_views.KEY}-layer").set_value("conv2_2").run()
    assert not at.exception
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    made = [c for c in captions if c.startswith("channel ")]
    assert [int(c.split()[1].rstrip(":")) for c in made] == list(range(visualize_views.PAGE))
    # the real images' numbers: the channel's mean activation, as Keras computes it
    model = artifacts.load_run(trained).model
    data = datasets.load("mnist")
    split = data.test.take(subset_indices(data.test, visualize_views.REAL_IMAGES))
    images = np.stack([geometry.fit(split.image(i), (28, 28), 1) for i in range(len(split))])
    sub = keras.Model(model.inputs[0], model.get_layer("conv2_2").output)
    means = keras.ops.convert_to_numpy(sub(images / 255.0)).mean(axis=(1, 2))
    real = [float(c) for c in captions if re.fullmatch(r"-?\d+\.\d+", c)]
    per_channel = visualize_views.REAL_SHOWN
    for channel in range(visualize_views.PAGE):
        shown = real[channel * per_channel : (channel + 1) * per_channel]
        expected = sorted(means[:, channel], reverse=True)[:per_channel]
        np.testing.assert_allclose(shown, np.round(expected, 2), atol=0.006)
    words = [c.value for c in at.caption if c.value.endswith("the best real image")]
    for caption, verdict in zip(made, words, strict=True):
        value = float(caption.split(": ")[1])
        best = float(real[made.index(caption) * per_channel])
        if abs(value - best) > 0.01:  # both are rounded to 2 decimals on the page
            assert verdict.startswith("beats") == (value > best)


def test_the_classes(trained):
    from ui import visualize_views

    at = open_page(PAGE, active_run=trained)
    at.radio(key=f"{visualize_views.KEY}-what").set_value("The classes").run()
    assert not at.exception
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert captions[0].startswith("0: ") and captions[0].endswith("% sure")
    assert len(captions) == visualize_views.PAGE


def test_weight_surgery_on_a_copy(offline, tiny_run):
    """Knock out two channels and set a filter: a new run is saved, the original untouched;
    the accuracies shown are Keras' own on the same test digits; the picture from Predict is
    shown through both models."""
    import shutil

    from helpers import drawn_one

    from cnn import artifacts, datasets
    from cnn.probes.embedding import subset_indices
    from ui import state, surgery_views

    run = offline / tiny_run.name
    shutil.copytree(tiny_run, run)
    at = open_page("app_pages/predict.py", active_run=run)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page(PAGE).run()
    key = surgery_views.KEY
    at.selectbox(key=f"{key}-layer").set_value("conv2_1").run()
    at.multiselect(key=f"{key}-zero-conv2_1").set_value([0, 3])
    at.selectbox(key=f"{key}-preset").set_value("sobel_x").run()
    at.button(key=f"{key}-go").click().run()
    assert not at.exception, at.exception
    saved = [p for p in offline.iterdir() if p != run]
    assert len(saved) == 1
    edited = artifacts.load_run(saved[0])
    assert [c["kind"] for c in edited.record.surgery["changes"]] == ["zero", "zero", "set_filter"]
    data = datasets.load("mnist")
    split = data.test.take(subset_indices(data.test, surgery_views.TEST_IMAGES))
    images = split.images.astype(np.float32)[..., :1] / 255.0

    def accuracy(model) -> str:
        answers = keras.ops.convert_to_numpy(model(images, training=False)).argmax(axis=1)
        return f"{(answers == split.labels).mean():.1%}"

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy before"] == accuracy(artifacts.load_run(run).model)
    assert metrics["After the surgery"] == accuracy(edited.model)
    assert len(at.dataframe[-1].value) == 10  # every class, before and after
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert "conv2_1, channel 0, after: says" in " ".join(captions)
    assert sum(c.startswith("where it looked") for c in captions) == 2
    at.button(key=f"{key}-use").click().run()
    assert at.session_state[state.ACTIVE_RUN] == str(saved[0])
