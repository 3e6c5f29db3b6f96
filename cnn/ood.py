"""Is this input like the model's training data? A measured flag, chosen per run.

A classifier must answer with one of its classes, even for a coffee cup shown to a digit
model. Two familiarity scores, higher meaning more familiar:

- "mahalanobis" (Lee et al., 2018): how far the input's features (what the output layer
  reads) lie from the nearest class's mean, in units of the training features' spread (one
  covariance shared by the classes, fitted on training images). A run gets this score when
  its features have at most GAUSSIAN_MAX_DIM numbers and it has MIN_PER_DIM training images
  per number; the means and precision matrix are kept in the run folder
  (`cnn.artifacts.OOD_FILE`).
- "energy" (Liu et al., 2020): how large the logits are overall, `T * logsumexp(logits / T)`.
  Needs nothing stored; used otherwise (wide features, small datasets).

Mahalanobis catches far more foreign images than energy where it applies (`python -m cnn
calibrate` reports both; figures in bench/README.md, "Figures cited in the code").

The threshold is chosen on the run's own test split so that only FALSE_ALARM of its real
test images are flagged, and the run records how many images of a foreign dataset it then
flags (its detection rate). Numpy only.

Example:
    >>> check = measure(test_logits, foreign_logits, "fashion_mnist", temperature)
    >>> familiar(logits_of_one_input, check)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FALSE_ALARM = 0.05  # share of the run's own test images allowed to be flagged
# Digit models see hand drawings, a little unlike MNIST's scans: at 5% the flag warned on
# too many drawings, at 1% on few while still catching most of Fashion-MNIST (bench/README.md,
# "Figures cited in the code")
DIGIT_FALSE_ALARM = 0.01
REPORTED_FALSE_ALARM = 0.05
# a dataset unlike each one, to measure the flag's detection rate
FOREIGN = {
    "mnist": "fashion_mnist",
    "fashion_mnist": "mnist",
    "cats_vs_dogs": "flowers17",
    "flowers17": "cats_vs_dogs",
    "folder": "mnist",
}
MAX_FOREIGN = 2000  # foreign images scored at most
GAUSSIAN_MAX_DIM = 1024  # features wider than this use the energy score (a d x d matrix is kept)
MAX_FITTED = 5000  # training images the class means and covariance are fitted on, at most
MIN_PER_DIM = 2  # a shrunk covariance of d numbers needs at least 2 d training images
RAW_PER_DIM = 10  # from 10 d images on, the sample covariance itself (it kept MNIST's flag
# at 94.2% of Fashion-MNIST caught at 1% false alarms, where the shrunk one caught 93.2%)
RIDGE = 1e-6  # added to the covariance's diagonal (relative to its mean variance)


def familiarity(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The negative energy `T * logsumexp(logits / T)` per input: higher is more familiar."""
    z = np.asarray(logits, np.float64) / temperature
    top = z.max(axis=-1)
    return temperature * (top + np.log(np.exp(z - top[..., None]).sum(axis=-1)))


@dataclass
class OodCheck:
    """What run.json records about the unfamiliar-input flag.

    Attributes:
        score: "energy".
        temperature: the temperature the score uses (the run's calibration).
        threshold: inputs whose familiarity is below this are flagged.
        false_alarm: share of the run's own test images flagged (about FALSE_ALARM).
        foreign: the dataset the detection rate was measured on, or None when none was
            available on the machine that trained the run.
        detection: share of the foreign images flagged, or None.
        n_test, n_foreign: images measured.
    """

    score: str = "energy"  # or "mahalanobis"
    temperature: float = 1.0
    threshold: float = 0.0
    false_alarm: float = 0.0
    foreign: str | None = None
    detection: float | None = None
    n_test: int = 0
    n_foreign: int = 0
    energy_detection: float | None = None  # the energy score's rate, for comparison
    # the Mahalanobis score's rate when the energy score caught more foreign images and was
    # kept instead (the choice between the two is made on the foreign set)
    mahalanobis_detection: float | None = None
    detection_at_5: float | None = None  # detection with the threshold at 5% false alarms


