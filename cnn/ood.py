"""Is this input like the model's training data? A measured flag, chosen per run.

A classifier must answer with one of its classes, even for a coffee cup shown to a digit
model. Four familiarity scores, higher meaning more familiar:

- "neighbours" (Sun et al. 2022, on features a second network learnt from ImageNet's photos,
  `cnn.photo_embedder`), for colour runs: minus the cosine distance from the input's
  features to the NEIGHBOUR-th nearest of the training photos' features (kept in the run
  folder, float16). A network trained from scratch on a few thousand pet photos cannot tell
  a pet photo from a flower photo by its own features; one that learnt from 1.28 million
  photos places each photo among photos of its kind.
- "layers" (a feature ensemble, as Lee et al. 2018 combine layers): at each of the network's
  image sizes, the last feature maps an `cnn.inspect.Inspection` shows are summed up per
  channel (their mean and spread over the picture, log-scaled), and the distance of those
  numbers from the training images' (Mahalanobis, one Gaussian per size, Ledoit-Wolf
  covariance) is put on a common scale (minus the typical distance of held-out training
  images, over its spread); the score is minus the sum over sizes. Early layers see colour
  and texture, late ones shapes: a photo shown to a digit model differs in both. The means
  and precision matrices are kept in the run folder (`cnn.artifacts.OOD_FILE`).
- "mahalanobis" (Lee et al., 2018): how far the input's features (what the output layer
  reads) lie from the nearest class's mean, in units of the training features' spread (one
  covariance shared by the classes, fitted on training images).
- "energy" (Liu et al., 2020): how large the logits are overall, `T * logsumexp(logits / T)`.
  Needs nothing stored; used when neither Gaussian can be fitted (tiny datasets).

Which one a run uses was chosen by measurement on the four shipped runs and classroom
inputs (photos through the upload path, letters, shapes and scribbles through the canvas:
`cnn.foreign`; `python bench/bench_ood.py`, figures in artifacts/README.md): on the colour
(photo) runs "neighbours" caught the most (99.3% and 100%, where "layers" caught 86.2% and
79.7%), on the grey runs "layers" (the photo network is not asked: digits and clothes are
no photos, and "layers" met the target there). So a colour run uses "neighbours" when the
photo network is installed, and every run then "layers" whenever it can be fitted, else
"mahalanobis", else "energy"; the others' rates are recorded beside the one used.

The threshold is chosen on the run's own test split so that only FALSE_ALARM of its real
test images are flagged, and the run records how many classroom foreign inputs it then
flags (its detection rate) and, for digit models, how many honest drawn digits.
Numpy (and scikit-learn's Ledoit-Wolf estimate) only.

Example:
    >>> check = measure(test_logits, foreign_logits, "fashion_mnist", temperature)
    >>> familiar(logits_of_one_input, check)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FALSE_ALARM = 0.05  # share of the run's own test images allowed to be flagged
# Digit models too: with the "layers" score the shipped digit run warns on 4.9% of honest
# drawn digits at 5% (the penultimate Mahalanobis score needed 1% to stay near that, and then
# missed a fifth of the classroom inputs; artifacts/README.md)
DIGIT_FALSE_ALARM = FALSE_ALARM
REPORTED_FALSE_ALARM = 0.05
TARGET = 0.95  # issue 28: at least this share of classroom foreign inputs flagged
GAUSSIAN_MAX_DIM = 1024  # features wider than this use the energy score (a d x d matrix is kept)
MAX_FITTED = 5000  # training images the class means and covariance are fitted on, at most
MIN_PER_DIM = 2  # a shrunk covariance of d numbers needs at least 2 d training images
RAW_PER_DIM = 10  # from 10 d images on, the sample covariance itself (it kept MNIST's flag
# at 94.2% of Fashion-MNIST caught at 1% false alarms, where the shrunk one caught 93.2%)
RIDGE = 1e-6  # added to the covariance's diagonal (relative to its mean variance)
ORDER = ("neighbours", "layers", "mahalanobis", "energy")  # the first that can be fitted is used
NEIGHBOUR = 5  # the neighbour whose distance "neighbours" reads (k = 1 to 50 caught the same
# share of the classroom photos on both shipped photo runs; 5 is less shaken by one odd photo)


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
        foreign: what the detection rate was measured on (the classroom set's description,
            `cnn.foreign`; a dataset's key in records written before it), or None.
        detection: share of the foreign inputs caught (flagged, or refused by the page with
            a sentence instead of an answer), or None.
        n_test, n_foreign: inputs measured (n_foreign counts the refused ones too).
        photo_detection, drawing_detection: `detection` for the photos (upload path) and the
            drawings (canvas path) alone, or None when the set had none.
        refused: foreign inputs the page's preprocessing refused (counted as caught).
        drawn_false_alarm: share of honest drawn digits (MNIST test digits drawn on the
            canvas, `cnn.drawn`) flagged, for digit models; n_drawn of them.
        layers_detection, neighbours_detection: those scores' rates when another is used.
    """

    score: str = "energy"  # or "mahalanobis", "layers" or "neighbours"
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
    photo_detection: float | None = None
    drawing_detection: float | None = None
    refused: int = 0
    drawn_false_alarm: float | None = None
    n_drawn: int = 0
    layers_detection: float | None = None
    neighbours_detection: float | None = None


