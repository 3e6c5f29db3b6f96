"""TensorFlow Lite: converted with TensorFlow's converter, then run back and checked.

Teachable Machine's users met exported files that failed to convert, or that converted and
then predicted differently from the app. Here the model is exported as a SavedModel,
converted by `tf.lite.TFLiteConverter` (float32, no quantization), loaded back into the LiteRT
interpreter (PyPI `ai-edge-litert`, the runtime phones and boards use) and run on real
test images of the run's data. The file is written only when its probabilities agree with
Keras' on every image; otherwise the export is refused with a sentence.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np

from cnn.errors import ExportError
from cnn.i18n import tr

TOLERANCE = 1e-4  # largest |TFLite - Keras| probability difference accepted (float32 files)


@dataclass
class TfliteCheck:
    """How the converted file compared with the Keras model.

    Attributes:
        content: the .tflite file's bytes.
        max_difference: largest absolute probability difference over all images and classes.
        same_top_class: whether every image got the same most probable class.
        images: how many images were compared.
    """

    content: bytes
    max_difference: float
    same_top_class: bool
    images: int

    @property
    def agrees(self) -> bool:
        """True when the file may be offered."""
        return self.same_top_class and self.max_difference <= TOLERANCE


def convert(model) -> bytes:
    """A Keras model as a float32 TensorFlow Lite flatbuffer (via a SavedModel).

    Raises:
        ExportError: the converter refused the model.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        try:
            model.export(folder, format="tf_saved_model", verbose=False)
            return tf.lite.TFLiteConverter.from_saved_model(folder).convert()
        except Exception as err:  # noqa: BLE001 - the converter raises many kinds; one sentence
            raise ExportError(
                tr(
                    "TensorFlow's converter could not turn this model into TensorFlow Lite "
                    "({error})."
                ).format(error=type(err).__name__)
            ) from err


def tflite_probabilities(content: bytes, images: np.ndarray) -> np.ndarray:
    """Run a .tflite file on a batch with the LiteRT interpreter; (n, classes) float32."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    given = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(given["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], images.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def check(model, images: np.ndarray) -> TfliteCheck:
    """Convert `model` and compare the file's probabilities with Keras' on `images`.

    Args:
        model: the Keras model.
        images: float32 (n, h, w, c) model inputs, real images of the model's data.
    """
    content = convert(model)
    expected = np.asarray(model(images, training=False))
    got = tflite_probabilities(content, images)
    return TfliteCheck(
        content,
        float(np.abs(got - expected).max()),
        bool((got.argmax(axis=1) == expected.argmax(axis=1)).all()),
        len(images),
    )
