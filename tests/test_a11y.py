"""Accessibility in a real browser (issue 32, WCAG 2.1 AA): axe-core (PyPI axe-playwright-python
bundles it; nothing is downloaded) in headless Chromium at 1280x720 against `streamlit run`.

Pages and states, each in English, Chinese and Spanish: every page fresh (`?lang=`); Predict
after a digit drawn with the mouse, then Look inside, Open the box and Probe on that drawing;
Models with a run chosen (each of its tabs); Train with a tiny training finished; a lesson's
first step. A state is made once and then said in each language with the sidebar's picker.
Any moderate, serious or critical violation fails (heading order included, since 2026-12-07;
only axe's "minor" ones are printed and pass), listed as rule, element and page. One server, one
browser tab, the pages visited in turn (the server, Chromium and the helpers are
tests/test_browser.py's).

Run with `python -m pytest tests/test_a11y.py -q -s` (-s prints every page's figures);
with A11Y_SHOTS=<folder>, each page measured is photographed there at 1280x720.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser import (  # noqa: F401  (browser, mnist_run, server, server_env: fixtures)
    DIGIT_STROKES,
    DRAWN_JS,
    EXCEPTION,
    PAGE_S,
    SCREENSHOTS,
    TRAINING_S,
    browser,
    choose,
    draw,
    expect_prediction,
    mnist_run,
    open_app,
    selectbox,
    server,
    server_env,
    wait_for,
)

from cnn import artifacts, i18n
from ui import charts, pictures, probe_figures

axe_sync = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python"
)

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 720}  # a classroom laptop, as the issue measured
BLOCKING = ("moderate", "serious", "critical")
PAGES = ["", "lessons", "train", "predict", "inside", "open_box", "probe", "models", "data",
         "make", "class_board"]  # fmt: skip
LANGUAGES = ("en", "zh", "es")
LESSON = "what-a-filter-sees"
SHOTS = os.environ.get("A11Y_SHOTS")  # a folder: each measured page's screenshot goes there


@pytest.fixture(scope="module")
def context(browser):  # noqa: F811
    """One browser context at 1280x720 for the module (each page load is a new session)."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def tab(context, request):
    """The tab a test drives; a failed test leaves test-artifacts/failed-a11y-<test>.png."""
    page = context.pages[0] if context.pages else context.new_page()
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"failed-a11y-{request.node.name}.png")


@pytest.fixture(scope="module")
def axe():
    return axe_sync.Axe()


# True once no script runs and no spinner shows for QUIET_MS on end (polled by the page
# itself): the app's root says whether a script runs (with the minimal toolbar Streamlit
# draws no running icon), and a spinner appears only after half a second
QUIET_MS = 1000
QUIET_JS = """(quietMs) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const busy = !app || app.getAttribute("data-test-script-state") !== "notRunning"
        || document.querySelector('[data-testid="stSpinner"]');
    const now = performance.now();
    if (busy || window.a11yQuietSince === undefined) window.a11yQuietSince = now;
    return !busy && now - window.a11yQuietSince >= quietMs;
}"""


def settle(page) -> None:
    """Wait until the page has been quiet a while (QUIET_JS) and every image and chart in
    view has drawn."""
    page.evaluate("() => { window.a11yQuietSince = undefined; }")
    page.wait_for_function(QUIET_JS, arg=QUIET_MS, polling=100, timeout=PAGE_S * 1000)
    page.wait_for_function(DRAWN_JS, timeout=PAGE_S * 1000)
    assert page.locator(EXCEPTION).count() == 0, "a traceback reached the page"


