"""Screenshots of issue 31's views for a person to judge (not a benchmark, not a test).

For each viewport (1280x720 and 1400x1000) and each shipped run given (MNIST, cats vs dogs),
Predict prepares an uploaded sample in headless Chromium; then Look inside's "One weight
learns" tab and Open the box's channels and classes are photographed (the visible part, and
the whole page). A traceback on any page stops the script.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:tests:bench python bench/shots_open_box.py OUT
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from helpers import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from playwright.sync_api import sync_playwright
from shots_probe import MAIN_HEIGHT_JS, PAGE_MS, RUNS, VIEWPORTS, idle, prepare_input

EXTRA = {"surgery": "Weight surgery", "step": "Train one step at a time"}  # more views


def nav(page, name: str, heading: str | None = None) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
    page.get_by_role("heading", name=heading or name).first.wait_for(timeout=PAGE_MS)
    idle(page)


def snap(page, out: Path, name: str) -> None:
    """The visible part, then the whole page (the viewport stretched to the main column)."""
    page.screenshot(path=out / f"{name}.png", full_page=False)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": page.evaluate(MAIN_HEIGHT_JS)})
    page.wait_for_timeout(800)
    page.screenshot(path=out / f"{name}-full.png", full_page=True)
    page.set_viewport_size(size)
    page.wait_for_timeout(400)
    print(name, flush=True)


def operate(page) -> None:
    """Switch off channels 0-2 of the first conv, set filter 5 to Sobel x, operate."""
    panel = page.get_by_role("tabpanel").last
    panel.get_by_role("combobox", name="Channels to switch off").click()
    for channel in ("0", "1", "2"):
        page.get_by_role("option", name=channel, exact=True).click()
    page.keyboard.press("Escape")
    idle(page)
    number = panel.get_by_role("spinbutton", name="Filter of conv1")
    number.fill("5")
    number.press("Enter")
    idle(page)
    panel.get_by_role("combobox", name="Set it to").click()
    page.get_by_role("option", name="Sobel x", exact=False).click()
    idle(page)
    panel.get_by_role("button", name="Operate on a copy").click()
    page.locator('[data-testid="stAlert"]').filter(has_text="Saved as a new model:").wait_for(
        timeout=PAGE_MS
    )
    # the maps through both models come last (Where it looked costs seconds)
    panel.get_by_role("button", name="Use the copy as the active model").wait_for(timeout=PAGE_MS)
    idle(page)


def stepping(page, out: Path, name: str) -> None:
    """Train's 'one step at a time': start, a step at 0.001, a step at 0.01, then photograph."""
    nav(page, "Train", "Train a CNN")
    page.get_by_text("Train one step at a time").click()
    page.get_by_role("button", name="Start stepping with these settings").click()
    box = page.get_by_role("spinbutton", name="Learning rate").last
    box.wait_for(timeout=PAGE_MS)
    for lr in ("0.001", "0.01"):
        box.fill(lr)
        box.press("Enter")
        idle(page)
        page.get_by_role("button", name="Step", exact=True).click()
        idle(page)
    page.get_by_text("Orange dotted lines").wait_for(timeout=PAGE_MS)
    page.get_by_text("Train one step at a time").scroll_into_view_if_needed()
    snap(page, out, name)


def inside_and_box(page, out: Path, name: str) -> None:
    """Look inside's "One weight learns", then Open the box's channels and classes."""
    nav(page, "Look inside")
    page.get_by_role("tab", name="One weight learns").click()
    page.get_by_text("GradientTape").first.wait_for(timeout=PAGE_MS)
    idle(page)
    snap(page, out, f"{name}-backprop")
    nav(page, "Open the box")
    page.get_by_text("the best real image").first.wait_for(timeout=PAGE_MS)
    idle(page)
    snap(page, out, f"{name}-channels")
    page.get_by_text("The classes", exact=True).click()
    page.get_by_text("sure").first.wait_for(timeout=PAGE_MS)
    idle(page)
    snap(page, out, f"{name}-classes")


def shoot(out: Path, tabs: list[str], only_tabs: bool) -> None:
    env = {**os.environ, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["CNN_RUNS_DIR"] = str(out / "runs")  # the copies surgery saves
    out.mkdir(parents=True, exist_ok=True)
    with streamlit_server(env, out / "streamlit.log") as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for view, (width, height) in VIEWPORTS.items():
            for key, (run, sample) in RUNS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                prepare_input(page, app.url, run, sample, "Upload")
                if not only_tabs:
                    inside_and_box(page, out, f"{view}-{key}")
                for tab in tabs:
                    if tab == "step":
                        stepping(page, out, f"{view}-{key}-step")
                        continue
                    nav(page, "Open the box")
                    page.get_by_role("tab", name=EXTRA[tab]).click()
                    idle(page)
                    snap(page, out, f"{view}-{key}-{tab}")
                    if tab == "surgery":
                        operate(page)
                        snap(page, out, f"{view}-{key}-{tab}-done")
                context.close()
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tabs", nargs="*", default=[], choices=list(EXTRA))
    parser.add_argument("--only-tabs", action="store_true", help="only the --tabs views")
    args = parser.parse_args()
    sys.exit(shoot(args.out, args.tabs, args.only_tabs))
