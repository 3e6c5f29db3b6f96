"""Engine tests for cnn.artifacts: atomic writes, safe loading, broken folders, deletion."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from cnn import artifacts, run_folders
from conftest import REPO


def test_tiny_run_loads_safely_and_predicts(tiny_run):
    run = artifacts.load_run(tiny_run)
    assert run.class_names == [str(i) for i in range(10)]
    probs = np.asarray(run.model(np.zeros((1, 28, 28, 1), np.float32)))
    assert probs.shape == (1, 10) and abs(probs.sum() - 1) < 1e-5


def copy_run(run, root, name):
    target = root / name
    shutil.copytree(run, target)
    return target


def test_broken_folders_are_listed_as_broken_and_good_runs_still_list(tiny_run, tmp_path):
    copy_run(tiny_run, tmp_path, "good")
    (copy_run(tiny_run, tmp_path, "no-json") / "run.json").unlink()
    (copy_run(tiny_run, tmp_path, "bad-json") / "run.json").write_text("{not json")
    truncated = copy_run(tiny_run, tmp_path, "truncated-model") / "model.keras"
    truncated.write_bytes(truncated.read_bytes()[:2000])
    (tmp_path / ".tmp-half-written").mkdir()
    runs = {r.name: r for r in artifacts.list_runs([tmp_path])}
    assert set(runs) == {"good", "no-json", "bad-json", "truncated-model"}
    assert runs["good"].ok and "missing" in runs["no-json"].error
    assert "cannot be read" in runs["bad-json"].error
    with pytest.raises(artifacts.ArtifactError, match="damaged"):
        artifacts.load_run(tmp_path / "truncated-model")


def test_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(
        keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2)(inputs))
    )
    keras.Model(inputs, outputs).save(tmp_path / "evil.keras")
    with pytest.raises(artifacts.ArtifactError, match="Lambda"):
        artifacts.load_model_file(tmp_path / "evil.keras")


def test_custom_object_is_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="Evil")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,)), Doubler(), keras.layers.Dense(2)])
    model.save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().clear()
    with pytest.raises(artifacts.ArtifactError, match="custom|damaged"):
        artifacts.load_model_file(tmp_path / "custom.keras")


def test_only_keras_files_are_loaded(tmp_path):
    (tmp_path / "model.h5").write_bytes(b"\x89HDF")
    with pytest.raises(artifacts.ArtifactError, match=".keras"):
        artifacts.load_model_file(tmp_path / "model.h5")


def test_model_that_does_not_fit_its_record_is_refused(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path, "mismatch")
    record = json.loads((run / "run.json").read_text())
    record["preprocessing"]["image_size"] = [64, 64]
    (run / "run.json").write_text(json.dumps(record))
    with pytest.raises(artifacts.ArtifactError, match="expects inputs"):
        artifacts.load_run(run)


def test_read_only_root_gives_a_sentence(tiny_run, tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file-not-dir"
        target.write_text("x")  # even root cannot create a folder under a file
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    run = artifacts.load_run(tiny_run)
    with pytest.raises(artifacts.ArtifactError, match="Could not save"):
        artifacts.save_run(run.model, run.record, target)


def test_delete_only_user_runs(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path, "mine")
    with pytest.raises(artifacts.ArtifactError, match="read-only"):
        run_folders.delete_run(artifacts.shipped_dir() / "anything", root=tmp_path)
    with pytest.raises(artifacts.ArtifactError, match="Only run folders"):
        run_folders.delete_run(tiny_run.parent.parent, root=tmp_path)
    run_folders.delete_run(run, root=tmp_path)
    assert not run.exists() and artifacts.list_runs([tmp_path]) == []


def test_kill_during_save_leaves_previous_state_intact(tiny_run, tmp_path):
    root = tmp_path / "runs"
    copy_run(tiny_run, root, "earlier")
    script = textwrap.dedent(
        f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from cnn import artifacts
        run = artifacts.load_run({str(tiny_run)!r})
        real_save = run.model.save
        def slow_save(path):
            real_save(path)
            print("saved-model", flush=True)
            time.sleep(60)
        run.model.save = slow_save
        artifacts.save_run(run.model, run.record, {str(root)!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saved-model"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    runs = artifacts.list_runs([root])
    assert [r.name for r in runs] == ["earlier"] and runs[0].ok
    assert artifacts.clean_temporary(root, older_than_s=0) == 1


def test_a_user_run_can_be_named_and_a_shipped_one_cannot(tiny_run, tmp_path):
    root = tmp_path / "runs"
    copy_run(tiny_run, root, "mine")
    record = run_folders.rename_run(root / "mine", "  no   augmentation ", root)
    assert record.title == "no augmentation"
    again = artifacts.read_run_info(root / "mine")
    assert again.record.title == "no augmentation" and again.title.startswith("no augmentation ")
    assert run_folders.rename_run(root / "mine", "x" * 200, root).title == "x" * artifacts.MAX_TITLE
    shipped = next(iter(artifacts.list_runs([artifacts.shipped_dir()])), None)
    if shipped is not None:
        with pytest.raises(artifacts.ArtifactError, match="read-only"):
            run_folders.rename_run(shipped.path, "mine now")


def test_a_run_keeps_some_right_answers_beside_its_mistakes(tiny_run):
    kept = artifacts.load_errors(tiny_run)
    right = kept["true"] == kept["predicted"]
    assert right.any() and (~right).any()
    per_class = np.bincount(kept["true"][right], minlength=10)
    assert per_class.max() <= 3  # CORRECT_KEPT a class


def test_two_runs_alike_but_for_epochs_and_time_have_different_titles(tiny_run, tmp_path):
    """Issue 28 item 5.2: two Quick runs of one dataset and architecture were both shown as
    "mnist · mnist_98 91%"; a title says the epochs and when the run was saved."""
    root = tmp_path / "runs"
    for name, created, epochs in [("a", "2026-12-07T14:05:00+00:00", 2),
                                  ("b", "2026-12-07T14:09:00+00:00", 2),
                                  ("c", "2026-12-07T14:05:00+00:00", 1)]:  # fmt: skip
        record = json.loads((copy_run(tiny_run, root, name) / "run.json").read_text())
        record.update(created=created, epochs_run=epochs)
        (root / name / "run.json").write_text(json.dumps(record))
    titles = {r.name: r.title for r in artifacts.list_runs([root])}
    assert len(set(titles.values())) == 3
    assert " · 2 epochs · " in titles["a"] and " · 1 epoch · " in titles["c"]
    accuracy = artifacts.read_run_info(root / "a").record.test.accuracy
    assert f"mnist · tiny_vgg · {accuracy:.1%} · " in titles["a"]
    assert all(len(title) <= 60 for title in titles.values())
    shipped = next(iter(artifacts.list_runs([artifacts.shipped_dir()])), None)
    if shipped is not None:  # a shipped run is called shipped, however it is read
        assert artifacts.read_run_info(shipped.path).title.endswith(" · shipped")
