"""Cold start: `streamlit run app.py` to the home page rendered, and to the first prediction.

Each repeat starts a new server process (127.0.0.1, offline, empty data folder) and a new
headless Chromium session, then measures from the process launch:

- home: the page title visible in the browser;
- first prediction: Predict opened (TensorFlow imported, the MNIST model loaded), a "1"
  drawn on the canvas with the mouse, and the Prediction metric showing it.

Predict uses the shipped MNIST run in artifacts/ (train one with the CLI if there is none).
Targets (issue 5): home under 3 s, first prediction under 10 s.

    PYTHONPATH=. python bench/bench_cold_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, streamlit_server

ONE = [(140, 50), (140, 230)]  # a vertical stroke on the 280 x 280 canvas
TIMEOUT_MS = 120_000


def one_cold_start(env: dict[str, str], log: Path) -> tuple[float, float]:
    """Seconds from `streamlit run` to the home title, and to the first Prediction."""
    from playwright.sync_api import sync_playwright

    # the browser is open before the server starts, as a student's browser is
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        with streamlit_server(env, log) as app:
            return home_and_first_prediction(app, page)


def home_and_first_prediction(app, page) -> tuple[float, float]:
    """From the server launch: the home title visible, then a drawn "1" predicted on Predict."""
    from playwright.sync_api import expect

    page.goto(app.url)
    page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
    home = time.monotonic() - app.started
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Predict").click()
    canvas = page.locator("canvas.drawing-canvas")
    canvas.wait_for(timeout=TIMEOUT_MS)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + ONE[0][0], box["y"] + ONE[0][1])
    page.mouse.down()
    page.mouse.move(box["x"] + ONE[1][0], box["y"] + ONE[1][1], steps=12)
    page.mouse.up()
    value = page.locator('[data-testid="stMetric"]').locator('[data-testid="stMetricValue"]')
    expect(value).to_have_text("1", timeout=TIMEOUT_MS)
    first_prediction = time.monotonic() - app.started
    return home, first_prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is not installed (apt-get install chromium)")
    homes, predictions = [], []
    with tempfile.TemporaryDirectory(prefix="cnn-cold-") as tmp:
        env = {
            **os.environ,
            "CNN_OFFLINE": "1",
            "CNN_DATA_DIR": tmp,
            "CNN_RUNS_DIR": str(Path(tmp) / "runs"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        for i in range(args.repeats):
            home, first = one_cold_start(env, Path(tmp) / f"streamlit-{i}.log")
            homes.append(home)
            predictions.append(first)
            print(f"repeat {i + 1}: home {home:.2f} s, first prediction {first:.2f} s")
    print(
        f"median: home {statistics.median(homes):.2f} s (target < 3 s), "
        f"first prediction {statistics.median(predictions):.2f} s (target < 10 s)"
    )


if __name__ == "__main__":
    main()
