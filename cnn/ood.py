"""Is this input like the model's training data? A measured flag, chosen per run.

A classifier must answer with one of its classes, even for a coffee cup shown to a digit
model. The flag here uses the energy score (Liu et al., 2020): how large the model's logits
are overall, `T * logsumexp(logits / T)`. Inputs like the training data tend to excite some
class strongly; unfamiliar ones tend not to. The threshold is chosen on the run's own test
split so that only FALSE_ALARM of its real test images are flagged, and the run records how
many images of a foreign dataset it then flags (its detection rate). Numpy only.

Example:
    >>> check = measure(test_logits, foreign_logits, "fashion_mnist", temperature)
    >>> familiar(logits_of_one_input, check)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FALSE_ALARM = 0.05  # share of the run's own test images allowed to be flagged
# a dataset unlike each one, to measure the flag's detection rate
FOREIGN = {
    "mnist": "fashion_mnist",
    "fashion_mnist": "mnist",
    "cats_vs_dogs": "flowers17",
    "flowers17": "cats_vs_dogs",
    "folder": "mnist",
}
MAX_FOREIGN = 2000  # foreign images scored at most


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

    score: str = "energy"
    temperature: float = 1.0
    threshold: float = 0.0
    false_alarm: float = 0.0
    foreign: str | None = None
    detection: float | None = None
    n_test: int = 0
    n_foreign: int = 0


def measure(
    test_logits: np.ndarray,
    foreign_logits: np.ndarray | None,
    foreign: str | None,
    temperature: float = 1.0,
    false_alarm: float = FALSE_ALARM,
) -> OodCheck:
    """Choose the threshold on the test split and measure it on the foreign images."""
    scores = familiarity(test_logits, temperature)
    threshold = float(np.quantile(scores, false_alarm))
    check = OodCheck(
        temperature=temperature,
        threshold=round(threshold, 5),
        false_alarm=round(float(np.mean(scores < threshold)), 5),
        n_test=len(scores),
    )
    if foreign_logits is not None and len(foreign_logits):
        flagged = familiarity(foreign_logits, temperature) < threshold
        check.foreign, check.detection = foreign, round(float(flagged.mean()), 5)
        check.n_foreign = len(flagged)
    return check


def familiar(logits: np.ndarray, check: OodCheck) -> np.ndarray:
    """True for each input (logits (n, k) or (k,)) that looks like the training data."""
    return familiarity(logits, check.temperature) >= check.threshold
