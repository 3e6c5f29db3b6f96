"""Pictures picked from the class wall, as a dataset zip that Train's "Your own images" reads.

The zip is what "Make a dataset" downloads (`cnn.datasets.builder.DatasetBuilder`): one
folder per label holding each picture as a model of that kind receives it, plus the
dataset.json manifest. For a digit model ("digits"), a drawing is prepared as Predict
prepares it (28 x 28, white on black, centred); for any other model ("photos") a picture is
kept as a square photo. A label must be a name a class folder can have (the sentence says
which is not).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnn.classroom.errors import ClassError
from cnn.classroom.pictures import wall_pixels
from cnn.i18n import tr


@dataclass
class ClassDataset:
    """The zip's bytes, the pictures per label, and why it cannot train yet (sentences)."""

    data: bytes
    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)


def class_dataset(pictures: Sequence[tuple[bytes, bool, str]], kind: str) -> ClassDataset:
    """A dataset zip of (PNG, drawn, label) pictures, for models of `kind` ("digits" for
    digit models, anything else: "photos").

    Raises:
        ClassError: nothing picked, or a label cannot name a class folder.
    """
    from cnn import preprocess
    from cnn.datasets.builder import DatasetBuilder, check_class_name
    from cnn.errors import DatasetError

    if not pictures:
        raise ClassError(tr("Pick some pictures from the wall first."))
    with tempfile.TemporaryDirectory(prefix="cnn-class-dataset-") as tmp:
        made = DatasetBuilder(tmp, kind="digits" if kind == "digits" else "photos")
        for png, drawn, label in pictures:
            try:
                name = check_class_name(label)
                if name not in made.classes:
                    made.add_class(name)
            except DatasetError as err:
                raise ClassError(
                    tr("The label '{label}' cannot name a class: {reason}").format(
                        label=label, reason=err
                    )
                ) from err
            pixels = wall_pixels(png)
            if drawn:
                steps = preprocess.prepare_drawing(pixels, made.preprocessing)
            else:
                steps = preprocess.prepare_upload(pixels, made.preprocessing)
            made.add(name, steps.input)
        return ClassDataset(made.zip_bytes(), made.counts(), made.problems())