def _quadratic(diff: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """diff_i . precision . diff_i for each row i, as one matrix product (BLAS): the same
    numbers as einsum("ij,jk,ik->i"), whose three-operand loop took seconds on a test set."""
    return np.sum((diff @ precision) * diff, axis=1)


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
            nearest = np.minimum(nearest, _quadratic(diff, precision))
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


def stage_features(activations) -> list[np.ndarray]:
    """What the "layers" score reads: at each image size of the network, the last feature
    maps shown there (the `cnn.inspect.Inspection.activations` list, in model order, one
    image (h, w, c) or a batch (n, h, w, c)), summed up per channel as their mean and their
    spread over the picture, log-scaled: one (n, 2c) array per size, first layers first."""
    last: dict[tuple[int, int], np.ndarray] = {}
    for activation in activations:
        array = np.asarray(getattr(activation, "array", activation))
        array = array[None] if array.ndim == 3 else array
        if array.ndim == 4:
            last.pop(array.shape[1:3], None)  # keep sizes in the order they were last seen
            last[array.shape[1:3]] = array
    pooled = []
    for array in last.values():  # only the kept maps are summed, in float64
        flat = array.reshape(len(array), -1, array.shape[-1])
        mean = flat.mean(axis=1, dtype=np.float64)
        spread = flat.std(axis=1, dtype=np.float64)
        both = np.concatenate([mean, spread], axis=1)
        pooled.append(np.sign(both) * np.log1p(np.abs(both)))
    return pooled


@dataclass(repr=False)
class Layers:
    """The "layers" score's Gaussians: per image size, the mean (d,) and precision (d, d) of
    the training images' `stage_features`, and the typical distance (centre) and its spread
    (scale) of training images the Gaussian was not fitted on."""

    means: list[np.ndarray]
    precisions: list[np.ndarray]
    centres: np.ndarray
    scales: np.ndarray

    def __repr__(self) -> str:
        return f"Layers(sizes={len(self.means)}, d={[len(m) for m in self.means]})"

    def distances(self, stages: list[np.ndarray]) -> np.ndarray:
        """(n, sizes): each input's Mahalanobis distance at each size, on the common scale."""
        if len(stages) != len(self.means):
            raise ValueError("these feature maps are not the ones the Gaussians were fitted on")
        out = []
        for x, mean, precision in zip(stages, self.means, self.precisions, strict=True):
            diff = np.asarray(x, np.float64) - mean
            out.append(np.sqrt(np.maximum(_quadratic(diff, precision), 0)))
        return (np.stack(out, axis=1) - self.centres) / self.scales

    def familiarity(self, stages: list[np.ndarray]) -> np.ndarray:
        """Minus the summed scaled distances, per input (n,)."""
        return -self.distances(stages).sum(axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        """What the run folder keeps (float32)."""
        arrays = {"centres": self.centres.astype(np.float32)}
        arrays["scales"] = self.scales.astype(np.float32)
        for i, (mean, precision) in enumerate(zip(self.means, self.precisions, strict=True)):
            arrays[f"mean_{i}"] = mean.astype(np.float32)
            arrays[f"precision_{i}"] = precision.astype(np.float32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> Layers:
        """The inverse of `arrays` (raises KeyError or ValueError when they do not fit)."""
        n = len(arrays["centres"])
        means = [np.asarray(arrays[f"mean_{i}"], np.float64) for i in range(n)]
        precisions = [np.asarray(arrays[f"precision_{i}"], np.float64) for i in range(n)]
        if any(p.shape != (len(m), len(m)) for m, p in zip(means, precisions, strict=True)):
            raise ValueError("a precision matrix does not fit its mean")
        return cls(means, precisions, np.asarray(arrays["centres"], np.float64),
                   np.asarray(arrays["scales"], np.float64))  # fmt: skip


def fit_layers(stages: list[np.ndarray], seed: int = 0) -> Layers | None:
    """The "layers" Gaussians from training images' `stage_features`: fitted on one half,
    their distances put on a common scale with the other half. None without feature maps or
    with fewer training images than half the widest size's numbers (16 at least)."""
    from sklearn.covariance import LedoitWolf

    if not stages or len(stages[0]) < max(16, max(s.shape[1] for s in stages) // 2):
        return None
    n = len(stages[0])
    order = np.random.default_rng(seed).permutation(n)
    fit, held = order[: n // 2], order[n // 2 :]
    means, precisions = [], []
    for x in stages:
        x = np.asarray(x, np.float64)
        mean = x[fit].mean(axis=0)
        covariance = LedoitWolf(assume_centered=True).fit(x[fit] - mean).covariance_
        means.append(mean)
        precisions.append(np.linalg.pinv(covariance, hermitian=True))
    layers = Layers(means, precisions, np.zeros(len(stages)), np.ones(len(stages)))
    distances = layers.distances([s[held] for s in stages])
    layers.centres = distances.mean(axis=0)
    layers.scales = np.maximum(distances.std(axis=0), 1e-6)
    return layers


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row divided by its length (float32)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass(repr=False)
class Neighbours:
    """The "neighbours" score's bank: the training photos' photo-network features (n, d),
    each of length 1, float16; familiarity is minus the cosine distance to the k-th nearest."""

    bank: np.ndarray
    k: int = NEIGHBOUR

    def __repr__(self) -> str:
        return f"Neighbours(n={len(self.bank)}, d={self.bank.shape[1]}, k={self.k})"

    def familiarity(self, embeddings: np.ndarray) -> np.ndarray:
        """Minus the cosine distance to the k-th nearest training photo, per input (n,)."""
        x = np.asarray(embeddings)
        if x.shape[-1] != self.bank.shape[1]:
            raise ValueError("these features are not the ones the bank was made of")
        x = unit_rows(x.reshape(-1, self.bank.shape[1]))
        bank = self.bank.astype(np.float32)
        out = []
        for start in range(0, len(x), 1000):
            distance = 1 - x[start : start + 1000] @ bank.T
            out.append(-np.partition(distance, self.k - 1, axis=1)[:, self.k - 1])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """What the run folder keeps."""
        return {"bank": self.bank.astype(np.float16), "k": np.array(self.k)}

    @classmethod
    def from_arrays(cls, arrays) -> Neighbours:
        """The inverse of `arrays` (raises KeyError or ValueError when they do not fit)."""
        bank, k = np.asarray(arrays["bank"]), int(arrays["k"])
        if bank.ndim != 2 or not 1 <= k <= len(bank):
            raise ValueError("the bank does not fit its k")
        if not np.isfinite(bank.astype(np.float32)).all():
            raise ValueError("the bank holds numbers that are not finite")
        return cls(bank.astype(np.float16), k)


def fit_neighbours(embeddings: np.ndarray | None) -> Neighbours | None:
    """The bank of training photos' features; None without them or with too few."""
    if embeddings is None or len(embeddings) <= NEIGHBOUR:
        return None
    return Neighbours(unit_rows(embeddings).astype(np.float16))


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
    """Choose the threshold on the test split's familiarity scores; measure the foreign ones.
    The threshold is the (floor(false_alarm * n) + 1)-th lowest test score: at most
    `false_alarm` of the test images lie below it (204 flower photos: 10, not 11)."""
    ordered = np.sort(np.asarray(test_scores, np.float64))
    threshold = float(ordered[min(int(np.floor(false_alarm * len(ordered))), len(ordered) - 1)])
    threshold = round(float(np.floor(threshold * 1e5) / 1e5), 5)  # rounded down: no more flagged
    check = OodCheck(
        score=score,
        temperature=temperature,
        threshold=threshold,
        false_alarm=round(float(np.mean(test_scores < threshold)), 5),
        n_test=len(test_scores),
    )
    if foreign_scores is not None and len(foreign_scores):
        flagged = foreign_scores < check.threshold
        check.foreign, check.detection = foreign, round(float(flagged.mean()), 5)
        check.n_foreign = len(flagged)
        at_5 = np.quantile(test_scores, REPORTED_FALSE_ALARM)
        check.detection_at_5 = round(float(np.mean(foreign_scores < at_5)), 5)
    return check


@dataclass(repr=False)
class Scored:
    """One score's familiarity of every input measured for a run.

    Attributes:
        test: the run's own test images (n_test,).
        foreign: the classroom foreign inputs the page's preprocessing accepted, or None.
        kinds: "photo" or "drawing" per foreign input.
        refused: foreign inputs the page refused, per kind (caught: no answer is shown).
        drawn: the run's own test images drawn on the canvas (digit models), or None.
    """

    test: np.ndarray
    foreign: np.ndarray | None = None
    kinds: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    drawn: np.ndarray | None = None


def measure_scored(
    scored: Scored,
    score: str,
    foreign: str | None,
    temperature: float = 1.0,
    false_alarm: float = FALSE_ALARM,
) -> OodCheck:
    """The check of one score: threshold at `false_alarm` of the test images, then the share
    of the classroom foreign inputs caught (overall and per kind) and of drawn digits flagged."""
    check = measure_scores(scored.test, None, None, score, temperature, false_alarm)
    refused = sum(scored.refused.values())
    if scored.foreign is not None and len(scored.foreign) + refused:
        flagged, kinds = scored.foreign < check.threshold, np.asarray(scored.kinds)
        check.foreign, check.refused = foreign, refused
        check.n_foreign = len(flagged) + refused
        check.detection = round(float((flagged.sum() + refused) / check.n_foreign), 5)
        for kind in ("photo", "drawing"):
            n = int(np.sum(kinds == kind)) + scored.refused.get(kind, 0)
            caught = int(flagged[kinds == kind].sum()) + scored.refused.get(kind, 0)
            setattr(check, f"{kind}_detection", round(caught / n, 5) if n else None)
        at_5 = np.quantile(scored.test, REPORTED_FALSE_ALARM)
        check.detection_at_5 = round(float((np.sum(scored.foreign < at_5) + refused)
                                           / check.n_foreign), 5)  # fmt: skip
    if scored.drawn is not None and len(scored.drawn):
        check.drawn_false_alarm = round(float(np.mean(scored.drawn < check.threshold)), 5)
        check.n_drawn = len(scored.drawn)
    return check


def familiar(
    logits: np.ndarray,
    check: OodCheck,
    features: np.ndarray | None = None,
    gaussian: Gaussian | Layers | Neighbours | None = None,
    activations=None,
    image: np.ndarray | None = None,
) -> np.ndarray:
    """True for each input (logits (n, k) or (k,)) that looks like the training data.

    A "mahalanobis" check needs the inputs' features and the run's `Gaussian`, a "layers"
    check their activations (`cnn.inspect.Inspection.activations`) and the run's `Layers`,
    a "neighbours" check the model's input image(s) (h, w, c) or (n, h, w, c) and the run's
    `Neighbours` (each what `cnn.artifacts.load_gaussian` reads from the run folder); without
    them (the run folder lost its OOD_FILE, the photo network is not installed) every input
    counts as familiar: no flag is better than a flag with the wrong scale.
    """
    one = np.ndim(logits) == 1
    scores = _scores(check, logits, features, gaussian, activations, image)
    if scores is None:  # what the score needs is missing: no flag rather than a wrong one
        return np.bool_(True) if one else np.ones(np.shape(logits)[:-1], bool)
    if one:
        scores = np.asarray(scores).reshape(-1)[0]
    return scores >= check.threshold


def _scores(check: OodCheck, logits, features, gaussian, activations, image):
    """The inputs' familiarity by the check's score, or None when what it needs is missing
    (its arrays, its inputs, the photo network) or does not fit these inputs."""
    needs = {"mahalanobis": (Gaussian, features), "layers": (Layers, activations),
             "neighbours": (Neighbours, image)}  # fmt: skip
    if check.score not in needs:
        return familiarity(logits, check.temperature)
    wanted, given = needs[check.score]
    if given is None or not isinstance(gaussian, wanted):
        return None
    if check.score == "mahalanobis":
        return gaussian.familiarity(features)
    try:
        if check.score == "layers":
            return gaussian.familiarity(stage_features(activations))
        from cnn import photo_embedder

        if not photo_embedder.available():
            return None
        return gaussian.familiarity(photo_embedder.embed(np.asarray(image, np.float32)))
    except ValueError:  # another model's feature maps, a bank of another width
        return None
