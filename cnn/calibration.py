"""Honest confidence: temperature scaling, the expected calibration error, reliability bins.

A network trained with cross-entropy is often over- (or under-) confident: its "95% sure"
answers are right less (or more) than 95% of the time. Temperature scaling (Guo et al.,
2017) divides the logits by one number T, fitted on held-out images so that the
probabilities match how often the model is right; it never changes which class wins.
Numpy, and scipy for the temperature search.

Example:
    >>> t = fit_temperature(validation_logits, validation_labels)
    >>> expected_calibration_error(softmax(test_logits, t), test_labels)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

BINS = 15  # confidence bins of the expected calibration error and the reliability diagram
T_RANGE = (0.05, 20.0)  # temperatures searched


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities (n, k) of logits (n, k) divided by `temperature`."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def calibrated(logits: np.ndarray, calibration: Calibration | None) -> np.ndarray:
    """The probabilities a run shows for its logits: softmax(logits / T), T being the run's
    temperature, or the network's own softmax (T = 1) for a run that was not calibrated.

    Every page that says how sure a model is uses this, so they all say the same number.
    """
    return softmax(logits, 1.0 if calibration is None else calibration.temperature)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean cross-entropy of the true classes at `temperature`."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood on held-out images.

    The likelihood is convex in 1/T, so a bounded scalar search (scipy's Brent) over log T
    finds it.
    """
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, np.int64)
    found = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, np.exp(log_t)),
        bounds=np.log(T_RANGE),
        method="bounded",
        options={"xatol": 1e-8},
    )
    return float(np.exp(found.x))


@dataclass
class Reliability:
    """A reliability diagram: per confidence bin, how sure the model was and how often right."""

    edges: list[float]  # BINS + 1 bin edges over [0, 1]
    confidence: list[float | None]  # mean top probability per bin (None: empty bin)
    accuracy: list[float | None]  # share right per bin
    counts: list[int]


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    """Bin the top-class probabilities and compare each bin's confidence with its accuracy."""
    confidence = probabilities.max(axis=-1)
    right = probabilities.argmax(axis=-1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    conf, acc, counts = [], [], []
    for b in range(bins):
        members = which == b
        counts.append(int(members.sum()))
        conf.append(float(confidence[members].mean()) if members.any() else None)
        acc.append(float(right[members].mean()) if members.any() else None)
    return Reliability(edges.tolist(), conf, acc, counts)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS):
    """The ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    table = reliability(probabilities, labels, bins)
    n = sum(table.counts)
    return float(
        sum(c * abs(a - f) for c, a, f in zip(table.counts, table.accuracy, table.confidence,
                                                 strict=True) if c) / n
    )  # fmt: skip


@dataclass
class Calibration:
    """What run.json records about a run's calibration.

    Attributes:
        temperature: divide the logits by this before the softmax (1.0: unchanged).
        fitted_on: the images T was fitted on, in words.
        ece_before, ece_after: expected calibration error (15 bins) on the test split.
        reliability_before, reliability_after: the diagrams' data (see `Reliability`).
    """

    temperature: float = 1.0
    fitted_on: str = ""
    ece_before: float | None = None
    ece_after: float | None = None
    reliability_before: dict[str, Any] = field(default_factory=dict)
    reliability_after: dict[str, Any] = field(default_factory=dict)


class CalibratedInspector:
    """A `cnn.inspect.Inspector` whose `probabilities` are the run's calibrated ones.

    The probes (sweeps, occlusion, attacks) take "anything with `.probabilities(batch)`";
    given this, their curves and percentages are the numbers Predict shows. It costs what
    `Inspector.probabilities` costs: the logits are one matrix product on the same pass.

    Args:
        inspector: the run's `cnn.inspect.Inspector`.
        calibration: the run's `Calibration`, or None (then the network's own softmax).
    """

    def __init__(self, inspector, calibration: Calibration | None) -> None:
        self.inspector = inspector
        self.calibration = calibration

    @property
    def model(self):
        """The Keras model inspected (what an `cnn.probes.attack.Attacker` differentiates)."""
        return self.inspector.model

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, k) of a batch, in one compiled call."""
        return calibrated(self.inspector.logits(x), self.calibration)


def calibrate(
    validation_logits: np.ndarray,
    validation_labels: np.ndarray,
    test_logits: np.ndarray,
    test_labels: np.ndarray,
    fitted_on: str,
) -> Calibration:
    """Fit T on the validation images and measure the test split before and after."""
    t = fit_temperature(validation_logits, validation_labels)
    before, after = softmax(test_logits), softmax(test_logits, t)
    return Calibration(
        temperature=round(t, 4),
        fitted_on=fitted_on,
        ece_before=round(expected_calibration_error(before, test_labels), 5),
        ece_after=round(expected_calibration_error(after, test_labels), 5),
        reliability_before=asdict(reliability(before, test_labels)),
        reliability_after=asdict(reliability(after, test_labels)),
    )
