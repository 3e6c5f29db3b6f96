"""A Streamlit session without a browser: the messages a page's JavaScript exchanges with
the server, over the same websocket (`/_stcore/stream`), in Streamlit's own protobufs.

bench_class_clients.py plays a class of students with these, so that the server is loaded as
30 students' browsers on their own computers load it, while the bench machine's 2 cores are
left to the server (a headless Chromium per student takes them, bench_class.py). What the
page's JavaScript does and this does too:

- opens the page with its URL's path and query (`rerun_script` with `page_name` and
  `query_string`), then sends each rerun with the page's script hash;
- sends widget values as the frontend encodes them (a button press is a `trigger_value`,
  a components-v2 state a `json_value`), and keeps sending what it set: the server treats a
  widget the client leaves out as unchanged;
- sends an input to a widget inside a fragment as that fragment's rerun (`fragment_id`,
  which the server gave with the widget's element), and takes that fragment run as its answer;
- runs a fragment's `run_every` itself, as the frontend does (the server only says
  `auto_rerun`, with the interval and the fragment's id), and drops those timers at the
  start of each full run, as the frontend's `handleNewSession` does;
- fetches each image the page shows (`/media/...`), as an <img> would.

It does not lay out or draw anything: its times are the server's answer as it reaches a
client (websocket and all), not a page's paint.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus
MAX_MESSAGE = 200 * 1024 * 1024  # the server's own websocket limit is larger than any page here


class SessionError(RuntimeError):
    """The session could not go on (the server closed it, or a run never ended)."""


@dataclass
class Run:
    """One script run as this client saw it, in time.monotonic() seconds."""

    started: float
    fragment: str = ""  # the fragment's id for a fragment run
    ended: float | None = None
    status: int | None = None  # FINISHED's value
    elements: list = field(default_factory=list)  # Element protos, in the order received
    images: int = 0

    def metric(self, label: str) -> str | None:
        for element in self.elements:
            if element.WhichOneof("type") == "metric" and element.metric.label == label:
                return element.metric.body
        return None

    def texts(self) -> list[str]:
        """Every markdown, alert and exception text the run sent."""
        found = []
        for element in self.elements:
            kind = element.WhichOneof("type")
            if kind == "markdown":
                found.append(element.markdown.body)
            elif kind == "alert":
                found.append(element.alert.body)
            elif kind == "exception":
                found.append(f"{element.exception.type}: {element.exception.message}")
        return found

    def exceptions(self) -> list[str]:
        return [
            f"{e.exception.type}: {e.exception.message}"
            for e in self.elements
            if e.WhichOneof("type") == "exception"
        ]


class Session:
    """One browser tab's worth of Streamlit session, driven from asyncio."""

    def __init__(self, url: str, page: str, query: str = "") -> None:
        self.http = url
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.page, self.query = page, query
        self.page_hash = ""
        self.widgets: dict[str, WidgetState] = {}  # what the client set, sent with every rerun
        self.runs: list[Run] = []
        self.ids: dict[tuple[str, str], str] = {}  # (kind, label or component) -> widget id
        self.fragment_of: dict[str, str] = {}  # widget id -> the fragment it is drawn in
        self.input_fragment = ""  # the fragment the last input reran ("": the whole page)
        self.auto: dict[str, asyncio.Task] = {}  # fragment id -> its run_every loop
        self.closed: str | None = None
        self.missing_images = 0  # images gone (404) by the time this client asked
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    # --- connection ---------------------------------------------------------------------

    async def open(self, timeout_s: float) -> Run:
        self._ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], max_size=MAX_MESSAGE, open_timeout=timeout_s
        )
        self._reader = asyncio.create_task(self._read())
        sent = time.monotonic()
        await self._send_rerun(page_name=self.page)
        return await self.run_after(sent, timeout_s)

    async def close(self) -> None:
        self._stop_auto_reruns()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # --- what the client sends ----------------------------------------------------------

    async def _send_rerun(
        self, *, page_name: str = "", fragment: str = "", auto=False, trigger=None
    ) -> None:
        """A rerun with every widget value this client set, and `trigger` (a button press,
        true for this one run only) beside them."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = page_name
        state.fragment_id = fragment
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(self.widgets.values())
        if trigger is not None:
            state.widget_states.widgets.append(trigger)
        state.context_info.url = f"{self.http}/{self.page}" + (
            f"?{self.query}" if self.query else ""
        )
        await self._ws.send(msg.SerializeToString())

    async def press(self, label: str) -> float:
        """Press the button with this label, as a click does; returns when it was sent."""
        widget = WidgetState(id=self.widget_id("button", label), trigger_value=True)
        sent = time.monotonic()
        await self._send_rerun(trigger=widget, fragment=self._input_fragment(widget.id))
        return sent

    async def set_component(self, component: str, value: dict) -> float:
        """Set a components-v2 element's state (its `setStateValue`); returns when sent."""
        widget = WidgetState(
            id=self.widget_id("component", component), json_value=json.dumps(value)
        )
        self.widgets[widget.id] = widget
        sent = time.monotonic()
        await self._send_rerun(fragment=self._input_fragment(widget.id))
        return sent

    def widget_id(self, kind: str, name: str) -> str:
        if (kind, name) not in self.ids:
            raise SessionError(f"no {kind} '{name}' on the page")
        return self.ids[(kind, name)]

    def _input_fragment(self, widget_id: str) -> str:
        """The fragment an input to this widget reruns, as the frontend picks it."""
        self.input_fragment = self.fragment_of.get(widget_id, "")
        return self.input_fragment

    def _stop_auto_reruns(self) -> None:
        for task in self.auto.values():
            task.cancel()
        self.auto.clear()

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send_rerun(fragment=fragment, auto=True)

    # --- what the server sends ----------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                await self._handle(msg)
                self._changed.set()
        except websockets.ConnectionClosed as err:
            self.closed = f"the server closed the session: {err}"
        except Exception as err:  # noqa: BLE001 - the session ends; the bench reports why
            self.closed = f"{type(err).__name__}: {err}"
        finally:
            if self.closed is None:
                self.closed = "the connection ended"
            self._changed.set()

    async def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        now = time.monotonic()
        if kind == "new_session":
            fragments = list(msg.metadata.run.fragment_ids)
            if not fragments:  # a full run: the frontend clears every run_every timer, and
                self._stop_auto_reruns()  # the script registers again those it keeps
            self.runs.append(Run(now, fragments[0] if fragments else ""))
            if msg.new_session.page_script_hash:
                self.page_hash = msg.new_session.page_script_hash
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and self.runs:
            await self._delta(msg)
        elif kind == "script_finished" and self.runs:
            self.runs[-1].ended, self.runs[-1].status = now, msg.script_finished
        elif kind == "auto_rerun":
            fragment, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fragment not in self.auto:
                self.auto[fragment] = asyncio.create_task(self._auto_rerun(fragment, interval))
        elif kind == "stop_auto_rerun":
            self._stop_auto_reruns()

    async def _delta(self, msg: ForwardMsg) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        run = self.runs[-1]
        run.elements.append(element)
        kind = element.WhichOneof("type")
        if kind == "button":
            self.ids[("button", element.button.label)] = element.button.id
            self.fragment_of[element.button.id] = msg.delta.fragment_id
        elif kind == "bidi_component":
            name = element.bidi_component.component_name.rsplit(".", 1)[-1]
            self.ids[("component", name)] = element.bidi_component.id
            self.fragment_of[element.bidi_component.id] = msg.delta.fragment_id
        elif kind == "imgs":  # an <img> per picture, fetched as the browser would
            urls = [img.url for img in element.imgs.imgs if img.url.startswith("/")]
            run.images += len(urls)
            await asyncio.gather(*(asyncio.to_thread(self._fetch, url) for url in urls))

    def _fetch(self, url: str) -> None:
        try:
            with urllib.request.urlopen(self.http + url, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as err:
            # the server drops a run's media once a newer run has finished: a browser that
            # asks late shows a broken image for a moment, and so goes on
            if err.code != 404:
                raise
            self.missing_images += 1

    # --- waiting ------------------------------------------------------------------------

    async def run_after(self, sent: float, timeout_s: float, fragment: bool = False) -> Run:
        """The first script run that started after `sent` and ran to its end (a run stopped
        early for a newer rerun is passed over, as the page passes over it): a full run, or
        a run of the fragment the last input reran (any fragment's with `fragment`)."""
        deadline = time.monotonic() + timeout_s
        ok = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
        while True:
            for run in self.runs:
                if run.started >= sent and run.ended is not None and run.status in ok:
                    if fragment or run.fragment in ("", self.input_fragment):
                        return run
            if self.closed:
                raise SessionError(self.closed)
            left = deadline - time.monotonic()
            if left <= 0:
                raise SessionError(f"no finished run {timeout_s:.0f} s after the input")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass
