"""The app's caches see the files they are made from: a run calibrated while a server holds it
is shown with its new temperature at the next rerun, not the record the server loaded first."""

from __future__ import annotations

import json
import shutil

from helpers import drawn_one, open_page

from cnn import artifacts
from cnn.__main__ import main
from ui import state


def texts(at) -> list[str]:
    return [c.value for c in at.caption] + [m.value for m in at.markdown]


def test_a_run_calibrated_while_the_app_holds_it_shows_its_new_temperature(
    offline, tiny_run, capsys
):
    """Look inside says whether the answer corrects the network's raw output, from the run the
    server loaded. The run starts without calibration (as one trained before CNN Lab measured
    confidence); `python -m cnn calibrate` rewrites its run.json while the page is open; the
    next rerun says the answer is corrected, and by the temperature calibrate wrote (Predict's
    tooltip under the answer names it)."""
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
    assert any("This model was not calibrated" in text for text in texts(at)), texts(at)

    assert main(["calibrate", "--model", str(run_dir), "--json"]) == 0
    capsys.readouterr()
    temperature = json.loads((run_dir / artifacts.RECORD_FILE).read_text())["calibration"][
        "temperature"
    ]
    at.run()
    assert not at.exception
    assert not any("This model was not calibrated" in text for text in texts(at)), texts(at)
    assert any("so the app corrects them" in text for text in texts(at)), texts(at)
    at.switch_page("app_pages/predict.py").run()
    helps = [c.help or "" for c in at.caption]
    assert any(f"the temperature, {temperature:.2f} for this run" in h for h in helps), helps
