"""Keras layers written back as the Python a person would type: `layers.Conv2D(32, 3, ...)`.

The generated training script is written from real Keras objects (the model `build` makes
from the run's spec, the augmentation `cnn.training.recipe.augmentation` makes), so it can
never describe another network than the one CNN Lab trained. Only the arguments a layer was given
are written: values equal to Keras' defaults are left out.
"""

from __future__ import annotations

import json
from typing import Any

# Keras class -> the config keys written, in order; the first `POSITIONAL[class]` go unnamed
SHOWN: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
    "BatchNormalization": ("momentum",),
    "Activation": ("activation",),
    "MaxPooling2D": ("pool_size",),
    "AveragePooling2D": ("pool_size",),
    "Dropout": ("rate",),
    "Flatten": (),
    "Add": (),
    "GlobalAveragePooling2D": (),
    "Dense": ("units", "activation"),
    "RandomFlip": ("mode", "seed"),
    "RandomRotation": ("factor", "fill_mode", "fill_value", "seed"),
    "RandomTranslation": ("height_factor", "width_factor", "fill_mode", "fill_value", "seed"),
    "RandomZoom": ("height_factor", "width_factor", "fill_mode", "fill_value", "seed"),
    "RandomContrast": ("factor", "value_range", "seed"),
    "RandomColorJitter": (
        "value_range",
        "brightness_factor",
        "contrast_factor",
        "saturation_factor",
        "hue_factor",
        "seed",
    ),
    "RandomErasing": ("factor", "scale", "fill_value", "value_range", "seed"),
    "StrokeThickness": ("seed", "widest"),
    "ElasticDistortion": ("alpha", "sigma", "seed"),
}
OWN_LAYERS = ("StrokeThickness", "ElasticDistortion")  # defined in the script itself
POSITIONAL = {"Conv2D": 2, "Activation": 1, "MaxPooling2D": 1, "AveragePooling2D": 1,
              "Dropout": 1, "Dense": 1}  # fmt: skip
DEFAULTS: dict[str, Any] = {  # Keras' defaults: an argument with this value is not written
    "strides": (1, 1),
    "padding": "valid",
    "activation": "linear",
    "use_bias": True,
    "momentum": 0.99,
    "mode": "horizontal_and_vertical",
    "fill_mode": "reflect",
    "fill_value": 0.0,
    "width_factor": None,
    "value_range": (0, 255),
    "seed": None,
    "brightness_factor": None,
    "contrast_factor": None,
    "saturation_factor": None,
    "hue_factor": None,
    "widest": 2,
}
# where a class's default differs from DEFAULTS (RandomErasing fills with noise by default)
CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    "RandomErasing": {"fill_value": None, "scale": (0.02, 0.33), "factor": 1.0},
}
MAX_LINE = 99  # longest line written (the layer list's trailing comma makes it 100)
BUILT_IN_MODULE = "layers"  # how the script refers to keras.layers (`from keras import layers`)


class UnknownLayer(ValueError):
    """A layer this writer has no table entry for."""


def value_code(value: Any) -> str:
    """A config value as Python source: square pairs as one int, strings in double quotes."""
    if isinstance(value, list | tuple):
        if len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
            return str(value[0])
        return "(" + ", ".join(value_code(v) for v in value) + ")"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def layer_code(layer: Any, overrides: dict[str, str] | None = None, indent: str = "") -> str:
    """One layer as a constructor call, e.g. `layers.Dense(128, activation="relu", name="dense1")`.

    A call longer than MAX_LINE once indented by `indent` gets one argument per line.

    Args:
        layer: a Keras layer of a class in SHOWN.
        overrides: config keys written as the given source text instead of their value
            (e.g. {"units": "len(CLASS_NAMES)"} for the output layer).

    Raises:
        UnknownLayer: the layer's class is not in SHOWN.
    """
    kind = type(layer).__name__
    if kind not in SHOWN:
        raise UnknownLayer(f"The script writer does not know the Keras layer {kind}.")
    config = layer.get_config()
    overrides = overrides or {}
    positional = POSITIONAL.get(kind, 0)
    parts = []
    for i, key in enumerate(SHOWN[kind]):
        value = config[key]
        code = overrides.get(key) or value_code(value)
        if i < positional:
            parts.append(code)
        elif key in overrides or _not_default(kind, key, value):
            parts.append(f"{key}={code}")
    parts.append(f"name={json.dumps(layer.name)}")
    prefix = "" if kind in OWN_LAYERS else f"{BUILT_IN_MODULE}."
    call = f"{indent}{prefix}{kind}({', '.join(parts)})"
    if len(call) < MAX_LINE:
        return call
    inner = "".join(f"{indent}    {part},\n" for part in parts)
    return f"{indent}{prefix}{kind}(\n{inner}{indent})"


def _not_default(kind: str, key: str, value: Any) -> bool:
    defaults = {**DEFAULTS, **CLASS_DEFAULTS.get(kind, {})}
    return key not in defaults or _differs(value, defaults[key])


def _differs(value: Any, default: Any) -> bool:
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return tuple(value) != tuple(default)
    return value != default
