"""The Class page's student side: join a class (code and nickname), share the active run, put
a drawing or Predict's input on the class wall, see one's own runs and the wall.

Everything a person typed is shown as text: `plain` escapes Markdown (and with it any HTML),
and tables go through st.dataframe. The joined class lives in this browser session only
(`MEMBER`); a lesson link's `class=CODE` arrives as st.session_state["class_code"] and fills
the join form.
"""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from cnn import artifacts, i18n, settings
from cnn.classroom import Board, ClassError, ClassStore, Member
from cnn.errors import CnnError
from cnn.i18n import tr, trn
from ui import state

CLASS_CODE = "class_code"  # a class code to offer (a lesson link puts one here)
CLASS_NICKNAME = "class_nickname"  # the nickname this session joined with
MEMBER = "class_member"  # the cnn.classroom.Member this session joined as
NOTICE = "class_notice"  # what the last change did, said once at the top of the next run
WALL_SHOWN = 24  # the newest pictures shown on a wall
CANVAS_PX = 280
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(text: str) -> str:
    """A typed text, safe inside st.markdown/st.caption: every Markdown character escaped, so
    `<img ...>` or `**` shows as typed."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@st.cache_resource(max_entries=4, show_spinner=False)
def _store(url: str) -> ClassStore:
    """One store per database URL for the server (so one join rate limit for all sessions)."""
    return ClassStore(url)


def server_store() -> ClassStore:
    """The server's class store for CNN_DB_URL (one per URL, so one join rate limit).

    Raises:
        CnnError: the URL cannot be opened (its sentence).
    """
    return _store(settings.current().db_url)


def store_or_stop_ui() -> ClassStore:
    """The server's class store (one per database URL, so one join rate limit), or a sentence."""
    try:
        return server_store()
    except CnnError as err:
        st.error(str(err))
        st.stop()


def member() -> Member | None:
    """The class this session joined, or None."""
    return st.session_state.get(MEMBER)


def session_name() -> str:
    """This browser session's private id (the join rate limit counts per session)."""
    return state.session_folder().name


def join_ui(store: ClassStore) -> None:
    """The join form: a code (filled from a lesson link) and a nickname."""
    offered = st.session_state.get(CLASS_CODE) or ""
    if offered:
        st.info(
            tr("Your link is for class **{code}**: choose a nickname and join.").format(
                code=plain(offered)
            )
        )
    with st.form("join-class", border=True):
        st.markdown(tr("**Join your class** with the code your teacher gives you."))
        code_col, nick_col = st.columns(2)
        code = code_col.text_input(tr("Class code"), value=offered, max_chars=12)
        nickname = nick_col.text_input(
            tr("Nickname"),
            max_chars=40,
            help=tr("Not your real name: anything your teacher knows."),
        )
        joined = st.form_submit_button(tr("Join"), type="primary", icon=":material/login:")
    if joined:
        try:
            found = store.join(code, nickname, session=session_name())
        except ClassError as err:
            st.error(str(err))
            return
        st.session_state[MEMBER], st.session_state[CLASS_CODE] = found, found.code
        st.session_state[CLASS_NICKNAME] = found.nickname
        st.rerun()


def leave() -> None:
    """Forget the joined class (a button callback)."""
    for key in (MEMBER, CLASS_NICKNAME):
        st.session_state.pop(key, None)


def student_ui(store: ClassStore, joined: Member) -> None:
    """A joined student's view: share, draw for the wall, their runs, the wall."""
    try:
        view = store.student_view(joined)
    except ClassError as err:
        leave()
        st.error(str(err))
        return
    head, out = st.columns([5, 1], vertical_alignment="center")
    head.markdown(
        tr("You are **{nickname}** in class **{name}** (code `{code}`).").format(
            nickname=plain(joined.nickname), name=plain(joined.class_name), code=joined.code
        )
    )
    out.button(tr("Leave"), on_click=leave, icon=":material/logout:", width="stretch")
    notice_ui()
    share_col, draw_col = st.columns(2, gap="large")
    with share_col:
        share_ui(store, joined)
        own_runs_ui(view)
    with draw_col:
        draw_for_wall_ui(store, joined)
    wall_ui(store, view, tr("The class wall"))


def share_ui(store: ClassStore, joined: Member) -> None:
    """Share the session's active run with the class."""
    st.header(tr("Share your model"))
    active = state.active_run()
    info = artifacts.read_run_info(active) if active else None
    if info is None or not info.ok:
        st.info(tr("Train a model (or pick one on Predict) first: then share it here."))
        return
    st.caption(tr("Your active model: **{title}**").format(title=plain(info.title)))
    if st.button(tr("Share this model with the class"), icon=":material/share:"):
        try:
            row = store.share(joined, info.path)
        except ClassError as err:
            st.error(str(err))
        else:
            done(tr("Shared: your teacher sees it on the board (run {id}).").format(id=row.id))