def blocking(axe, page, where: str) -> list[str]:
    """axe-core on the page as it is: one line per blocking violation's element
    (rule, element, page); every violation's count is printed (run with -s to see them)."""
    found = axe.run(page).response["violations"]
    if SHOTS:  # a person looks at what was measured
        name = re.sub(r"[^A-Za-z0-9=]+", "-", where).strip("-") or "home"
        page.screenshot(path=Path(SHOTS) / f"{name}.png")
    counts = ", ".join(f"{v['id']} {v['impact']} x{len(v['nodes'])}" for v in found)
    print(f"\n{where}: {counts or 'no violations'}")
    return [
        f"{v['id']} ({v['impact']}) on {where}: {node['html'][:160]}"
        f" -- {' '.join(node.get('failureSummary', '').split())[:200]}"
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


def visit(axe, page, server, path: str, lang: str) -> list[str]:  # noqa: F811
    open_app(page, server, f"{path}?lang={lang}")
    settle(page)
    return blocking(axe, page, f"/{path}?lang={lang}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_fresh(tab, axe, server, lang):  # noqa: F811
    problems = [line for path in PAGES for line in visit(axe, tab, server, path, lang)]
    assert not problems, "\n".join(problems)


def test_a_lesson_step(tab, axe, server):  # noqa: F811
    problems = []
    for lang in LANGUAGES:
        problems += visit(axe, tab, server, "", f"{lang}&lesson={LESSON}&step=1")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["zh", "es"])
def test_streamlits_own_uploader_texts_are_said_in_the_language(tab, server, lang):  # noqa: F811
    """Streamlit writes "Upload" and "200MB per file" itself, in English; the page says them
    in the reader's language, the button's accessible name included."""
    open_app(tab, server, f"lessons?lang={lang}")
    settle(tab)
    uploader = tab.locator('[data-testid="stFileUploaderDropzone"]').first
    button = uploader.get_by_role("button", name=in_language(lang, "Upload"))
    assert button.count() == 1, uploader.get_by_role("button").all_inner_texts()
    limit = tab.locator('[data-testid="stFileUploaderDropzoneInstructions"] span').first
    shown = limit.evaluate("e => getComputedStyle(e, '::after').content")
    assert in_language(lang, "At most {size} MB a file").split("{size}")[0].strip() in shown


def in_language(lang: str, text: str) -> str:
    """`text` as the app writes it in `lang` (its catalog)."""
    with i18n.speaking(lang):
        return i18n.tr(text)


def speak(page, now: str, then: str) -> None:
    """Switch the session's language with the sidebar's picker: its drawing, its chosen run
    and its finished training stay, now said in `then`."""
    box = selectbox(page, in_language(now, "Language"))
    option = page.get_by_role("option", name=i18n.LANGUAGES[then][2], exact=True)
    for _ in range(4):  # a page's timed fragment can rerun and close the list as it opens
        box.click()
        try:
            option.click(timeout=5000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    settle(page)
    assert box.count() == 0, f"the page still speaks {now} after choosing {then}"


def nav(page, lang: str, title: str) -> None:
    """Open a page with the sidebar's link (the session stays), its title in `lang`."""
    links = page.locator('[data-testid="stSidebarNav"]')
    links.get_by_role("link", name=in_language(lang, title), exact=True).click()
    settle(page)


def test_predict_and_the_pages_that_look_into_a_drawing(tab, axe, server, mnist_run):  # noqa: F811
    """A drawing on Predict, then Look inside, Open the box and Probe on it, in each language."""
    open_app(tab, server, "predict")
    choose(tab, "Model", artifacts.read_run_info(mnist_run).title)
    draw(tab, DIGIT_STROKES["1"])
    expect_prediction(tab, "1")
    problems, before = [], LANGUAGES[0]
    for lang in LANGUAGES:
        if lang != before:
            speak(tab, before, lang)
            before = lang
        for title in ("Predict", "Look inside", "Open the box", "Probe"):
            nav(tab, lang, title)
            problems += blocking(axe, tab, f"{title} after a drawing, in {lang}")
    assert not problems, "\n".join(problems)


def test_models_with_a_run_chosen(tab, axe, server, mnist_run):  # noqa: F811
    open_app(tab, server, "models")
    settle(tab)
    choose(tab, "Run", artifacts.read_run_info(mnist_run).title)
    settle(tab)
    problems, before = [], LANGUAGES[0]
    for lang in LANGUAGES:
        if lang != before:
            speak(tab, before, lang)
            before = lang
        for name in ("Where it goes wrong", "How it learned (time-lapse)", "How sure it is",
                     "Layers and files"):  # fmt: skip
            tab.get_by_role("tab", name=in_language(lang, name)).click()
            settle(tab)
            problems += blocking(axe, tab, f"/models, a run chosen, tab {name!r}, in {lang}")
    assert not problems, "\n".join(problems)


def test_train_with_a_training_finished(tab, axe, server):  # noqa: F811
    open_app(tab, server, "train?dataset=mnist&arch=tiny_vgg&epochs=1&max_samples=300")
    settle(tab)
    tab.get_by_role("button", name="Start training").click()
    finished = tab.locator('[data-testid="stAlert"]').filter(has_text="Test accuracy")
    wait_for(tab, finished, TRAINING_S)
    settle(tab)
    problems = blocking(axe, tab, "/train with a training finished, in en")
    for before, lang in zip(LANGUAGES, LANGUAGES[1:], strict=False):
        speak(tab, before, lang)
        problems += blocking(axe, tab, f"/train with a training finished, in {lang}")
    assert not problems, "\n".join(problems)


def relative_luminance(rgb) -> np.ndarray:
    """WCAG's relative luminance of sRGB colours (0-255), the last axis the channels."""
    c = np.asarray(rgb, float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ [0.2126, 0.7152, 0.0722]


def test_the_heat_scale_darkens_at_every_step():
    """'Where it looked' and Grad-CAM read as "more" by lightness alone, so every eye, a
    colour-blind one too, sees the order (jet went dark-light-dark)."""
    luminance = relative_luminance(pictures.heat_colours(np.linspace(0, 1, 64)))
    assert np.all(np.diff(luminance) < 0)


def test_compared_runs_and_probe_classes_differ_by_shape_as_well_as_colour():
    histories = {f"run {i}": {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]} for i in range(4)}
    fig = charts.run_curves(histories)
    shapes = {t.name.split(" (")[0]: t.marker.symbol for t in fig.data}
    assert len(set(shapes.values())) == len(histories)
    symbols = [probe_figures.symbol(c) for c in range(10)]
    assert len(set(symbols)) == 10 and len(set(probe_figures.PALETTE)) == 10


CVD = ("deuteranomaly", "protanomaly", "tritanomaly")  # red-, green- and blue-weak eyes


def _seen_by(rgb: np.ndarray, kind: str) -> np.ndarray:
    """sRGB colours (0-255) as an eye of `kind` at full severity sees them (Machado et al. 2009,
    colorspacious' simulator), in CAM02-UCS (J', a', b': distances are perceived differences)."""
    from colorspacious import cspace_convert

    seen = cspace_convert(np.asarray(rgb, float) / 255, {"name": "sRGB1+CVD", "cvd_type": kind,
                                                         "severity": 100}, "sRGB1")  # fmt: skip
    return cspace_convert(np.clip(seen, 0, 1), "sRGB1", "CAM02-UCS")


def _rgb(colour: str) -> list[int]:
    return [int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]


@pytest.mark.parametrize("kind", CVD)
def test_the_colours_stay_apart_for_colour_blind_eyes(kind):
    """Simulated colour blindness: training and validation curves stay far apart, the first
    four compared runs stay apart (their marker shapes tell the rest), and the heat scale
    still darkens at every step."""
    train, val = _seen_by([_rgb(charts.COLORS["train"]), _rgb(charts.COLORS["val"])], kind)
    assert np.linalg.norm(train - val) >= 20
    runs = _seen_by([_rgb(c) for c in charts.RUN_COLOURS[:4]], kind)
    apart = [np.linalg.norm(a - b) for i, a in enumerate(runs) for b in runs[i + 1 :]]
    assert min(apart) >= 10
    heat = _seen_by(pictures.heat_colours(np.linspace(0, 1, 32)), kind)
    assert np.all(np.diff(heat[:, 0]) < 0)
