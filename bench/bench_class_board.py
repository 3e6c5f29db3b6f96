"""A class of 40 with its board (issue 30): 10 students train, 30 draw on Predict and put
drawings on the class wall, the teacher's board is open and refreshing, on one server.

bench_class_clients.py's class (light websocket clients, `st_client.Session`, so the bench
machine's cores go to the server), with the class board on top, kept in a real database
(CNN_DB_URL: a fresh SQLite file by default, `--db-url` for PostgreSQL):

1. the bench creates a class (`cnn.classroom.ClassStore`, as `python -m cnn class create`);
2. the trainers open Train; each drawer opens Predict (source=Draw) and the Class page in a
   second tab, and joins the class there (code and nickname, the join form); the teacher
   opens the Class page and unlocks the board with the code and key (the open form);
3. after a warm-up drawing each, the drawers draw official MNIST test digits on Predict, one
   every uniform(--pace) s, and every --submit-every-th drawing also goes on the class wall
   (the Class page's canvas, "It shows" = the digit, "Put on the wall");
4. after --baseline-s, the trainers press Start (over --spread-s); each, once its banner
   shows, opens the Class page in the same session (its trained run is its active model),
   joins and shares it;
5. the teacher's board reruns every --board-every s until --after-s past the last training.

Figures: drawing times on Predict during the trainings (as bench_class_clients.py), each
wall submission's time (press -> the run that says it is on the wall), the board's time
(rerun -> end of its run), errors (exceptions in any run received, server tracebacks), lost
items (confirmed submissions and shares missing from the database at the end, read with the
teacher key), and the database's share of the board's time: at each refresh the bench runs
the board's own queries (`show` with the key, the newest wall pictures) against the same
database and sums their SQL execution time (SQLAlchemy's cursor events), beside the run.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:bench python bench/bench_class_board.py \
        --sessions 40 --trainers 10
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from bench_class import (
    OPEN_GAP_S,
    Drawer,
    Trainer,
    class_options,
    fmt,
    print_memory,
    print_training_times,
    run_trainings,
    sample_memory,
    serve_class,
    status_kb,
    test_digits,
    training_span,
    tree_rss_mb,
)
from bench_class_clients import ANSWER_S, OPEN_S, WATCHER_ENV, canvas_value, client_train, draw
from bench_latency import NeverIdle, percentiles
from sqlalchemy import event
from st_client import Session, SessionError
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.exceptions import ConnectionClosed

from cnn.classroom import ClassStore, NewClass
from cnn.settings import DB_URL_ENV
from ui.class_views import WALL_SHOWN

CANVAS = "cnn_lab_canvas"
ON_THE_WALL = "Your drawing is on the class wall."


class ClassClient(Session):
    """A Session that can also type into text inputs (several may share a label: the Class
    page has two "Class code" inputs) and switch pages in the same session."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.text_ids: dict[str, list[str]] = {}

    async def _handle(self, msg) -> None:
        if msg.WhichOneof("type") == "new_session" and not msg.metadata.run.fragment_ids:
            self.text_ids = {}
        await super()._handle(msg)

    async def _delta(self, msg) -> None:
        if msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "text_input":
                ids = self.text_ids.setdefault(element.text_input.label, [])
                if element.text_input.id not in ids:
                    ids.append(element.text_input.id)
        await super()._delta(msg)

    def set_text(self, label: str, value: str, index: int = 0) -> None:
        """Type `value` into the `index`-th text input labelled `label` (sent with the next
        rerun, as the page sends a typed value with the click that follows)."""
        ids = self.text_ids.get(label, [])
        if len(ids) <= index:
            raise SessionError(f"no text input '{label}' #{index + 1} on the page")
        self.widgets[ids[index]] = WidgetState(id=ids[index], string_value=value)

    async def refresh(self) -> float:
        sent = time.monotonic()
        await self._send_rerun()
        return sent

    async def goto(self, page: str, timeout_s: float) -> None:
        """Switch this session to another page, as the sidebar's link does."""
        self.page, self.page_hash, self.query = page, "", ""
        self.widgets.clear()
        sent = time.monotonic()
        await self._send_rerun(page_name=page)
        await self.run_after(sent, timeout_s)


@dataclass
class Wall:
    """What the drawers put on the wall and the trainers shared."""

    sent: int = 0
    confirmed: int = 0
    times_ms: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    shared: int = 0
    share_failed: list[str] = field(default_factory=list)


@dataclass
class BoardLog:
    times_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    replay_ms: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_texts(run) -> str:
    return "\n".join(run.texts())