def own_runs_ui(view: Board) -> None:
    """The runs this student shared."""
    if not view.runs:
        st.caption(tr("You have shared no model yet."))
        return
    rows = [
        {
            "dataset": r.dataset,
            "architecture": r.arch,
            "test accuracy": r.test_accuracy,
            "shared": r.shared[:16].replace("T", " "),
        }
        for r in view.runs
    ]
    st.dataframe(rows, hide_index=True, column_config=run_columns())


def run_columns() -> dict:
    """The shown headers of a table of shared runs (its keys stay English)."""
    column = st.column_config
    return {
        "run": column.NumberColumn(tr("run")),
        "student": column.TextColumn(tr("student")),
        "dataset": column.TextColumn(tr("dataset")),
        "architecture": column.TextColumn(tr("architecture")),
        "test accuracy": column.NumberColumn(tr("test accuracy"), format="percent"),
        "shared": column.TextColumn(tr("shared")),
    }


def draw_for_wall_ui(store: ClassStore, joined: Member) -> None:
    """A canvas and a label: a drawing for the class wall (e.g. one that fooled a model)."""
    from ui import canvas

    st.header(tr("Draw for the wall"))
    key = f"class-canvas-{state.generation('class-canvas')}"
    value = canvas.drawing_canvas(
        size=CANVAS_PX, stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", key=key
    )
    image = canvas.decode(value["data"]) if value else None
    label_col, send_col = st.columns([3, 2], vertical_alignment="bottom")
    label = label_col.text_input(
        tr("It shows"), max_chars=40, key="class-label", placeholder=tr("e.g. 7")
    )
    if send_col.button(tr("Put on the wall"), icon=":material/send:", width="stretch"):
        if image is None or image[..., :3].max() == 0:
            st.error(tr("Draw something on the canvas first."))
            return
        if _submit(store, joined, image, label, drawn=True):
            state.next_generation("class-canvas")
            done(tr("Your drawing is on the class wall."))


def _submit(store: ClassStore, joined: Member, image: np.ndarray, label: str, drawn: bool):
    """Put a picture on the wall; True when it is there (else its sentence shows)."""
    try:
        store.submit(joined, image, label, drawn=drawn)
    except CnnError as err:
        st.error(str(err))
        return False
    return True


def done(message: str) -> None:
    """Say `message` at the top of the next run of the page, and start that run now (so the
    lists below show what just changed)."""
    st.session_state[NOTICE] = message
    st.rerun()


def notice_ui() -> None:
    """The message of the change made in the run before, once."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(message, icon=":material/check:")


def submit_from_predict(image: np.ndarray, run_info: artifacts.RunInfo) -> None:
    """On Predict, for a session in a class: one click puts the input on the class wall with
    the class it should be (a select box of the model's classes). Shows nothing otherwise."""
    joined = member()
    if joined is None or run_info.record is None:
        return
    current = state.current_input(run_info.path)
    drawn = current is None or current.source == "Draw"
    names = list(run_info.record.class_names)
    label_col, send_col = st.columns([2, 3], vertical_alignment="bottom")
    label = label_col.selectbox(tr("It should be"), names, key="wall-label")
    if send_col.button(tr("Put it on the class wall"), icon=":material/send:"):
        if _submit(server_store(), joined, image, label, drawn):
            st.success(tr("It is on the class wall."), icon=":material/check:")


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(digest: str, _png: bytes) -> np.ndarray:
    """A wall picture's pixels (keyed by its digest; `_png` is what that digest names)."""
    from cnn.classroom.pictures import wall_pixels

    return wall_pixels(_png)


def wall_ui(store: ClassStore, view: Board, title: str, answers: dict | None = None) -> list:
    """The newest WALL_SHOWN pictures of a class with who gave them and their label (and, with
    `answers`, {submission id: [text, ...]}, a model's answers under each); returns them."""
    st.header(title)
    shown = view.submissions[::-1][:WALL_SHOWN]
    if not shown:
        st.caption(tr("No pictures on the wall yet."))
        return []
    total = len(view.submissions)
    if total > WALL_SHOWN:
        st.caption(
            trn(
                "{n} picture, the newest {shown} shown.",
                "{n} pictures, the newest {shown} shown.",
                total,
            ).format(shown=i18n.number(WALL_SHOWN))
        )
    else:
        st.caption(trn("{n} picture.", "{n} pictures.", total))
    pngs = store.pictures(view, [s.id for s in shown])
    columns = st.columns(6)
    for i, sub in enumerate(s for s in shown if s.id in pngs):
        with columns[i % 6]:
            alt = tr("A picture by {student}, labelled {label}").format(
                student=sub.student, label=sub.label
            )
            st.image(thumbnail(sub.digest, pngs[sub.id]), width="stretch", alt=alt)
            st.caption(f"**{plain(sub.label)}** · {plain(sub.student)}")
            for line in (answers or {}).get(sub.id, []):
                st.caption(line)
    return shown
