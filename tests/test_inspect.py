"""Tests for cnn.inspect: probabilities, activations, Grad-CAM and filters on real small models."""

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from cnn.architectures import OUTPUT_LAYER
from cnn.filters import filter_images, filters
from cnn.inspect import NO_CONV_REASON, NOT_REQUESTED_REASON, Inspector

SIZE = 28  # MNIST-size inputs


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's Conv2D layers, in model order (the reference's own lookup)."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def square_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dark 28x28 images with one bright 7x7 square; the class is which of 10 cells holds it."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.uniform(0.0, 0.1, (n, SIZE, SIZE, 1)).astype(np.float32)
    for image, label in zip(images, labels, strict=True):
        row, col = divmod(int(label), 5)
        image[row * 14 : row * 14 + 7, col * 5 : col * 5 + 7] = 1.0
    return images, labels


@pytest.fixture(scope="module")
def mnist_model() -> keras.Model:
    """The classic two-conv MNIST network, trained for one epoch on generated squares."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    images, labels = square_images(300)
    model.fit(images, labels, epochs=1, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def inspector(mnist_model: keras.Model) -> Inspector:
    return Inspector(mnist_model)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return square_images(1, seed=1)[0][0]


def test_probabilities_match_calling_the_model(mnist_model, inspector, image):
    result = inspector.run(image)
    expected = mnist_model(image[None], training=False).numpy()[0]
    assert result.probabilities.dtype == np.float32
    assert result.probabilities.shape == (10,)
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
    assert result.predicted_class == int(expected.argmax())


def test_activations_match_intermediate_model(mnist_model, inspector, image):
    result = inspector.run(image, gradcam=False)
    inspected = mnist_model.layers[:4]
    reference = keras.Model(mnist_model.inputs[0], [layer.output for layer in inspected])
    expected = reference(image[None], training=False)
    assert [(a.name, a.kind) for a in result.activations] == [
        (inspected[0].name, "conv"),
        (inspected[1].name, "pool"),
        (inspected[2].name, "conv"),
        (inspected[3].name, "pool"),
    ]
    assert [a.array.shape for a in result.activations] == [
        (26, 26, 8),
        (13, 13, 8),
        (11, 11, 16),
        (5, 5, 16),
    ]
    for activation, tensor in zip(result.activations, expected, strict=True):
        assert activation.array.dtype == np.float32
        np.testing.assert_allclose(activation.array, tensor.numpy()[0], atol=1e-5)


def test_layer_outputs_are_every_layers_own_output(mnist_model, inspector, image):
    outputs = inspector.layer_outputs(image)
    assert list(outputs) == [layer.name for layer in mnist_model.layers]
    for layer in mnist_model.layers:
        expected = keras.Model(mnist_model.inputs[0], layer.output)(image[None], training=False)
        np.testing.assert_allclose(outputs[layer.name], expected.numpy()[0], atol=1e-5)
    shown = inspector.run(image, gradcam=False).activations
    assert [(name, kind) for name, kind, _ in inspector.feature_map_layers] == [
        (a.name, a.kind) for a in shown
    ]
    for (_, _, tap), activation in zip(inspector.feature_map_layers, shown, strict=True):
        np.testing.assert_allclose(outputs[tap], activation.array, atol=1e-5)


def reference_gradcam(model: keras.Model, image: np.ndarray, class_index: int) -> np.ndarray:
    """Grad-CAM written eagerly, as in the keras-io example, on the pre-softmax logit."""
    head = model.get_layer(OUTPUT_LAYER)
    last_conv = model.get_layer(conv_layer_names(model)[-1])
    grad_model = keras.Model(model.inputs[0], [last_conv.output, head.input])
    with tf.GradientTape() as tape:
        feature_map, features = grad_model(image[None], training=False)
        tape.watch(feature_map)
        logit = (tf.matmul(features, head.kernel) + head.bias)[0, class_index]
    grads = tape.gradient(logit, feature_map)[0].numpy()
    cam = np.maximum((feature_map[0].numpy() * grads.mean(axis=(0, 1))).sum(axis=-1), 0)
    cam = tf.image.resize(cam[..., None], image.shape[:2]).numpy()[..., 0]
    return cam / cam.max() if cam.max() > 0 else cam


def test_gradcam_of_trained_model_matches_eager_reference(mnist_model, inspector, image):
    result = inspector.run(image)
    assert result.gradcam.shape == (SIZE, SIZE)
    assert result.gradcam.dtype == np.float32
    assert np.isfinite(result.gradcam).all()
    assert result.gradcam.min() >= 0.0 and result.gradcam.max() <= 1.0
    assert result.gradcam_class == result.predicted_class
    assert result.gradcam_layer == conv_layer_names(mnist_model)[-1]
    assert result.gradcam_reason is None
    expected = reference_gradcam(mnist_model, image, result.gradcam_class)
    np.testing.assert_allclose(result.gradcam, expected, atol=1e-4)


def test_model_loaded_from_a_keras_file_gives_the_same_inspection(
    mnist_model, inspector, image, tmp_path
):
    """A Sequential loaded from .keras keeps two wirings; Grad-CAM must still find its path."""
    mnist_model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    fresh, reloaded = inspector.run(image), Inspector(loaded).run(image)
    np.testing.assert_allclose(reloaded.probabilities, fresh.probabilities, atol=1e-5)
    np.testing.assert_allclose(reloaded.gradcam, fresh.gradcam, atol=1e-4)
    for a, b in zip(reloaded.activations, fresh.activations, strict=True):
        np.testing.assert_allclose(a.array, b.array, atol=1e-5)


def test_gradcam_for_a_chosen_class(mnist_model, inspector, image):
    runner_up = int(np.argsort(inspector.run(image, gradcam=False).probabilities)[-2])
    result = inspector.run(image, gradcam_class=runner_up)
    assert result.gradcam_class == runner_up
    expected = reference_gradcam(mnist_model, image, runner_up)
    np.testing.assert_allclose(result.gradcam, expected, atol=1e-4)
    with pytest.raises(ValueError, match="gradcam_class"):
        inspector.run(image, gradcam_class=10)


def test_gradcam_highlights_the_bright_half_only():
    """1x1 identity conv -> global mean -> logits (+mean, -mean): the map is the image itself.

    For class 0 every channel weight is positive, so Grad-CAM equals the input scaled to
    [0, 1] and the blank right half stays 0; for class 1 the weight is negative and ReLU
    leaves nothing.
    """
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Conv2D(1, 1, activation="relu", name="identity"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    model.get_layer("identity").set_weights([np.ones((1, 1, 1, 1)), np.zeros(1)])
    model.get_layer(OUTPUT_LAYER).set_weights([np.array([[1.0, -1.0]]), np.zeros(2)])
    image = np.zeros((SIZE, SIZE, 1), np.float32)
    image[:, : SIZE // 2, 0] = np.random.default_rng(0).uniform(0.2, 1.0, (SIZE, SIZE // 2))
    inspector = Inspector(model)

    bright = inspector.run(image, gradcam_class=0).gradcam
    np.testing.assert_allclose(bright, image[..., 0] / image.max(), atol=1e-5)
    assert np.all(bright[:, SIZE // 2 :] == 0.0)
    assert bright.max() == pytest.approx(1.0)

    assert np.all(inspector.run(image, gradcam_class=1).gradcam == 0.0)


def test_gradcam_not_requested(inspector, image):
    result = inspector.run(image, gradcam=False)
    assert result.gradcam is None and result.gradcam_class is None
    assert result.gradcam_layer is None
    assert result.gradcam_reason == NOT_REQUESTED_REASON


def test_model_without_conv_layers(image):
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    inspector = Inspector(model)
    assert inspector.gradcam_layer is None and inspector.gradcam_reason == NO_CONV_REASON
    result = inspector.run(image)
    assert result.activations == []
    assert result.gradcam is None and result.gradcam_reason == NO_CONV_REASON
    np.testing.assert_allclose(result.probabilities, model(image[None]).numpy()[0], atol=1e-5)
    assert filters(model) == [] and conv_layer_names(model) == []


def test_sequential_without_input_is_built_on_first_run(image):
    model = keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu"),
            layers.AveragePooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    inspector = Inspector(model)
    assert "not built yet" in repr(inspector)
    result = inspector.run(image)
    assert inspector.input_shape == (SIZE, SIZE, 1)
    assert [a.kind for a in result.activations] == ["conv", "pool"]
    assert result.gradcam.shape == (SIZE, SIZE)
    np.testing.assert_allclose(result.probabilities, model(image[None]).numpy()[0], atol=1e-5)


def test_functional_model_with_batchnorm_and_separate_activation():
    """A conv followed by BatchNorm/Activation layers is reported as their activated output."""
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", name="conv_a")(inputs)
    x = layers.BatchNormalization(name="bn_a")(x)
    x = layers.Activation("relu", name="act_a")(x)
    x = layers.MaxPooling2D(name="pool_a")(x)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_b")(x)
    x = layers.Dropout(0.3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(3, activation="softmax", name=OUTPUT_LAYER)(x)
    model = keras.Model(inputs, outputs)
    image = np.random.default_rng(2).uniform(size=(1, 16, 16, 3)).astype(np.float32)

    result = Inspector(model).run(image)
    assert [(a.name, a.kind, a.array.shape) for a in result.activations] == [
        ("conv_a", "conv", (16, 16, 4)),
        ("pool_a", "pool", (8, 8, 4)),
        ("conv_b", "conv", (8, 8, 6)),
    ]
    activated = keras.Model(inputs, model.get_layer("act_a").output)(image).numpy()[0]
    np.testing.assert_allclose(result.activations[0].array, activated, atol=1e-5)
    assert result.activations[0].array.min() >= 0
    assert Inspector(model).feature_map_layers[0] == ("conv_a", "conv", "act_a")
    assert result.gradcam_layer == "conv_b" and result.gradcam.shape == (16, 16)
    np.testing.assert_allclose(result.probabilities, model(image).numpy()[0], atol=1e-5)


def test_probability_score_when_predictions_is_not_a_softmax_dense(image):
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(2),
            layers.Activation("softmax", name=OUTPUT_LAYER),
        ]
    )
    inspector = Inspector(model)
    assert inspector.score == "probability"
    cam = inspector.run(image).gradcam
    assert cam.shape == (SIZE, SIZE) and np.isfinite(cam).all()
    assert 0.0 <= cam.min() and cam.max() <= 1.0


def test_input_checks(inspector, image):
    batch = inspector.run(image[None], gradcam=False).probabilities
    np.testing.assert_array_equal(batch, inspector.run(image, gradcam=False).probabilities)
    with pytest.raises(ValueError, match="one image"):
        inspector.run(np.stack([image, image]))
    with pytest.raises(ValueError, match="expects images of shape"):
        inspector.run(np.zeros((32, 32, 1), np.float32))


def test_never_calls_predict_and_is_usable_from_threads(mnist_model, image):
    inspector = Inspector(mnist_model)
    expected = inspector.run(image)
    results = []

    def forbidden(*args, **kwargs):
        raise AssertionError("model.predict must not be called")

    mnist_model.predict = forbidden
    try:
        threads = [
            threading.Thread(target=lambda: results.append(inspector.run(image))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        del mnist_model.predict
    assert len(results) == 4
    for result in results:
        np.testing.assert_array_equal(result.probabilities, expected.probabilities)
        np.testing.assert_array_equal(result.gradcam, expected.gradcam)


def test_reprs_are_readable(inspector, image):
    assert repr(inspector).startswith("Inspector(model=")
    assert "gradcam_layer=" in repr(inspector)
    text = repr(inspector.run(image))
    assert text.startswith("Inspection(predicted_class=") and "(26, 26, 8)" in text
    assert "array(" not in text


def test_filters_are_the_conv_kernels(mnist_model):
    kernels = filters(mnist_model)
    names = conv_layer_names(mnist_model)
    assert [name for name, _ in kernels] == names
    assert [kernel.shape for _, kernel in kernels] == [(3, 3, 1, 8), (3, 3, 8, 16)]
    for name, kernel in kernels:
        assert kernel.dtype == np.float32
        np.testing.assert_array_equal(kernel, mnist_model.get_layer(name).kernel.numpy())


def test_filter_images_grayscale_and_rgb(mnist_model):
    gray = filter_images(filters(mnist_model)[1][1])
    assert gray.shape == (16, 3, 3) and gray.dtype == np.float32
    assert gray.min() == 0.0 and gray.max() == 1.0
    per_filter = gray.reshape(16, -1)
    np.testing.assert_allclose(per_filter.min(axis=1), 0.0)
    np.testing.assert_allclose(per_filter.max(axis=1), 1.0)

    kernel = np.random.default_rng(0).normal(size=(5, 5, 3, 4)).astype(np.float32)
    kernel[..., 3] = 0.25  # a constant filter shows as mid-grey
    rgb = filter_images(kernel)
    assert rgb.shape == (4, 5, 5, 3)
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0
    np.testing.assert_array_equal(rgb[3], 0.5)
    with pytest.raises(ValueError, match="4 dimensions"):
        filter_images(kernel[..., 0])


def test_a_batch_is_every_image_inspected_alone(mnist_model, inspector):
    images, _ = square_images(5, seed=3)  # 5 is padded to 8 inside: the padding must not leak
    batch = inspector.run_batch(images, classes=[0, 1, -1, 1, 0])
    assert batch.probabilities.shape == (5, 10) and batch.gradcam.shape == (5, SIZE, SIZE)
    for i, image in enumerate(images):
        wanted = None if i == 2 else [0, 1, -1, 1, 0][i]
        alone = inspector.run(image, gradcam_class=wanted)
        np.testing.assert_allclose(batch.probabilities[i], alone.probabilities, atol=1e-5)
        np.testing.assert_allclose(batch.gradcam[i], alone.gradcam, atol=1e-4)
        assert batch.gradcam_classes[i] == alone.gradcam_class
        for many, one in zip(batch.activations, alone.activations, strict=True):
            np.testing.assert_allclose(many.array[i], one.array, atol=1e-5)
    features, probabilities = inspector.predict_with_features(images)
    np.testing.assert_allclose(probabilities, batch.probabilities, atol=1e-5)
    head = mnist_model.get_layer(OUTPUT_LAYER)
    logits = features @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(probabilities, keras.ops.softmax(logits).numpy(), atol=1e-5)


def test_a_residual_model_shows_its_adds_and_takes_grad_cam_from_the_last_one():
    """Adds are feature maps (shown after their activation); a block's last conv is shown
    after its own batch norm (its activation follows the add); Grad-CAM reads the last add,
    never a shortcut's 1x1 projection listed after it."""
    from cnn.architectures import REGISTRY, build

    model = build(REGISTRY["residual"].spec((32, 32, 3), 2), (32, 32, 3), 2)
    inspector = Inspector(model, jit_compile=False)
    shown = {name: (kind, tap) for name, kind, tap in inspector.feature_map_layers}
    assert shown["add4"] == ("add", "act4_2") and shown["conv4_2"] == ("conv", "bn4_2")
    assert shown["skip4"] == ("conv", "skip_bn4") and shown["conv4_1"] == ("conv", "act4_1")
    assert inspector.gradcam_layer == "add4"
    image = np.random.default_rng(0).uniform(0, 1, (32, 32, 3)).astype(np.float32)
    assert inspector.run(image).gradcam.shape == (32, 32)