async def press_and_wait(session: Session, label: str, timeout_s: float = ANSWER_S):
    sent = await session.press(label)
    return sent, await session.run_after(sent, timeout_s)


async def join(session: ClassClient, code: str, nickname: str) -> None:
    session.set_text("Class code", code, 0)
    session.set_text("Nickname", nickname)
    _, run = await press_and_wait(session, "Join")
    if "You are" not in run_texts(run):
        raise SessionError(f"{nickname} did not join: {run_texts(run)[:200]}")


async def open_tab(url: str, page: str, delay: float, query: str = "") -> ClassClient:
    await asyncio.sleep(delay)
    session = ClassClient(url, page, query)
    await session.open(OPEN_S)
    return session


async def submit(session: ClassClient, wall: Wall, label: str, paths) -> None:
    """The Class page's canvas gets the drawing, "It shows" the label, then the press."""
    wall.sent += 1
    try:
        stale = [k for k, w in session.widgets.items() if w.HasField("json_value")]
        for key in stale:  # the previous drawing's canvas (a new key after each submission)
            session.widgets.pop(key)
        sent = await session.set_component(CANVAS, canvas_value(paths))
        await session.run_after(sent, ANSWER_S)
        session.set_text("It shows", label)
        sent, run = await press_and_wait(session, "Put on the wall")
        if ON_THE_WALL not in run_texts(run):
            raise SessionError(f"no confirmation: {run_texts(run)[:200]}")
        wall.confirmed += 1
        wall.times_ms.append((run.ended - sent) * 1000)
    except (SessionError, ConnectionClosed) as err:
        wall.failed.append(str(err)[:200])


async def drawer_loop(
    predict, board_tab, drawer: Drawer, wall: Wall, digits, offset, stop, args
) -> None:
    """Draw on Predict every uniform(--pace) s; every --submit-every-th drawing also goes on
    the wall from the Class page tab."""
    n, rng = offset, np.random.default_rng(offset)
    while not stop.is_set():
        started = time.monotonic()
        label, paths = digits[n % len(digits)]
        n += 1
        try:
            drawer.samples.append(await draw(predict, label, paths))
        except (NeverIdle, ConnectionClosed) as err:
            drawer.timeouts.append(str(err)[:150])
        if (n - offset) % args.submit_every == 0:
            await submit(board_tab, wall, label, paths)
        await asyncio.sleep(max(0.0, rng.uniform(*args.pace) - (time.monotonic() - started)))


async def train_then_share(session, trainer, delay, limit_s, code: str, wall: Wall) -> None:
    """bench_class_clients' training, then the same session opens the Class page, joins and
    shares its trained run (its active model)."""
    await client_train(session, trainer, delay, limit_s)
    if not trainer.done:
        return
    try:
        await session.goto("class_board", OPEN_S)
        await join(session, code, f"trainer {trainer.index + 1}")
        _, run = await press_and_wait(session, "Share this model with the class")
        if "Shared:" not in run_texts(run):
            raise SessionError(f"no confirmation: {run_texts(run)[:200]}")
        wall.shared += 1
    except (SessionError, ConnectionClosed) as err:
        wall.share_failed.append(f"trainer {trainer.index + 1}: {str(err)[:200]}")


class SqlClock:
    """The SQL execution time of an engine's cursors, summed (SQLAlchemy's cursor events)."""

    def __init__(self, engine) -> None:
        self.seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, many) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, many) -> None:
        self.seconds += time.perf_counter() - conn.info["started"].pop()


def replay_board(store: ClassStore, clock: SqlClock, made: NewClass) -> tuple[float, float]:
    """The board's own reads now (show with the key, the newest wall pictures): (their SQL
    execution time, their whole time less the teacher key's scrypt check) in ms."""
    from cnn.classroom import keys

    started = time.perf_counter()
    keys.hash_key(made.teacher_key)  # what the key check costs (not the database's)
    key_s = time.perf_counter() - started
    before, started = clock.seconds, time.perf_counter()
    board = store.show(made.code, made.teacher_key)
    store.pictures(board, [s.id for s in board.submissions[::-1][:WALL_SHOWN]])
    whole = time.perf_counter() - started
    return (clock.seconds - before) * 1000, (whole - key_s) * 1000


