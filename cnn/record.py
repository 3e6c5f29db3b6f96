"""The run record (run.json) as a typed, versioned dataclass.

`RunRecord.from_dict` reads every version this project wrote: fields it does not know (a newer
version's) are kept in `extra` and written back unchanged, and missing optional fields take
their defaults. `to_dict` writes the same JSON layout the project always wrote, so older
readers keep working.

Example:
    >>> record = RunRecord.from_dict(json.loads(Path("run.json").read_text()))
    >>> record.dataset.key, record.test.accuracy, record.config.epochs
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cnn.architectures import ArchSpec
from cnn.calibration import Calibration
from cnn.datasets.info import RENAMED_METHODS, kind_of_method
from cnn.errors import ArtifactError
from cnn.i18n import tr
from cnn.ood import OodCheck
from cnn.timelapse import TimelapseInfo
from cnn.training.config import TrainConfig

RECORD_VERSION = 2  # 1: the unversioned run.json of the first shipped runs
REQUIRED = ("class_names", "preprocessing", "dataset")  # a run.json without these is no run


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class DatasetRecord:
    """Which data a run trained on and how much of it."""

    key: str
    title: str = ""
    source: str = ""  # where the data came from (e.g. the embedded offline subset)
    train_samples: int = 0
    validation_samples: int = 0
    test_samples: int = 0


@dataclass
class Preprocessing:
    """What `cnn.preprocess.prepare_*` re-applies to turn an input into this model's input."""

    method: str  # a cnn.preprocess.METHODS entry
    image_size: list[int]  # [height, width]
    channels: int
    scale: str = "pixel / 255"
    crop: str = "none"

    def __post_init__(self) -> None:
        # a run recorded before the methods took the kinds' names reads "mnist_digit" as "digits"
        self.method = RENAMED_METHODS.get(self.method, self.method)

    @property
    def kind(self) -> str:
        """The kind of images the run reads ("digits", "grayscale", "photos")."""
        return kind_of_method(self.method).key

    def to_dict(self) -> dict[str, Any]:
        """The plain dict `cnn.preprocess.prepare_drawing` and `prepare_upload` take."""
        return asdict(self)


@dataclass
class TestRecord:
    """Results on the test split (see `cnn.evaluate.Evaluation.to_dict`)."""

    accuracy: float | None = None
    n: int = 0
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    misclassified: list[int] = field(default_factory=list)  # the first 200 indices
    misclassified_shown: list[int] = field(default_factory=list)  # kept in errors.npz


@dataclass
class Timings:
    """How long the run took."""

    seconds: float | None = None  # start to saved
    fit_seconds: float | None = None
    images_per_s: float | None = None


@dataclass
class SaliencyCheck:
    """How faithful one "Where it looked" method measured on a run's own test images
    (`cnn.explain.checks`; issue 28's two tests).

    Attributes:
        method: a key of `cnn.explain.saliency.METHODS` (with the kind's default parameters
            when it is the kind's default method).
        images: test images it was measured on.
        deletion_ratio: mean area under the deletion curve over the random orders' (lower =
            the map found what the model needed sooner).
        beating: share of the images whose map beat the random orders.
        correlation: mean rank correlation with the map of the same network re-initialised
            (low = the map depends on what the network learned).
        passed: whether it met the targets for the run's kind of images.
        seconds: seconds per image on the machine that measured it.
        draw: the seed of the test images' draw.
    """

    method: str
    images: int
    deletion_ratio: float
    beating: float
    correlation: float
    passed: bool
    seconds: float = 0.0
    draw: int = 0


