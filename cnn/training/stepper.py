"""Training one step at a time: one batch, and everything that changed, per click.

`Stepper(config)` prepares the data and builds the model as `train` does (the config's
dataset, architecture, image size, `init_from` and `freeze`), then each `step(lr)` runs one
batch of the training split (shuffled with the config's seed, not augmented) through one
optimizer step, with the learning rate given for that step:

1. the batch goes forward in training mode (batch norm uses the batch's statistics, dropout
   drops), and the loss is plain cross-entropy (no label smoothing or mixing);
2. every weight's gradient is taken with `tf.GradientTape`; the size of each layer's gradient
   (the square root of the sum of its squared entries) is kept;
3. the config's optimizer (Adam, SGD, ...) takes its step with that learning rate;
4. the loss on the same batch afterwards, and a chosen filter before and after, are kept.

Every learning rate used is kept in `history`, step by step, so a chart can mark where it
changed.

Example:
    >>> stepper = Stepper(TrainConfig(dataset="mnist", arch="tiny_vgg", max_samples=600))
    >>> result = stepper.step(0.01, layer="conv1_1", filter_index=0)
    >>> result.loss, result.loss_after, result.gradient_norms["conv1_1"]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnn.errors import TrainingError
from cnn.i18n import tr

__all__ = ["StepResult", "Stepper"]


@dataclass(repr=False)
class StepResult:
    """What one step did.

    Attributes:
        step: its number (1 for the first).
        learning_rate: the learning rate it used.
        loss, accuracy: on its batch, before the step (as training reports them).
        loss_after: on the same batch after the step (same training-mode forward).
        gradient_norms: layer name -> size of that layer's gradient (all its weights).
        layer, filter_index: the filter watched; filter_before/after: float32 (kh, kw, cin).
        batch_size: images in the batch.
    """

    step: int
    learning_rate: float
    loss: float
    accuracy: float
    loss_after: float
    gradient_norms: dict[str, float]
    layer: str | None
    filter_index: int | None
    filter_before: np.ndarray | None
    filter_after: np.ndarray | None
    batch_size: int

    def __repr__(self) -> str:
        return (
            f"StepResult(step {self.step}, lr {self.learning_rate:g}: loss {self.loss:.4f} -> "
            f"{self.loss_after:.4f} on {self.batch_size} images)"
        )


@dataclass
class Stepper:
    """A model trained by hand, one batch per `step` (see the module docstring).

    Args:
        config: a TrainConfig (its epochs and schedule are not used: each step says its lr).
    """

    config: object
    history: list[dict] = field(default_factory=list)  # per step: step, lr, loss, accuracy

    def __post_init__(self) -> None:
        import keras

        from cnn import architectures
        from cnn.training import init_from, loop

        prepared = loop.prepare(self.config)
        keras.utils.set_random_seed(self.config.seed)
        self.class_names = list(prepared.data.class_names)
        self.model = architectures.build(prepared.spec, prepared.input_shape, prepared.num_classes)
        init_from.start_from(self.model, self.config)
        self.optimizer = keras.optimizers.get(
            {"class_name": self.config.optimizer, "config": {"learning_rate": 0.01}}
        )
        self.loss_function = keras.losses.SparseCategoricalCrossentropy()
        from cnn import datasets

        batches = datasets.make_pipeline(
            prepared.train,
            prepared.input_shape[:2],
            prepared.input_shape[2],
            self.config.batch_size,
            shuffle=True,
            seed=self.config.seed,
        )
        self._batches = iter(batches.repeat())

    def __repr__(self) -> str:
        return f"Stepper({self.model.name}, {len(self.history)} steps)"

    def conv_layers(self) -> list[str]:
        """The model's conv layers (their filters can be watched)."""
        import keras

        return [lay.name for lay in self.model.layers if isinstance(lay, keras.layers.Conv2D)]

    def _filter(self, layer: str | None, filter_index: int | None) -> np.ndarray | None:
        if layer is None:
            return None
        kernel = self.model.get_layer(layer).kernel
        return np.asarray(kernel[..., filter_index], np.float32)

    def step(
        self, learning_rate: float, layer: str | None = None, filter_index: int | None = None
    ) -> StepResult:
        """One batch, one optimizer step at `learning_rate`; watch `layer`'s filter.

        Raises:
            TrainingError: a learning rate out of range, or an unknown layer or filter.
        """
        import tensorflow as tf

        if not (np.isfinite(learning_rate) and 0 < learning_rate <= 10):
            raise TrainingError(
                tr("The learning rate must be a number above 0 and at most 10, not {rate}.").format(
                    rate=learning_rate
                )
            )
        if layer is not None and (
            layer not in self.conv_layers()
            or not 0 <= filter_index < int(self.model.get_layer(layer).kernel.shape[-1])
        ):
            raise TrainingError(
                tr("There is no filter {index} in a conv layer {layer}.").format(
                    index=filter_index, layer=repr(layer)
                )
            )
        images, labels = next(self._batches)
        self.last_batch = (images, labels)  # what the step read (the checks re-read it)
        before = self._filter(layer, filter_index)
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            probabilities = self.model(images, training=True)
            loss = self.loss_function(labels, probabilities)
        grads = tape.gradient(loss, variables)
        self.optimizer.learning_rate.assign(learning_rate)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        after = self.loss_function(labels, self.model(images, training=True))
        hits = tf.argmax(probabilities, axis=-1, output_type=tf.int32) == tf.cast(labels, tf.int32)
        result = StepResult(
            step=len(self.history) + 1,
            learning_rate=float(learning_rate),
            loss=float(loss),
            accuracy=float(tf.reduce_mean(tf.cast(hits, tf.float32))),
            loss_after=float(after),
            gradient_norms=self._norms(grads),
            layer=layer,
            filter_index=filter_index,
            filter_before=before,
            filter_after=self._filter(layer, filter_index),
            batch_size=int(images.shape[0]),
        )
        self.history.append(
            {"step": result.step, "lr": result.learning_rate, "loss": result.loss,
             "accuracy": result.accuracy}
        )  # fmt: skip
        return result

    def _norms(self, grads) -> dict[str, float]:
        """Each layer's gradient size: sqrt of the sum of its weights' squared gradients."""
        owner = {}
        for layer in self.model.layers:
            for variable in layer.trainable_variables:
                owner[id(variable)] = layer.name
        sums: dict[str, float] = {}
        for variable, grad in zip(self.model.trainable_variables, grads, strict=True):
            name = owner.get(id(variable), variable.path.split("/")[0])
            sums[name] = sums.get(name, 0.0) + float(np.sum(np.square(np.asarray(grad))))
        return {name: float(np.sqrt(total)) for name, total in sums.items()}

    def lr_changes(self) -> list[tuple[int, float]]:
        """(step, new learning rate) wherever a step used another rate than the one before."""
        return [
            (h["step"], h["lr"])
            for i, h in enumerate(self.history)
            if i and h["lr"] != self.history[i - 1]["lr"]
        ]
