"""cnn.settings: every environment variable read in one place, when asked, and listed in README."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cnn import artifacts, datasets, settings
from cnn.errors import SettingError
from cnn.training import TrainingSlots, memory_budget
from cnn.training.process_backend import ProcessRunner

REPO = Path(__file__).resolve().parents[1]


def readme_variables() -> list[str]:
    """The first column of the table in README.md's "Settings" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)


def test_readme_lists_exactly_the_variables_settings_reads():
    listed = readme_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice in README.md"
    assert set(listed) == set(settings.variables())
    assert len(listed) == 18  # the seventeen CNN_* variables and Keras' KERAS_HOME


def test_no_other_module_reads_the_environment():
    readers = [
        str(path.relative_to(REPO))
        for folder in ("cnn", "ui", "app_pages")
        for path in sorted((REPO / folder).rglob("*.py"))
        if re.search(r"os\.environ|getenv", path.read_text(encoding="utf-8"))
    ]
    assert "environ" not in (REPO / "app.py").read_text(encoding="utf-8")
    assert readers == ["cnn/settings.py"]


def test_unset_or_empty_variables_take_their_defaults(monkeypatch):
    for name in settings.variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(settings.MAX_TRAININGS_ENV, "")
    assert settings.current() == settings.Settings()
    assert settings.current().runs_dir == Path.home() / ".cnn_lab" / "runs"
    assert settings.current().max_trainings == 0  # 0: decided by where trainings run
    assert settings.trainings_at_once() == 1  # in the server's threads: one at a time


def test_child_process_trainings_run_one_per_core_each_with_its_share_of_threads(monkeypatch):
    from cnn.training.process_backend import ProcessRunner

    for name in settings.variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(settings.TRAIN_IN_ENV, "process")
    assert settings.trainings_at_once() == settings.cores()
    assert ProcessRunner().threads == 1
    monkeypatch.setenv(settings.MAX_TRAININGS_ENV, "1")  # a teacher's own choice wins
    assert settings.trainings_at_once() == 1
    assert ProcessRunner().threads == settings.cores()


def test_a_changed_variable_applies_to_the_next_call(monkeypatch, tmp_path):
    """Read when asked, never cached at import: the engine's functions see the change."""
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(settings.MEMORY_BUDGET_ENV, "12345")
    monkeypatch.setenv(settings.MAX_TRAININGS_ENV, "3")
    monkeypatch.setenv(settings.NICE_ENV, "4")
    monkeypatch.setenv(settings.OFFLINE_ENV, "0")  # any value, even 0, means offline
    assert artifacts.user_runs_dir() == tmp_path / "runs"
    assert datasets.data_dir() == tmp_path / "data"
    assert memory_budget() == 12345
    assert TrainingSlots().limit == 3
    assert ProcessRunner().nice == 4
    assert settings.current().offline
    monkeypatch.setenv(settings.MAX_TRAININGS_ENV, "2")
    assert TrainingSlots().limit == 2


def test_a_value_of_the_wrong_kind_is_a_sentence_naming_the_variable(monkeypatch):
    monkeypatch.setenv(settings.RAY_CPUS_ENV, "two")
    with pytest.raises(SettingError, match=r"CNN_RAY_CPUS is 'two', but it must be a number"):
        settings.current()


def test_a_child_process_finds_the_package_first_and_keeps_the_rest(monkeypatch):
    monkeypatch.setenv(settings.PYTHONPATH_ENV, "/elsewhere")
    monkeypatch.setenv(settings.NICE_ENV, "7")
    env = settings.child_environment("/repo")
    assert env[settings.PYTHONPATH_ENV] == "/repo" + os.pathsep + "/elsewhere"
    assert env[settings.NICE_ENV] == "7"
    monkeypatch.delenv(settings.PYTHONPATH_ENV)
    assert settings.child_environment("/repo")[settings.PYTHONPATH_ENV] == "/repo"


def test_the_app_says_which_variable_is_wrong_instead_of_a_traceback(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(settings.MAX_TRAININGS_ENV, "many")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The environment variable CNN_MAX_TRAININGS is 'many', but it must be a whole number: "
        "change or unset it and start again."
    ]


def test_a_training_place_that_is_neither_thread_nor_process_is_refused(monkeypatch):
    monkeypatch.setenv(settings.TRAIN_IN_ENV, "proces")
    with pytest.raises(SettingError, match=r"CNN_TRAIN_IN is 'proces', but it must be thread or"):
        settings.current()
