"""`python -m cnn saliency`: one map per image file at the model input's size, read and
labelled as `predict` reads the file; a bad file or an unknown method is a sentence.

On the shared tiny trained MNIST run (tests/conftest.py) and digits of its own test split.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from cnn import artifacts, datasets
from cnn.__main__ import main
from cnn.cli.runs import prepared_file
from cnn.explain import saliency


@pytest.fixture(autouse=True)
def offline(monkeypatch, empty_data_dir):
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


@pytest.fixture(scope="module")
def files(tmp_path_factory, empty_data_dir) -> list[str]:
    """Two test digits as dark ink on white PNGs (as a student scans them), then a broken file."""
    folder = tmp_path_factory.mktemp("saliency-files")
    test = datasets.load("mnist", empty_data_dir, download=False).test
    paths = []
    for i in range(2):
        paths.append(str(folder / f"digit{i}.png"))
        cv2.imwrite(paths[-1], 255 - test.image(i))
    broken = folder / "broken.png"
    broken.write_text("not an image")
    return [*paths, str(broken)]


def lines(capsys, *argv) -> tuple[int, list[dict], str]:
    """(exit status, the JSON lines printed, stderr) of one command."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_default_maps_are_the_model_inputs_size_and_explain_predicts_label(capsys, tiny_run, files):
    code, rows, _ = lines(capsys, "saliency", "--model", str(tiny_run), *files)
    assert code == 1 and len(rows) == 3  # the broken file fails, the others still print
    _, predicted, _ = lines(capsys, "predict", "--model", str(tiny_run), *files[:2])
    run = artifacts.load_run(tiny_run)
    height, width = run.model.inputs[0].shape[1:3]
    method, params = saliency.DEFAULTS["digits"]
    for row, predict_row in zip(rows[:2], predicted, strict=True):
        assert set(row) == {"file", "method", "label", "map"}
        assert row["method"] == method and row["label"] == predict_row["label"]
        heat = np.array(row["map"])
        assert heat.shape == (height, width) and np.isfinite(heat).all() and np.ptp(heat) > 0
        # the map of the file as predict prepares it, for the class predict names
        image = prepared_file(run, row["file"]).input[None]
        top = np.array([run.class_names.index(row["label"])])
        expected = saliency.saliency(run.model, image, method, top, "digits", **params)[0]
        np.testing.assert_allclose(heat, expected, atol=1e-4)
    assert rows[2]["file"] == files[2] and "not an image" in rows[2]["error"]


def test_method_is_chosen_and_people_get_a_line_each(capsys, tiny_run, files):
    code, rows, _ = lines(
        capsys, "saliency", "--model", str(tiny_run), files[0], "--method", "gradcam"
    )
    assert code == 0 and rows[0]["method"] == "gradcam"
    assert np.array(rows[0]["map"]).shape == (28, 28)

    code = main(["saliency", "--model", str(tiny_run), *files])
    out, err = capsys.readouterr()
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == files[:2]
    assert all("peaks at row" in line for line in out.splitlines())
    [sentence] = err.splitlines()
    assert sentence.startswith(f"{files[2]}: error: ") and sentence.endswith(".")


def test_an_unknown_method_is_a_sentence_naming_the_choices(capsys, tiny_run, files):
    code = main(["saliency", "--model", str(tiny_run), files[0], "--method", "magic"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    [sentence] = err.splitlines()
    assert "Unknown saliency method 'magic'" in sentence
    assert all(name in sentence for name in saliency.METHODS)
