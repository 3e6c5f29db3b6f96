"""Screenshots of Predict's unfamiliar-input warning for a person to judge (not a test).

At 1280x720 and 1400x1000, headless Chromium uploads classroom photos (scikit-image's
astronaut and coffee cup, a flower photo for the pet model) to the shipped digit and pet runs,
and draws a star on the digit run's canvas; each page is photographed once its Prediction
shows. A traceback on the page stops the script.

    CNN_DATA_DIR=../shared/data PYTHONPATH=.:tests python bench/shots_ood.py OUT_DIR
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from bench_latency import canvas_box
from helpers import CHROMIUM, CHROMIUM_ARGS, REPO, drag_strokes, streamlit_server
from playwright.sync_api import sync_playwright
from shots_probe import PAGE_MS, VIEWPORTS, idle

from cnn import artifacts, foreign

RUNS = {
    "mnist": "20261124-133544-mnist-vgg_wide-bf0813",
    "cats": "20261124-035241-cats_vs_dogs-residual-98221b",
}
STAR = [[(140, 40), (200, 230), (45, 110), (235, 110), (80, 230), (140, 40)]]


def photos(folder: Path) -> dict[str, Path]:
    """The uploaded files: two scikit-image pictures and a flower photo, as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {}
    for item in foreign.skimage_photos():  # the whole picture: each name's first item
        if item.name in ("astronaut", "coffee"):
            chosen.setdefault(item.name, item)
    flowers = foreign.dataset_photos("flowers17", n=1)
    if flowers:
        chosen["flower"] = flowers[0]
    files = {}
    for name, item in chosen.items():
        files[name] = folder / f"{name}.png"
        files[name].write_bytes(foreign._png(item.image))
    return files


def pick(page, url: str, run: str, source: str) -> None:
    page.goto(f"{url}/predict")
    page.get_by_text("Input", exact=True).wait_for(timeout=PAGE_MS)
    box = page.get_by_role("combobox", name="Model", exact=True)
    title = artifacts.read_run_info(REPO / "artifacts" / run).title
    if title not in box.input_value():
        box.click()
        page.get_by_role("option", name=re.compile(re.escape(title))).click()
        idle(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_role("radio", name=source).click()
    idle(page)


def shoot(out: Path) -> None:
    env = {**os.environ, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    files = photos(out / "uploads")
    with streamlit_server(env, out / "streamlit.log") as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for view, (width, height) in VIEWPORTS.items():
            for key, run in RUNS.items():
                shots = [(name, file) for name, file in files.items()
                         if not (key == "mnist" and name == "coffee")]  # fmt: skip
                if key == "mnist":
                    shots.append(("star", None))
                for name, file in shots:
                    page = browser.new_context(
                        viewport={"width": width, "height": height}
                    ).new_page()
                    pick(page, app.url, run, "Draw" if file is None else "Upload")
                    if file is None:
                        page.locator("canvas.drawing-canvas").first.wait_for(timeout=PAGE_MS)
                        drag_strokes(page, canvas_box(page), STAR, steps=12)
                    else:
                        page.locator(
                            '[data-testid="stFileUploader"] input[type="file"]'
                        ).set_input_files(file)
                    prediction = page.locator('[data-testid="stMetric"]').filter(
                        has_text="Prediction"
                    )
                    prediction.wait_for(timeout=PAGE_MS)
                    idle(page)
                    page.screenshot(path=out / f"{view}-{key}-{name}.png", full_page=False)
                    print(view, key, name, flush=True)
                    page.context.close()
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    shoot(parser.parse_args().out)
