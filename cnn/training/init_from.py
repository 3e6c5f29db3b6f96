"""Start a training from a run's weights (`TrainConfig.init_from`) and freeze layers (`freeze`).

With `init_from`, the model is built from the source run's recorded architecture (whatever
`arch` says) and starts with its weights, so a run edited by weight surgery can be retrained;
the source must have the same dataset, classes and input shape. Layers named in `freeze` keep
their weights exactly (Keras' `trainable = False`; a frozen batch norm also keeps its
statistics and normalises as at inference) while the rest trains.

Example:
    python -m cnn train --dataset mnist --init-from runs/<edited run> --freeze conv1 --epochs 2
"""

from __future__ import annotations

from pathlib import Path

from cnn.errors import TrainingError
from cnn.i18n import tr


def _source(config):
    """The source run's record, or a sentence saying why it cannot be started from."""
    from cnn import artifacts

    info = artifacts.read_run_info(config.init_from)
    if info.record is None:
        raise TrainingError(
            tr("Cannot start from {run}: {error}").format(run=config.init_from, error=info.error)
        )
    return info.record


def source_spec(config, input_shape, class_names):
    """The source run's ArchSpec when `init_from` is set (None otherwise), checked to fit.

    Raises:
        TrainingError: another dataset, other classes, another input shape or no spec.
    """
    if not config.init_from:
        return None
    record = _source(config)
    name = Path(config.init_from).name
    if record.dataset.key != config.dataset or list(record.class_names) != list(class_names):
        raise TrainingError(
            tr(
                "{name} was trained on {dataset} with other classes: a model can start from a "
                "run of the same dataset and classes only."
            ).format(name=name, dataset=record.dataset.key)
        )
    if tuple(record.input_shape) != tuple(input_shape):
        raise TrainingError(
            tr(
                "{name} reads pictures of {size}, this training {own}: set the image size to "
                "the run's."
            ).format(
                name=name,
                size=" x ".join(map(str, record.input_shape)),
                own=" x ".join(map(str, input_shape)),
            )
        )
    if record.spec is None:
        raise TrainingError(tr("{name} has no recorded architecture to rebuild.").format(name=name))
    return record.spec


def start_from(model, config) -> None:
    """Give `model` the source run's weights (with `init_from`) and freeze `config.freeze`.

    Raises:
        TrainingError: a layer to freeze that the model does not have.
    """
    from cnn import artifacts

    if config.init_from:
        source = artifacts.load_model_file(Path(config.init_from) / artifacts.MODEL_FILE)
        model.set_weights(source.get_weights())
    names = [layer.name for layer in model.layers]
    unknown = [name for name in config.freeze if name not in names]
    if unknown:
        raise TrainingError(
            tr("This model has no layer {unknown} to freeze: its layers are {layers}.").format(
                unknown=", ".join(unknown), layers=", ".join(names)
            )
        )
    for name in config.freeze:
        model.get_layer(name).trainable = False