async def board_loop(teacher: ClassClient, log: BoardLog, store, clock, made, every, stop):
    while not stop.is_set():
        await asyncio.sleep(every)
        try:
            sent = await teacher.refresh()
            run = await teacher.run_after(sent, ANSWER_S)
            log.times_ms.append((run.ended - sent) * 1000)
            if "shared run" not in run_texts(run):
                log.failed.append(f"no board in the run: {run_texts(run)[:150]}")
        except (SessionError, ConnectionClosed) as err:
            log.failed.append(str(err)[:150])
        sql, whole = await asyncio.to_thread(replay_board, store, clock, made)
        log.sql_ms.append(sql)
        log.replay_ms.append(whole)


async def open_everyone(args, url: str, made: NewClass):
    """The trainers on Train, each drawer's Predict and Class tabs (joined), the teacher's
    board (unlocked); returns (trainers, predict tabs, class tabs, teacher)."""
    drawers_n = args.sessions - args.trainers
    opening = [open_tab(url, "train", i * OPEN_GAP_S) for i in range(args.trainers)]
    for i in range(drawers_n):
        delay = (args.trainers + i) * OPEN_GAP_S
        opening += [
            open_tab(url, "predict", delay, "source=Draw"),
            open_tab(url, "class_board", delay),
        ]
    opening.append(open_tab(url, "class_board", (args.sessions + 1) * OPEN_GAP_S))
    sessions = await asyncio.gather(*opening)
    trainers, rest, teacher = sessions[: args.trainers], sessions[args.trainers : -1], sessions[-1]
    predicts, class_tabs = rest[0::2], rest[1::2]
    await asyncio.gather(*(join(s, made.code, f"drawer {i + 1}") for i, s in enumerate(class_tabs)))
    teacher.set_text("Class code", made.code, 1)
    teacher.set_text("Teacher key", made.teacher_key)
    _, run = await press_and_wait(teacher, "Open the board")
    if "shared run" not in run_texts(run):
        raise SessionError(f"the board did not open: {run_texts(run)[:200]}")
    return trainers, predicts, class_tabs, teacher


async def class_session(args, url: str, pid: int, digits) -> dict:
    made, store = args.made, ClassStore(args.db_url)
    clock = SqlClock(store.sessions.kw["bind"])
    begin = time.monotonic()
    peak = {"mb": tree_rss_mb(pid), "at": 0.0}
    memory = {"server up": peak["mb"]}
    stop_memory, stop = asyncio.Event(), asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pid, peak, begin, stop_memory))
    trainer_tabs, predicts, class_tabs, teacher = await open_everyone(args, url, made)
    opened = time.monotonic() - begin
    memory["all open"] = tree_rss_mb(pid)
    print(
        f"{args.sessions} students open and joined, the board unlocked, after {opened:.0f} s",
        flush=True,
    )
    warm = await asyncio.gather(
        *(draw(s, *digits[-1 - i]) for i, s in enumerate(predicts)), return_exceptions=True
    )
    print(f"warm-up drawings: {sum(isinstance(w, Exception) for w in warm)} failed", flush=True)
    wall, board = Wall(), BoardLog()
    drawers = [Drawer() for _ in predicts]
    tasks = [
        asyncio.create_task(drawer_loop(p, c, d, wall, digits, 17 * i, stop, args))
        for i, (p, c, d) in enumerate(zip(predicts, class_tabs, drawers, strict=True))
    ]
    tasks.append(
        asyncio.create_task(board_loop(teacher, board, store, clock, made, args.board_every, stop))
    )
    baseline_start = time.time() * 1000
    await asyncio.sleep(args.baseline_s)

    async def train(session, trainer, delay, limit_s):
        await train_then_share(session, trainer, delay, limit_s, made.code, wall)

    trainers = await run_trainings(train, trainer_tabs, args, drawers, pid)
    memory["trainings over"] = tree_rss_mb(pid)
    await asyncio.sleep(args.after_s)
    stop.set()
    await asyncio.gather(*tasks)
    stop_memory.set()
    await sampler
    everyone = [*trainer_tabs, *predicts, *class_tabs, teacher]
    errors = [e for s in everyone for run in s.runs for e in run.exceptions()]
    for s in everyone:
        await s.close()
    final = store.show(made.code, made.teacher_key)
    return {
        "opened": opened,
        "drawers": drawers,
        "trainers": trainers,
        "wall": wall,
        "board": board,
        "final": final,
        "errors": errors,
        "baseline_start": baseline_start,
        "peak": peak,
        "memory": memory,
        "hwm_mb": status_kb(pid, "VmHWM") / 1024,
    }


