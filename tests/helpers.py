"""The test harness shared by the test modules and the benchmarks (never a test module itself).

- AppTest helpers: open a page, inject a drawing, start a tiny training, upload a zip.
- The app served on this machine for a real browser: `streamlit run` on 127.0.0.1, and
  Chromium's flags (real-browser tests and bench/bench_soak.py, bench/bench_cold_start.py,
  run with PYTHONPATH=.). Only loopback addresses are ever used.
- Small files: a PNG whose header lies about its size.
- Small models: an untrained residual classifier (a functional graph with an add layer).
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from cnn.architectures import ArchSpec, ConvBlock, build
from ui import state

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's package, never a download
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_S = 60  # server process start to /_stcore/health answering
# True when the pointer at (x, y) would reach the drawing canvas. After Clear the canvas
# component is mounted anew and for a moment is not under its old box: a stroke drawn then
# goes to the page (it selects text) and no prediction follows.
CANVAS_HIT_TEST = """([x, y]) => {
    let hit = document.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) {  // the canvas component renders in a shadow root
        const inner = hit.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === hit) break;
        hit = inner;
    }
    return hit !== null && hit.classList.contains("drawing-canvas");
}"""


class ServerError(RuntimeError):
    """The local Streamlit server did not come up; the message ends with its log."""


@dataclass
class LocalApp:
    """A running `streamlit run app.py`: where it answers, when it started, its process id."""

    url: str
    started: float  # time.monotonic() just before the process was launched
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(log: Path, chars: int = 3000) -> str:
    """The end of the server's log (stdout and stderr together)."""
    return log.read_text(errors="replace")[-chars:]


def wait_for_health(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll Streamlit's health endpoint until it answers "ok" (fail early if the server died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerError(f"streamlit exited with {server.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise ServerError(f"streamlit did not answer within {timeout:.0f} s:\n{log_tail(log)}")


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log: Path) -> Iterator[LocalApp]:
    """`streamlit run app.py` on a free local port, stopped (process group) on exit.

    Its output goes to `log`: a pipe nobody reads would block the server once full.
    """
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log, STARTUP_S)
        yield LocalApp(url, started, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- AppTest -----------------------------------------------------------------------------

TIMEOUT_S = 120


def open_page(page: str, active_run: Path | None = None) -> AppTest:
    """Run the app once, then switch to `page` (optionally with an active run) and run it."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    if active_run is not None:
        at.session_state[state.ACTIVE_RUN] = str(active_run)
    at.switch_page(page)
    return at.run()


def drawn_one(paths: bool = False) -> dict:
    """What the drawing canvas (ui/canvas.py) sends back after a vertical white stroke on
    black (a "1"); with `paths`, the stroke's path too, as the canvas sends it."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line([(140, 50), (140, 230)], fill=(255, 255, 255, 255), width=22)
    value = canvas_value(np.asarray(image))["drawing"]
    if paths:
        value["paths"] = [[[140, 50], [140, 140], [140, 230]]]
    return {"drawing": value}


# Symbols a class might draw, as strokes in canvas pixels (280 x 280): a made dataset's classes
SYMBOL_STROKES = {
    "bar": [[(60, 140), (220, 140)]],
    "cross": [[(70, 70), (210, 210)], [(210, 70), (70, 210)]],
    "ring": [[(140 + 80 * np.cos(a), 140 + 80 * np.sin(a)) for a in np.linspace(0, 6.4, 25)]],
}


def symbol_canvas(symbol: str, seed: int) -> np.ndarray:
    """RGBA canvas of a symbol drawn white on black, shifted, scaled and wobbled a little."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    scale, shift = rng.uniform(0.6, 1.1), rng.uniform(-40, 40, size=2)
    for stroke in SYMBOL_STROKES[symbol]:
        points = [
            tuple(140 + scale * (np.array(p) - 140) + shift + rng.normal(0, 3, 2)) for p in stroke
        ]
        pen.line(points, fill=(255, 255, 255, 255), width=int(rng.integers(14, 26)), joint="curve")
    return np.asarray(image)


def canvas_value(rgba: np.ndarray) -> dict:
    """What the drawing canvas (ui/canvas.py) sends back for this image (for session state)."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"drawing": {"data": data_url}}


def start_tiny_training(at: AppTest, dataset: str = "mnist", max_samples: int = 300, epochs=1):
    """Set the Train page to TinyVGG, `epochs`, `max_samples` images (0: all); start; the job."""
    at.selectbox(key=f"arch-Quick-{dataset}").set_value("tiny_vgg")
    next(w for w in at.number_input if w.label == "Epochs").set_value(epochs)
    next(w for w in at.number_input if w.label.startswith("Max training")).set_value(max_samples)
    next(b for b in at.button if b.label == "Start training").click().run()
    return at.session_state[state.TRAINING_JOB]


def train_tiny_model(at: AppTest, dataset: str = "mnist", max_samples: int = 300):
    """Train TinyVGG for 1 epoch on `max_samples` images (0: all): start, join, rerun."""
    job = start_tiny_training(at, dataset, max_samples)
    job.join(TIMEOUT_S)
    at.run()
    assert not at.exception
    return job


def shapes_zip(classes=("dark squares", "light ☀ circles"), per_class=10) -> bytes:
    """A real .zip of class subfolders (names with a space and unicode) plus a stray text file."""
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as zf:
        values = np.linspace(50, 200, len(classes)) if len(classes) > 2 else (50, 200)
        for value, name in zip(values, classes, strict=True):
            for i in range(per_class):
                pixels = np.clip(rng.normal(value, 25, (40, 40, 3)), 0, 255).astype(np.uint8)
                png = io.BytesIO()
                Image.fromarray(pixels).save(png, "PNG")
                zf.writestr(f"shapes/{name}/{i}.png", png.getvalue())
        zf.writestr("shapes/readme.txt", "not an image")
    return buffer.getvalue()


def choose_own_images(at: AppTest, key: str, data: bytes, name: str = "my photos.zip") -> None:
    """Pick "Your own images" (the registry's last entry) and upload `data` as a .zip."""
    picker = at.selectbox(key=key)
    picker.select_index(len(picker.options) - 1).run()
    at.file_uploader(key=f"{key}-zip").set_value((name, data, "application/zip")).run()


# --- files --------------------------------------------------------------------------------------


def small_residual_model(shape: tuple[int, int, int], classes: int = 3, first_filters: int = 8):
    """An untrained functional model: a conv of `first_filters`, one residual block of two
    8-filter convs (batch norm), global average pooling and a softmax over `classes`."""
    spec = ArchSpec(
        [
            ConvBlock(first_filters, 3, padding="same", batch_norm=True),
            ConvBlock(8, 3, padding="same", convs=2, batch_norm=True, residual=True),
        ],
        "global_avg",
        [],
    )
    return build(spec, shape, classes)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A valid-looking PNG whose IHDR claims width x height but holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def drag_strokes(page, box: dict, strokes, steps: int = 4) -> None:
    """Drag the mouse through each stroke's points, given in pixels of the element at `box`
    (a Playwright bounding box): the canvas tests and the drawing benchmarks share this."""
    for (x, y), *rest in strokes:
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        page.mouse.up()


async def drag_strokes_async(page, box: dict, strokes, steps: int = 4) -> None:
    """`drag_strokes` for Playwright's async API (the class and soak benchmarks)."""
    for (x, y), *rest in strokes:
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.mouse.down()
        for x, y in rest:
            await page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        await page.mouse.up()
