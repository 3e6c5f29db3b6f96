"""Fool the model: the smallest change of the input, along the gradient, that changes its answer.

Fast gradient sign method (Goodfellow et al., 2015): move every pixel by the same small
amount epsilon, up or down, whichever raises the loss of the current answer (or lowers the
loss of a chosen target class). Projected gradient descent (Madry et al., 2018) takes a few
such steps of 2.5 epsilon / steps each, never straying more than epsilon from the original.
Pixels always stay in [0, 1].

The smallest epsilon is found by a batched search: 32 epsilons from 0.001 to 1 (spaced
evenly on a log scale) attacked with FGSM in one batch, then 32 more between the last that
failed and the first that worked (FGSM), or 8 up to that first success (PGD). The input
found is classified again on its own, so the label reported is the one the model gives
that exact input.

The gradient is taken of the cross-entropy of the logits (the scores before softmax): the
softmax of a very sure model rounds to 1.0 and its gradient to 0.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from cnn.errors import CnnError
from cnn.i18n import tr

METHODS = ("fgsm", "pgd")
GRID = 32  # epsilons tried per FGSM batch (a power of two: one XLA program per stage)
PGD_GRID = 8  # epsilons per PGD batch: each of its steps is a backward pass of the batch
SMALLEST = 1e-3  # the first epsilon tried, in [0, 1] input units
PGD_STEPS = 5  # projected gradient steps per epsilon
PGD_STEP_SIZE = 2.5  # each step moves epsilon * this / steps
# A change of at most this many of 255 brightness steps per pixel counts as invisible: 8/255
# is the budget the adversarial-examples literature treats as imperceptible (Madry et al.,
# 2018, on CIFAR-10), and a saved JPEG moves pixels about that much without anyone noticing.
# Larger changes are small but visible (as noise or faint strokes).
INVISIBLE_STEPS = 8
NOTICED_STEP = 1  # a pixel counts as changed when it moved by more than this many steps


class AttackError(CnnError, ValueError):
    """An attack that cannot be set up (unknown method, target equal to the answer...)."""


@dataclass(repr=False)
class Attack:
    """What the smallest successful perturbation found is, and what it did.

    Attributes:
        method: "fgsm" or "pgd".
        goal: "away" (from label_before) or "toward" (the target).
        target: the class pushed toward (goal "toward"), else None.
        label_before, label_after: the model's answer on the input and on the perturbed one.
        epsilon: the smallest epsilon found that changes the answer as asked, or None.
        image, perturbed: float32 (h, w, c) in [0, 1].
        probabilities_before, probabilities_after: float32 (k,).
        epsilons, succeeded: every epsilon tried (ascending) and whether it worked.
        probabilities: float32 (len(epsilons), k), the model's answer at each epsilon.
    """

    method: str
    goal: str
    target: int | None
    label_before: int
    label_after: int
    epsilon: float | None
    image: np.ndarray
    perturbed: np.ndarray
    probabilities_before: np.ndarray
    probabilities_after: np.ndarray
    epsilons: np.ndarray
    succeeded: np.ndarray
    probabilities: np.ndarray

    @property
    def perturbation(self) -> np.ndarray:
        """perturbed - image, float32 (h, w, c) in [-epsilon, epsilon]."""
        return self.perturbed - self.image

    def __repr__(self) -> str:
        eps = "none up to 1" if self.epsilon is None else f"{self.epsilon:.4f}"
        return (
            f"Attack({self.method}, {self.goal}, {self.label_before} -> {self.label_after}, "
            f"epsilon={eps}, tried={len(self.epsilons)})"
        )


@dataclass(frozen=True)
class ChangeSize:
    """How big a change of a picture is, in the units a student can picture.

    Attributes:
        largest_steps: the largest change of any pixel, in brightness steps of 255.
        changed_share: the share of pixels (any channel) changed by more than one step.
    """

    largest_steps: float
    changed_share: float

    @property
    def invisible(self) -> bool:
        """True when no pixel moved by more than INVISIBLE_STEPS of 255."""
        return self.largest_steps <= INVISIBLE_STEPS


def change_size(image: np.ndarray, changed: np.ndarray) -> ChangeSize:
    """The size of the change from `image` to `changed` (both float (h, w, c) in [0, 1])."""
    # rounded: 8/255 in float32 is 8.0000002 steps, which is still 8
    steps = np.round(np.abs(np.asarray(changed, np.float64) - image) * 255, 3)
    per_pixel = steps.max(axis=-1) if steps.ndim == 3 else steps
    return ChangeSize(float(steps.max()), float((per_pixel > NOTICED_STEP).mean()))


class Attacker:
    """Compiled input gradients of one classifier, for FGSM and PGD.

    Build it once per model (next to its Inspector). It takes the logits from the input of
    the "predictions" layer, as the Inspector does for Grad-CAM.

    Args:
        inspector: the model's `cnn.inspect.Inspector` (classifies the results).
        jit_compile: compile with XLA (the app); the CLI's one-off calls skip it.
    """

    def __init__(self, inspector, jit_compile: bool = True) -> None:
        self.inspector = inspector
        self.jit_compile = jit_compile
        self._gradient = None
        self._lock = threading.Lock()

    def _build(self):
        import keras
        import tensorflow as tf

        model = self.inspector.model
        head = model.layers[-1]
        if not (
            isinstance(head, keras.layers.Dense) and head.activation is keras.activations.softmax
        ):
            raise AttackError(
                tr("This model does not end in a softmax layer: it cannot be attacked.")
            )
        if isinstance(model, keras.Sequential):
            body = model.layers[:-1]
        else:
            # a functional model (residual blocks) is no chain: its graph up to the head
            body = [keras.Model(model.inputs[0], head.input)]
        shape = tuple(model.inputs[0].shape[1:])

        @tf.function(
            input_signature=[
                tf.TensorSpec((None, *shape), tf.float32),
                tf.TensorSpec((None,), tf.int32),
            ],
            jit_compile=self.jit_compile,
            reduce_retracing=True,
        )
        def loss_gradient_sign(images, labels):
            with tf.GradientTape() as tape:
                tape.watch(images)
                # every layer but the last, then the last one's logits (before softmax)
                features = images
                for layer in body:
                    features = layer(features, training=False)
                logits = tf.matmul(features, tf.convert_to_tensor(head.kernel))
                if head.use_bias:
                    logits = tf.nn.bias_add(logits, tf.convert_to_tensor(head.bias))
                loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                # images do not mix: the gradient of the sum is each image's own gradient
                total = tf.reduce_sum(loss)
            return tf.sign(tape.gradient(total, images)), logits

        return loss_gradient_sign

    def gradient_sign(
        self, images: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sign(d loss / d input), logits) per image, the loss being each image's
        cross-entropy against its label: float32 (n, h, w, c) of -1, 0, 1 and (n, k)."""
        if self._gradient is None:
            with self._lock:
                if self._gradient is None:
                    self._gradient = self._build()
        images = np.asarray(images, np.float32)
        labels = np.asarray(labels, np.int32)
        signs, logits = self._gradient(images, labels)
        return signs.numpy(), logits.numpy()

    def perturb(self, image: np.ndarray, epsilons: np.ndarray, label: int, sign: float,
                method: str) -> np.ndarray:  # fmt: skip
        """The input perturbed at each epsilon: float32 (len(epsilons), h, w, c) in [0, 1].

        `sign` +1 raises the loss of `label` (away from it), -1 lowers it (toward it). A PGD
        input stops moving once it reaches the goal (a later step could undo it).
        """
        eps = np.asarray(epsilons, np.float32)[:, None, None, None]
        labels = np.full(len(eps), label, np.int32)
        if method == "fgsm":
            step, _ = self.gradient_sign(image[None], labels[:1])
            return np.clip(image + sign * eps * step, 0.0, 1.0)
        batch = np.repeat(image[None], len(eps), axis=0)
        for _ in range(PGD_STEPS):
            step, logits = self.gradient_sign(batch, labels)
            answers = logits.argmax(axis=1)
            reached = answers != label if sign > 0 else answers == label
            step[reached] = 0.0
            batch = batch + sign * (PGD_STEP_SIZE / PGD_STEPS) * eps * step
            # project back: at most epsilon from the original, and a valid image
            batch = np.clip(np.clip(batch, image - eps, image + eps), 0.0, 1.0)
        return batch.astype(np.float32)

    def attack(self, image: np.ndarray, method: str = "fgsm", target: int | None = None) -> Attack:
        """Search the smallest epsilon that changes the answer (or makes it `target`).

        Args:
            image: float32 (h, w, c) in [0, 1], exactly what the model gets.
            method: "fgsm" or "pgd".
            target: a class to push toward; None pushes away from the current answer.

        Returns:
            An Attack (epsilon None when even epsilon 1 did not work).

        Raises:
            AttackError: an unknown method, or a target the model already answers.
        """
        if method not in METHODS:
            raise AttackError(
                tr("Unknown attack {method}: choose one of {names}.").format(
                    method=repr(method), names=", ".join(METHODS)
                )
            )
        image = np.asarray(image, np.float32)
        before = self.inspector.probabilities(image[None])[0]
        answer = int(before.argmax())
        if target is not None and int(target) == answer:
            raise AttackError(tr("The model already answers that class: pick another target."))
        label, sign = (answer, 1.0) if target is None else (int(target), -1.0)

        def worked(probabilities: np.ndarray) -> np.ndarray:
            labels = probabilities.argmax(axis=-1)
            return labels != answer if target is None else labels == target

        tried, perturbed, probabilities = self._search(image, label, sign, method, worked)
        order = np.argsort(tried, kind="stable")
        tried, perturbed, probabilities = tried[order], perturbed[order], probabilities[order]
        succeeded = worked(probabilities)
        # the smallest epsilon whose input, classified on its own, really works (a batch
        # and a single image may differ in the last bits, which matters only at the border)
        chosen, after, epsilon = image, before, None
        for i in np.flatnonzero(succeeded):
            alone = self.inspector.probabilities(perturbed[i][None])[0]
            if worked(alone[None])[0]:
                chosen, after, epsilon = perturbed[i], alone, float(tried[i])
                break
            succeeded[i] = False
        return Attack(method, "away" if target is None else "toward", target, answer,
                      int(after.argmax()), epsilon, image, chosen, before, after, tried,
                      succeeded, probabilities)  # fmt: skip

    def _search(self, image, label, sign, method, worked):
        """(epsilons, inputs, probabilities) of every epsilon tried, in batched stages.

        FGSM: GRID epsilons spaced evenly on a log scale over [SMALLEST, 1], then GRID more
        between the last failure and the first success. PGD, whose steps cost a backward
        pass each, runs once over PGD_GRID epsilons evenly up to FGSM's first success
        (PGD is the stronger attack, so its answer usually lies below), else over FGSM's
        log scale.
        """
        coarse = np.geomspace(SMALLEST, 1.0, GRID)
        first = self._try(image, coarse, label, sign, "fgsm")
        success = worked(first[2])
        upper = coarse[int(np.argmax(success))] if success.any() else 1.0
        if method == "pgd":
            if success.any():
                grid = np.linspace(0, upper, PGD_GRID + 1)[1:]
                below_fgsm = self._try(image, grid, label, sign, "pgd")
                if worked(below_fgsm[2]).any():
                    return below_fgsm
            return self._try(image, np.geomspace(SMALLEST, 1.0, PGD_GRID), label, sign, "pgd")
        if not success.any():
            return first
        below = coarse[coarse < upper]
        fine = np.linspace(below[-1] if len(below) else 0.0, upper, GRID + 1)[1:]
        second = self._try(image, fine, label, sign, "fgsm")
        return tuple(np.concatenate(pair) for pair in zip(first, second, strict=True))

    def _try(self, image, epsilons, label, sign, method):
        """(epsilons, perturbed inputs, their probabilities): one batch, one compiled call."""
        perturbed = self.perturb(image, epsilons, label, sign, method)
        return epsilons, perturbed, self.inspector.probabilities(perturbed)
