"""A stroke on Predict reruns only the part of the page that follows the input (issue 30).

In Chromium against `streamlit run`, on the shipped (or a tiny) MNIST run: the messages the
page's own JavaScript sends and gets over the websocket are read. A stroke, and then Clear,
must each be sent as a rerun of one fragment and answered by a run of that fragment alone
(no full run of the page: no run listing, model picker, lesson link or sidebar), while the
Prediction still follows the drawing and what is above the fragment stays on the page.

The server and browser fixtures are tests/test_browser.py's (one module-scoped server here).
"""

from __future__ import annotations

import pytest
import test_browser
from test_browser import clear_canvas, draw, expect_prediction, open_predict, wait_until_idle

# test_browser's fixtures, found by pytest under these names
browser, server_env, mnist_run = (
    test_browser.browser,
    test_browser.server_env,
    test_browser.mnist_run,
)
server, page, sync_api = test_browser.server, test_browser.page, test_browser.sync_api

pytestmark = pytest.mark.browser

SEVEN = [[(80, 60), (200, 60), (120, 230)]]
ONE = [[(140, 50), (140, 230)]]


class Runs:
    """The script runs the page asked for and the server started, read off the websocket."""

    def __init__(self, page) -> None:
        self.asked: list[str] = []  # each rerun's fragment id ("" for the whole page)
        self.started: list[str] = []  # each run's first fragment id ("" for a full run)
        page.on("websocket", self._watch)

    def _watch(self, socket) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, bytes):
            msg = BackMsg.FromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                self.asked.append(msg.rerun_script.fragment_id)

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes):
            msg = ForwardMsg.FromString(payload)
            if msg.WhichOneof("type") == "new_session":
                self.started.append(next(iter(msg.metadata.run.fragment_ids), ""))

    def since(self, asked: int, started: int) -> tuple[list[str], list[str]]:
        return self.asked[asked:], self.started[started:]


def test_a_stroke_and_clear_rerun_only_the_input_fragment(page, server, mnist_run):
    runs = Runs(page)
    open_predict(page, server, mnist_run)
    wait_until_idle(page)
    assert runs.started and runs.started[-1] == "", "the page opened with a full run"
    marks = len(runs.asked), len(runs.started)

    draw(page, SEVEN)
    expect_prediction(page, "7")
    wait_until_idle(page)
    asked, started = runs.since(*marks)
    assert asked and all(asked), f"the stroke was sent as a full rerun: {asked}"
    assert started and set(started) == {asked[0]}, f"runs after the stroke: {started}"

    # what is above the fragment stayed on the page
    sync_api.expect(page.get_by_role("heading", name="Predict")).to_be_visible()
    sync_api.expect(page.get_by_role("combobox", name="Model", exact=True)).to_be_visible()
    sync_api.expect(page.get_by_text("Lesson link")).to_be_visible()

    marks = len(runs.asked), len(runs.started)
    clear_canvas(page)
    page.get_by_text("to see its prediction here").wait_for(timeout=30_000)
    draw(page, ONE)
    expect_prediction(page, "1")
    wait_until_idle(page)
    asked, started = runs.since(*marks)
    assert asked and set(asked) == set(started) == {runs.asked[marks[0] - 1]}, (asked, started)
