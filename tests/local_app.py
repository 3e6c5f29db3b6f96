"""The app served on this machine for a real browser: `streamlit run` on 127.0.0.1, Chromium.

Shared by the real-browser tests (tests/test_browser.py) and the benchmarks that drive a
browser (bench/bench_soak.py, bench/bench_cold_start.py, run with PYTHONPATH=.). Only
loopback addresses are ever used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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
    return hit !== null && hit.classList.contains("upper-canvas");
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