@dataclass
class RunRecord:
    """Everything a run folder says about its model, in run.json.

    Attributes:
        class_names: output order of the model.
        preprocessing: how inputs are prepared for it.
        dataset: the data it trained on.
        config: the TrainConfig it trained with.
        spec: the architecture it built.
        title: a name a person gave the run ("" until named).
    """

    class_names: list[str]
    preprocessing: Preprocessing
    dataset: DatasetRecord
    config: TrainConfig = field(default_factory=TrainConfig)
    spec: ArchSpec | None = None
    input_shape: list[int] = field(default_factory=list)
    params: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    test: TestRecord = field(default_factory=TestRecord)
    state: str = "finished"
    message: str = ""
    epochs_run: int = 0
    timings: Timings = field(default_factory=Timings)
    name: str = ""
    created: str = ""
    title: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    timelapse: TimelapseInfo | None = None  # None: recorded without a time-lapse
    calibration: Calibration | None = None  # None: not calibrated (probabilities as they are)
    ood: OodCheck | None = None  # None: no unfamiliar-input check measured
    saliency: list[SaliencyCheck] = field(default_factory=list)  # measured maps (issue 28)
    surgery: dict[str, Any] | None = None  # what weight surgery changed (cnn.surgery)
    version: int = RECORD_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Read a run.json document of any version.

        Raises:
            ArtifactError: it is not a run record (not a dict, or a required part is missing
                or malformed).
        """
        if not isinstance(data, dict):
            raise ArtifactError(tr("run.json does not hold a run record."))
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise ArtifactError(tr("run.json lacks {fields}.").format(fields=", ".join(missing)))
        try:
            spec = data.get("spec")
            return cls(
                **{
                    **_known(cls, data),
                    "class_names": [str(c) for c in data["class_names"]],
                    "preprocessing": Preprocessing(**_known(Preprocessing, data["preprocessing"])),
                    "dataset": DatasetRecord(**_known(DatasetRecord, data["dataset"])),
                    "config": TrainConfig.from_dict(data.get("config") or {}),
                    "spec": ArchSpec.from_dict(spec) if isinstance(spec, dict) else None,
                    "test": TestRecord(**_known(TestRecord, data.get("test") or {})),
                    "timings": Timings(**_known(Timings, data.get("timings") or {})),
                    "saliency": [
                        SaliencyCheck(**_known(SaliencyCheck, c))
                        for c in data.get("saliency") or []
                        if isinstance(c, dict)
                    ],
                    **{
                        name: part(**_known(part, data[name]))
                        if isinstance(data.get(name), dict)
                        else None
                        for name, part in PARTS.items()
                    },
                    "version": int(data.get("version", 1)),
                    "extra": {k: v for k, v in data.items() if k not in _FIELD_NAMES},
                }
            )
        except (TypeError, ValueError, AttributeError) as err:
            raise ArtifactError(
                tr("run.json is malformed ({error}: {reason}).").format(
                    error=type(err).__name__, reason=err
                )
            ) from err

    def to_dict(self) -> dict[str, Any]:
        """The run.json document (unknown keys read earlier are written back as they were)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for name in ("preprocessing", "dataset", "test", "timings", *PARTS):
            doc[name] = None if doc[name] is None else asdict(doc[name])
        doc["config"] = self.config.to_dict()
        doc["saliency"] = [asdict(c) for c in self.saliency]
        doc["spec"] = None if self.spec is None else self.spec.to_dict()
        return {**self.extra, **doc}

    @property
    def arch_name(self) -> str:
        """The architecture's name (a registry key or "custom")."""
        return (self.spec.name if self.spec else "") or self.config.arch

    def saliency_check(self, method: str) -> SaliencyCheck | None:
        """The recorded faithfulness of `method` on this run, or None when not measured."""
        return next((c for c in self.saliency if c.method == method), None)

    @property
    def label(self) -> str:
        """A short label: the person's title, or dataset and architecture."""
        return self.title or f"{self.dataset.key} · {self.arch_name}"


_FIELD_NAMES = {f.name for f in fields(RunRecord)}
PARTS = {"timelapse": TimelapseInfo, "calibration": Calibration, "ood": OodCheck}  # optional
