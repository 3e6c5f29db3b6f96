"""The app's caches see the files they are made from: a run calibrated while a server holds it
is shown with its new temperature at the next rerun, not the record the server loaded first."""

from __future__ import annotations

import json
import shutil

from helpers import drawn_one, open_page

from cnn import artifacts
from cnn.__main__ import main
from ui import state


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_a_run_calibrated_while_the_app_holds_it_shows_its_new_temperature(
    offline, tiny_run, capsys
):
    """Look inside says which temperature Predict divides by, from the run the server loaded.
    The run starts without calibration (as one trained before CNN Lab measured confidence);
    `python -m cnn calibrate` rewrites its run.json while the page is open; the next rerun
    shows the temperature calibrate wrote."""
    run_dir = offline / tiny_run.name
    shutil.copytree(tiny_run, run_dir)
    record = artifacts.read_run_info(run_dir).record
    record.calibration = record.ood = None
    artifacts.write_record(run_dir, record)

    at = open_page("app_pages/predict.py", active_run=run_dir)
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception
    assert any("This run is not calibrated" in text for text in captions(at)), captions(at)

    assert main(["calibrate", "--model", str(run_dir), "--json"]) == 0
    capsys.readouterr()
    temperature = json.loads((run_dir / artifacts.RECORD_FILE).read_text())["calibration"][
        "temperature"
    ]
    at.run()
    assert not at.exception
    shown = [text for text in captions(at) if "temperature" in text]
    assert shown and f"temperature ({temperature:.2f})" in shown[0], captions(at)
