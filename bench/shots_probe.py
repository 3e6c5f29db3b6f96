"""Screenshots of the Probe page for a person to judge (not a benchmark, not a test).

For each viewport (a projector's 1280x720 and 1400x1000), each shipped run given (MNIST,
cats vs dogs) and each input (a drawing, an upload, a random test sample), Predict prepares
the input in headless Chromium, then every tab of Probe is photographed. On the map tab the
mouse is moved over the chart until a tooltip with a thumbnail shows (it is photographed
with it). A traceback on any page stops the script.

    CNN_DATA_DIR=../shared/data PYTHONPATH=.:tests python bench/shots_probe.py OUT_DIR \
        [--runs-dir DIR]   # more runs for the overlay (e.g. the comparison runs)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from bench_latency import canvas_box
from helpers import CHROMIUM, CHROMIUM_ARGS, REPO, drag_strokes, streamlit_server
from playwright.sync_api import sync_playwright

from cnn import artifacts

VIEWPORTS = {"1280x720": (1280, 720), "1400x1000": (1400, 1000)}
RUNS = {
    "mnist": ("20261124-133544-mnist-vgg_wide-bf0813", "mnist/7__0.png"),
    "cats": ("20261124-035241-cats_vs_dogs-residual-98221b", "cats_vs_dogs/cats__0.jpg"),
}
SEVEN = [[(80, 60), (200, 60), (120, 230)]]  # canvas strokes of a "7"
TABS = {  # tab -> what shows once it has drawn (or a sentence saying why not)
    "Change it": '[data-testid="stPlotlyChart"]',
    "Cover it": '[data-testid="stPlotlyChart"]',
    "Training images alike": '[data-testid="stVegaLiteChart"]',
    "Fool it": '[data-testid="stMetric"]',
}
ALERT = '[data-testid="stAlert"]'
PAGE_MS = 180_000  # first visits compute embeddings on 2 shared cores
EXCEPTION = '[data-testid="stException"]'
OVERLAID = ("dense_baseline", r"modern_cnn 3 ep")  # runs of --runs-dir overlaid on a sweep
MAIN_HEIGHT_JS = """() => Math.max(...[...document.querySelectorAll(
    '[data-testid="stMain"], [data-testid="stMainBlockContainer"]')].map(e => e.scrollHeight))"""


def idle(page) -> None:
    """Wait until the script run in progress has ended, then let charts draw."""
    page.wait_for_timeout(400)
    page.locator('[data-testid="stStatusWidgetRunningIcon"]').wait_for(
        state="detached", timeout=PAGE_MS
    )
    page.wait_for_timeout(1200)
    if page.locator(EXCEPTION).count():
        raise SystemExit(f"traceback on the page: {page.locator(EXCEPTION).first.inner_text()}")


def draw(page, strokes) -> None:
    page.locator("canvas.drawing-canvas").first.wait_for(timeout=PAGE_MS)
    drag_strokes(page, canvas_box(page), strokes, steps=12)


def prepare_input(page, url: str, run: str, sample: str, source: str) -> None:
    """Predict with `run` and one input source, until its Prediction shows."""
    page.goto(f"{url}/predict")
    page.get_by_text("Input", exact=True).wait_for(timeout=PAGE_MS)
    box = page.get_by_role("combobox", name="Model", exact=True)
    title = artifacts.read_run_info(REPO / "artifacts" / run).title  # as the picker shows it
    if title not in box.input_value():
        box.click()
        page.get_by_role("option", name=re.compile(re.escape(title))).click()
        idle(page)
    if source == "Draw":
        draw(page, SEVEN)
    else:
        page.locator('[data-testid="stButtonGroup"]').get_by_role("radio", name=source).click()
        idle(page)
        if source == "Upload":
            upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            upload.set_input_files(REPO / "artifacts" / "samples" / sample)
    page.locator('[data-testid="stMetric"]').filter(has_text="Prediction").wait_for(timeout=PAGE_MS)
    idle(page)


def open_tab(page, tab: str) -> None:
    """Click a tab and wait until its content (or an alert, or a traceback) shows."""
    page.get_by_role("tab", name=tab).click()
    panel = page.get_by_role("tabpanel")
    ready = panel.locator(TABS[tab]).or_(panel.locator(ALERT)).or_(page.locator(EXCEPTION))
    ready.first.wait_for(timeout=PAGE_MS)
    idle(page)


def hover_map(page) -> bool:
    """Move the mouse over the map until a tooltip with a picture shows."""
    chart = page.get_by_role("tabpanel").locator('[data-testid="stVegaLiteChart"]')
    if not chart.count():
        return False
    chart = chart.first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    tooltip = page.locator("#vg-tooltip-element img")
    for fy in (0.5, 0.4, 0.6, 0.3, 0.7):
        for fx in [i / 20 for i in range(3, 18)]:
            page.mouse.move(box["x"] + fx * box["width"] * 0.85, box["y"] + fy * box["height"])
            page.wait_for_timeout(150)
            if tooltip.count() and tooltip.first.is_visible():
                return True
    return False


def extras(page, out: Path, name: str, tab: str) -> None:
    """For the MNIST sample: two other models overlaid on the shift sweep, and the t-SNE map."""
    if tab == "Change it":
        overlay = page.get_by_role("combobox", name="Overlay other models (same classes and input)")
        for wanted in OVERLAID:  # the dense baseline, and the CNN trained without augmentation
            overlay.click()
            page.get_by_role("option", name=re.compile(wanted)).first.click()
            idle(page)
        page.keyboard.press("Escape")
        idle(page)
        page.screenshot(path=out / f"{name}-overlay.png", full_page=False)
    elif tab == "Training images alike":
        page.get_by_text("t-SNE", exact=False).first.click()
        page.wait_for_timeout(1000)
        page.locator('[data-testid="stSpinner"]').wait_for(state="detached", timeout=PAGE_MS)
        idle(page)
        hover_map(page)
        page.screenshot(path=out / f"{name}-tsne.png", full_page=False)


def shoot(out: Path, runs_dir: str | None, only: str | None = None) -> None:
    env = {**os.environ, "CNN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if runs_dir:
        env["CNN_RUNS_DIR"] = runs_dir
    out.mkdir(parents=True, exist_ok=True)
    with streamlit_server(env, out / "streamlit.log") as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for view, (width, height) in VIEWPORTS.items():
            for key, (run, sample) in RUNS.items():
                for source in ("Draw", "Upload", "Samples"):
                    if only and only != f"{view}-{key}-{source.lower()}":
                        continue
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    started = time.monotonic()
                    prepare_input(page, app.url, run, sample, source)
                    page.locator('[data-testid="stSidebarNav"]').get_by_role(
                        "link", name="Probe"
                    ).click()
                    page.locator("h1", has_text="Probe the model").wait_for(timeout=PAGE_MS)
                    idle(page)
                    for i, tab in enumerate(TABS, start=1):
                        open_tab(page, tab)
                        if tab == "Training images alike" and not hover_map(page):
                            print("no tooltip image found on the map", file=sys.stderr)
                        name = f"{view}-{key}-{source.lower()}-{i}-{tab.split()[0].lower()}"
                        page.screenshot(path=out / f"{name}.png", full_page=False)
                        if key == "mnist" and source == "Samples":
                            extras(page, out, name, tab)
                        if view == "1400x1000":  # the whole page: a viewport as tall as it
                            tall = min(page.evaluate(MAIN_HEIGHT_JS), 6000)
                            page.set_viewport_size({"width": width, "height": max(tall, height)})
                            page.wait_for_timeout(1500)
                            page.screenshot(path=out / f"{name}-full.png")
                            page.set_viewport_size({"width": width, "height": height})
                    print(f"{view} {key} {source}: {time.monotonic() - started:.0f} s")
                    context.close()
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs-dir")
    parser.add_argument("--only", help="one VIEW-RUN-SOURCE, e.g. 1400x1000-mnist-samples")
    args = parser.parse_args()
    shoot(args.out, args.runs_dir, args.only)