def report(args, result: dict, slots: str, server_tracebacks: int) -> dict:
    """Print the class's figures; returns the main ones."""
    trainers: list[Trainer] = result["trainers"]
    finished, first_click, last_done = training_span(trainers)
    wall, board, final = result["wall"], result["board"], result["final"]
    print(
        f"\nclass: {args.sessions} students ({args.trainers} training, "
        f"{args.sessions - args.trainers} drawing, one drawing in {args.submit_every} put on "
        f"the wall) and the teacher's board; {slots}; {args.db_kind}"
    )
    print(f"trainings: {len(finished)}/{len(trainers)} showed Test accuracy")
    print_training_times(trainers, "'State: running'")
    samples = [s for d in result["drawers"] for s in d.samples]
    during = [s["shown_ms"] for s in samples if first_click <= s["up"] <= last_done]
    before = [s["shown_ms"] for s in samples if s["up"] < first_click]
    print(f"drawings on Predict before the trainings: {fmt(before)}")
    print(f"drawings on Predict during the trainings: {fmt(during)}")
    right = sum(s["right"] for s in samples)
    timeouts = [t for d in result["drawers"] for t in d.timeouts]
    print(f"  read right {right} of {len(samples)}; no answer (timeouts): {len(timeouts)}")
    print(
        f"wall: {wall.sent} sent, {wall.confirmed} confirmed, {len(wall.failed)} failed; "
        f"submission {fmt(wall.times_ms)}" + "".join(f"\n  {f}" for f in wall.failed[:5])
    )
    print(
        f"shares: {wall.shared} of {len(finished)} trained runs shared"
        + "".join(f"\n  {f}" for f in wall.share_failed[:5])
    )
    lost_pictures = wall.confirmed - len(final.submissions)
    lost_runs = wall.shared - len(final.runs)
    print(
        f"in the database at the end: {len(final.students)} students, {len(final.runs)} runs, "
        f"{len(final.submissions)} pictures; lost: {lost_pictures} pictures, {lost_runs} runs"
    )
    print(
        f"board refresh every {args.board_every:g} s: {fmt(board.times_ms)}; "
        f"failed {len(board.failed)}" + "".join(f"\n  {f}" for f in board.failed[:5])
    )
    sql, reads = np.median(board.sql_ms or [np.nan]), np.median(board.replay_ms or [np.nan])
    board_p50 = np.median(board.times_ms or [np.nan])
    print(
        f"database: the board's reads replayed at each refresh (show, the newest {WALL_SHOWN} "
        f"pictures), without the key's scrypt check: {fmt(board.replay_ms)}, of which SQL "
        f"execution p50 {sql:.1f} ms; database = {reads / board_p50:.1%} of the board's "
        f"median time ({board_p50:,.0f} ms)"
    )
    print(
        f"errors: {len(result['errors'])} exceptions in the runs received"
        + "".join(f"\n  {e[:150]}" for e in result["errors"][:5])
        + f"; server log tracebacks: {server_tracebacks}"
    )
    print_memory(result)
    return {
        "drawing p95 during (ms)": percentiles(during)[1] if during else float("nan"),
        "board p95 (ms)": percentiles(board.times_ms)[1] if board.times_ms else float("nan"),
        "lost": lost_pictures + lost_runs,
        "errors": len(result["errors"]),
    }


def main() -> None:
    parser = class_options(__doc__, baseline_s=30, pace="5,10", browser_nice=10)
    parser.set_defaults(sessions=40)
    parser.add_argument("--after-s", type=float, default=20, help="drawing after the last training")
    parser.add_argument(
        "--submit-every", type=int, default=3, help="every n-th drawing to the wall"
    )
    parser.add_argument("--board-every", type=float, default=5.0, help="board refresh, seconds")
    parser.add_argument("--db-url", help="the class database (default: a fresh SQLite file)")
    args = parser.parse_args()
    args.pace = tuple(float(x) for x in args.pace.split(","))
    digits = test_digits()
    with tempfile.TemporaryDirectory(prefix="cnn-class-db-") as tmp:
        args.db_url = args.db_url or f"sqlite:///{Path(tmp) / 'class.db'}"
        args.db_kind = args.db_url.split(":", 1)[0]
        args.made = ClassStore(args.db_url).create("bench class")
        env = {DB_URL_ENV: args.db_url, WATCHER_ENV: "none"}
        serve_class(args, digits, args.train_in.split(",")[0], class_session, report, env)
        ClassStore(args.db_url).delete(args.made.code, args.made.teacher_key)


if __name__ == "__main__":
    main()
