"""Tests for cnn.evaluate, checked against tf.math.confusion_matrix and Keras metrics (evaluate
itself scores with scikit-learn, so these are an independent implementation)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from cnn.architectures import OUTPUT_LAYER
from cnn.evaluate import evaluate

CLASS_NAMES = ["left", "middle", "right"]


def stripe_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy 12x12 images with one bright vertical stripe; the class is the stripe's third."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0.0, 0.6, (n, 12, 12, 1)).astype(np.float32)
    for image, label in zip(images, labels, strict=True):
        column = 4 * int(label) + int(rng.integers(0, 4))
        image[:, column] = 1.0
    return images, labels.astype(np.int64)


@pytest.fixture(scope="module")
def stripe_model() -> keras.Model:
    """A small CNN with dropout, trained for one epoch (imperfect on purpose)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    images, labels = stripe_images(200)
    model.fit(images, labels, epochs=1, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    return stripe_images(150, seed=1)


def test_matches_tensorflow_and_keras_metrics(stripe_model, test_set):
    images, labels = test_set
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)  # last batch: 22
    result = evaluate(stripe_model, batches, CLASS_NAMES)

    probabilities = stripe_model(images, training=False).numpy()
    expected_confusion = tf.math.confusion_matrix(labels, probabilities.argmax(-1), 3).numpy()
    metric = keras.metrics.SparseCategoricalAccuracy()
    metric.update_state(labels, probabilities)

    assert result.n == 150
    assert result.confusion.dtype == np.int64
    np.testing.assert_array_equal(result.confusion, expected_confusion)
    assert result.accuracy == pytest.approx(float(metric.result()), abs=1e-6)
    np.testing.assert_allclose(result.probabilities, probabilities, atol=1e-5)
    np.testing.assert_array_equal(result.labels, labels)
    np.testing.assert_array_equal(result.predictions, probabilities.argmax(-1))
    np.testing.assert_array_equal(
        result.misclassified, np.flatnonzero(probabilities.argmax(-1) != labels)
    )
    # a class's accuracy is Keras' recall of that class, on one-hot labels and answers
    answers = np.eye(3)[probabilities.argmax(-1)]
    for i, entry in enumerate(result.per_class):
        recall = keras.metrics.Recall(class_id=i)
        recall.update_state(np.eye(3)[labels], answers)
        assert entry["name"] == CLASS_NAMES[i]
        assert entry["n"] == int((labels == i).sum())
        assert entry["accuracy"] == pytest.approx(float(recall.result()), abs=1e-6)


def test_numpy_batches_and_one_hot_labels_give_the_same_result(stripe_model, test_set):
    images, labels = test_set
    from_dataset = evaluate(
        stripe_model, tf.data.Dataset.from_tensor_slices((images, labels)).batch(64), CLASS_NAMES
    )
    one_hot = np.eye(3, dtype=np.float32)[labels]
    numpy_batches = [(images[i : i + 50], one_hot[i : i + 50]) for i in range(0, 150, 50)]
    from_numpy = evaluate(stripe_model, numpy_batches, CLASS_NAMES)
    assert from_numpy.to_dict() == from_dataset.to_dict()


def always_first_class_model() -> keras.Model:
    """A model whose bias makes it predict class 0 for every input."""
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax", name=OUTPUT_LAYER),
        ]
    )
    model.get_layer(OUTPUT_LAYER).set_weights([np.zeros((16, 3)), np.array([5.0, 0.0, 0.0])])
    return model


def test_empty_class_and_json_summary():
    labels = np.array([0] * 10 + [1] * 250, dtype=np.int64)
    images = np.zeros((260, 4, 4, 1), np.float32)
    batches = [(images[i : i + 100], labels[i : i + 100]) for i in range(0, 260, 100)]
    result = evaluate(always_first_class_model(), batches, CLASS_NAMES)

    assert result.accuracy == pytest.approx(10 / 260)
    assert result.confusion.tolist() == [[10, 0, 0], [250, 0, 0], [0, 0, 0]]
    assert result.per_class == [
        {"name": "left", "accuracy": 1.0, "n": 10},
        {"name": "middle", "accuracy": 0.0, "n": 250},
        {"name": "right", "accuracy": None, "n": 0},
    ]
    np.testing.assert_array_equal(result.misclassified, np.arange(10, 260))

    summary = json.loads(json.dumps(result.to_dict()))
    assert set(summary) == {"accuracy", "n", "per_class", "confusion", "misclassified"}
    assert summary["per_class"][2]["accuracy"] is None
    assert summary["misclassified"] == list(range(10, 210))
    assert repr(result).startswith("Evaluation(accuracy=0.0385, n=260")


def test_errors_are_sentences():
    model = always_first_class_model()
    images = np.zeros((2, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="predicts 3 classes but 2 class names"):
        evaluate(model, [(images, np.array([0, 1]))], ["a", "b"])
    with pytest.raises(ValueError, match="between 0 and 2"):
        evaluate(model, [(images, np.array([0, 3]))], CLASS_NAMES)
    with pytest.raises(ValueError, match="no examples"):
        evaluate(model, [], CLASS_NAMES)