@dataclass(repr=False)
class Gaussian:
    """Class means (k, d) and the shared precision matrix (d, d) of the training features."""

    means: np.ndarray
    precision: np.ndarray

    def __repr__(self) -> str:
        return f"Gaussian(classes={len(self.means)}, d={self.means.shape[1]})"

    def familiarity(self, features: np.ndarray) -> np.ndarray:
        """Minus the Mahalanobis distance to the nearest class mean, per input (n,) or ()."""
        x = np.asarray(features, np.float64)
        one = x.ndim == 1
        x = x.reshape(1, -1) if one else x.reshape(len(x), -1)
        precision = self.precision.astype(np.float64)
        nearest = np.full(len(x), np.inf)
        for mean in self.means.astype(np.float64):
            diff = x - mean
            nearest = np.minimum(nearest, np.einsum("ij,jk,ik->i", diff, precision, diff))
        score = -np.sqrt(np.maximum(nearest, 0.0))
        return score[0] if one else score

    def arrays(self) -> dict[str, np.ndarray]:
        """What the run folder keeps (float32)."""
        return {
            "means": self.means.astype(np.float32),
            "precision": self.precision.astype(np.float32),
        }


def fit_gaussian(features: np.ndarray, labels: np.ndarray, num_classes: int) -> Gaussian | None:
    """Class means and a shared covariance of training features; None when they are too wide
    (more than GAUSSIAN_MAX_DIM numbers), too few (under MIN_PER_DIM images per number) or a
    class has no image. Under RAW_PER_DIM images per number the covariance is scikit-learn's
    Ledoit-Wolf estimate: with 6 training photos per feature number (the residual cats run)
    the raw one was too rough to use."""
    x = np.asarray(features, np.float64).reshape(len(features), -1)
    if x.shape[1] > GAUSSIAN_MAX_DIM or len(x) < max(2, MIN_PER_DIM * x.shape[1]):
        return None
    labels = np.asarray(labels)
    if any(not np.any(labels == c) for c in range(num_classes)):
        return None
    means = np.stack([x[labels == c].mean(axis=0) for c in range(num_classes)])
    centred = x - means[labels]
    if len(x) >= RAW_PER_DIM * x.shape[1]:
        covariance = centred.T @ centred / len(x)
        ridge = RIDGE * max(float(np.trace(covariance)) / len(covariance), 1e-12)
        covariance += ridge * np.eye(len(covariance))
    else:
        from sklearn.covariance import LedoitWolf

        # Ledoit-Wolf shrinks the sample covariance towards a scaled identity by the amount
        # that minimises its expected error: usable from a few images per feature number
        covariance = LedoitWolf(assume_centered=True).fit(centred).covariance_
    return Gaussian(means, np.linalg.pinv(covariance, hermitian=True))


def measure(
    test_logits: np.ndarray,
    foreign_logits: np.ndarray | None,
    foreign: str | None,
    temperature: float = 1.0,
    false_alarm: float = FALSE_ALARM,
) -> OodCheck:
    """The energy flag: threshold chosen on the test split, measured on the foreign images."""
    foreign_scores = None
    if foreign_logits is not None and len(foreign_logits):
        foreign_scores = familiarity(foreign_logits, temperature)
    return measure_scores(
        familiarity(test_logits, temperature), foreign_scores, foreign, "energy", temperature,
        false_alarm,
    )  # fmt: skip


def measure_scores(
    test_scores: np.ndarray,
    foreign_scores: np.ndarray | None,
    foreign: str | None,
    score: str,
    temperature: float = 1.0,
    false_alarm: float = FALSE_ALARM,
) -> OodCheck:
    """Choose the threshold on the test split's familiarity scores; measure the foreign ones."""
    threshold = float(np.quantile(test_scores, false_alarm))
    check = OodCheck(
        score=score,
        temperature=temperature,
        threshold=round(threshold, 5),
        false_alarm=round(float(np.mean(test_scores < round(threshold, 5))), 5),
        n_test=len(test_scores),
    )
    if foreign_scores is not None and len(foreign_scores):
        flagged = foreign_scores < check.threshold
        check.foreign, check.detection = foreign, round(float(flagged.mean()), 5)
        check.n_foreign = len(flagged)
        at_5 = np.quantile(test_scores, REPORTED_FALSE_ALARM)
        check.detection_at_5 = round(float(np.mean(foreign_scores < at_5)), 5)
    return check


def familiar(
    logits: np.ndarray,
    check: OodCheck,
    features: np.ndarray | None = None,
    gaussian: Gaussian | None = None,
) -> np.ndarray:
    """True for each input (logits (n, k) or (k,)) that looks like the training data.

    A "mahalanobis" check needs the inputs' features and the run's Gaussian; without them
    (the run folder lost its OOD_FILE) every input counts as familiar: no flag is better than
    a flag with the wrong scale.
    """
    if check.score == "mahalanobis":
        if features is None or gaussian is None:
            return np.ones(np.shape(logits)[:-1], bool) if np.ndim(logits) > 1 else np.bool_(True)
        return gaussian.familiarity(features) >= check.threshold
    return familiarity(logits, check.temperature) >= check.threshold
