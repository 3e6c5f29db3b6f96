"""The Class page's teacher side: create a class or unlock one with its key, then the board:
students and their shared runs, the best run per dataset, one confusion matrix summed over
the class's runs of a dataset, the wall with a chosen run's answers (before and after a
retraining), a class dataset picked from the wall, and removing things.

Models come back from the database through `cnn.classroom.run_cache` (digest-checked, loaded
as any untrusted run). Whatever is computed from runs is cached keyed on the runs' digests
(`RunRow.digest`: the SHA-256 of the run's files), so a changed run is a new key.
"""

from __future__ import annotations

import streamlit as st

from cnn import artifacts, describe, i18n
from cnn.classroom import Board, ClassError, ClassStore
from cnn.classroom.board import summed_confusion, wall_answers
from cnn.classroom.class_dataset import class_dataset
from cnn.classroom.keys import normal_code
from cnn.classroom.run_cache import load_cached_run
from cnn.errors import CnnError
from cnn.i18n import N_, tr, trn
from ui import a11y, charts
from ui.class_views import plain, run_columns, wall_ui

TEACHER = "class_teacher"  # (code, teacher key) this session unlocked
TEACHER_BOARD = "class_teacher_board"  # the Board `show` gave for it (Predict's picker lists by it)
NEW_CLASS = "class_new"  # the NewClass just made (its key is shown once)
MAX_MODELS = 8  # runs loaded at once for the board
KINDS = {"digits": N_("digit models (28 x 28 drawings)"), "photos": N_("photo models")}


def teacher() -> tuple[str, str] | None:
    """(code, key) of the class this session's teacher opened, or None."""
    return st.session_state.get(TEACHER)


def lock() -> None:
    """Close the board (a button callback)."""
    for name in (TEACHER, TEACHER_BOARD, NEW_CLASS):
        st.session_state.pop(name, None)


def opened_board(store: ClassStore) -> Board | None:
    """The Board (from `show`) of the class whose board this session opened, or None: kept
    from the board's last drawing, so Predict's picker does not hash the key every rerun.

    Raises:
        ClassError: the class is gone or the key no longer opens it.
    """
    opened = teacher()
    if opened is None:
        return None
    board = st.session_state.get(TEACHER_BOARD)
    if board is None or board.code != normal_code(opened[0]):
        board = st.session_state[TEACHER_BOARD] = store.show(*opened)
    return board


def create_or_unlock_ui(store: ClassStore) -> None:
    """Two forms side by side: make a class, or open one with its code and teacher key."""
    make_col, open_col = st.columns(2, gap="large")
    with make_col.form("create-class"):
        st.markdown(tr("**Create a class**"))
        name = st.text_input(tr("Class name"), max_chars=60, placeholder=tr("e.g. 7B computing"))
        if st.form_submit_button(tr("Create"), type="primary", icon=":material/add:"):
            try:
                made = store.create(name)
            except ClassError as err:
                st.error(str(err))
            else:
                st.session_state[NEW_CLASS] = made
                st.session_state[TEACHER] = (made.code, made.teacher_key)
                st.rerun()
    with open_col.form("open-board"):
        st.markdown(tr("**Open your class's board**"))
        code = st.text_input(tr("Class code"), max_chars=12)
        key = st.text_input(tr("Teacher key"), type="password")
        if st.form_submit_button(tr("Open the board"), icon=":material/lock_open:"):
            try:
                store.show(code, key)
            except ClassError as err:
                st.error(str(err))
            else:
                st.session_state[TEACHER] = (code.strip().upper(), key)
                st.rerun()


def board_ui(store: ClassStore, code: str, key: str) -> None:
    """The teacher's board of the class (code, key)."""
    try:
        board = store.show(code, key)
    except ClassError as err:
        lock()
        st.error(str(err))
        return
    st.session_state[TEACHER_BOARD] = board
    made = st.session_state.get(NEW_CLASS)
    if made is not None and made.code == board.code:
        st.success(
            tr(
                "Class made. Write the code **{code}** on the board. Keep the "
                "teacher key: it is shown only now and opens this board."
            ).format(code=made.code)
        )
        st.code(made.teacher_key, language=None)
    head, out = st.columns([5, 1], vertical_alignment="center")
    head.markdown(
        tr("Class **{name}**, code `{code}`: {students}, {runs}, {pictures} on the wall.").format(
            name=plain(board.name),
            code=board.code,
            students=trn("{n} student", "{n} students", len(board.students)),
            runs=trn("{n} shared run", "{n} shared runs", len(board.runs)),
            pictures=trn("{n} picture", "{n} pictures", len(board.submissions)),
        )
    )
    out.button(tr("Close"), on_click=lock, icon=":material/lock:", width="stretch")
    runs_tab, matrix_tab, wall_tab, manage_tab = st.tabs(
        [tr("Students and runs"), tr("Confusion matrix"), tr("Wall"), tr("Remove")]
    )
    with runs_tab:
        students_ui(board)
    with matrix_tab:
        confusion_ui(store, board)
    with wall_tab:
        teacher_wall_ui(store, board)
    with manage_tab:
        remove_ui(store, board, code, key)


def students_ui(board: Board) -> None:
    """Who is in the class, what each shared, and the best run per dataset."""
    if not board.students:
        st.info(
            tr("No one has joined yet: students open the Class page and type `{code}`.").format(
                code=board.code
            )
        )
        return
    st.dataframe(
        [
            {
                "student": s.nickname,
                "shared runs": s.runs,
                "pictures": s.submissions,
                "joined": s.joined[:16].replace("T", " "),
            }
            for s in board.students
        ],
        hide_index=True,
        column_config={
            "student": st.column_config.TextColumn(tr("student")),
            "shared runs": st.column_config.NumberColumn(tr("shared runs")),
            "pictures": st.column_config.NumberColumn(tr("pictures")),
            "joined": st.column_config.TextColumn(tr("joined")),
        },
    )
    if not board.runs:
        st.caption(tr("No shared runs yet."))
        return
    accuracy = run_columns()
    st.markdown(tr("**Best run per dataset**"))
    best = {}
    for run in board.runs:
        held = best.get(run.dataset)
        if held is None or (run.test_accuracy or 0) > (held.test_accuracy or 0):
            best[run.dataset] = run
    st.dataframe([_run_row(r) for r in best.values()], hide_index=True, column_config=accuracy)
    st.markdown(tr("**Every shared run**"))
    st.dataframe([_run_row(r) for r in board.runs], hide_index=True, column_config=accuracy)


def _run_row(run) -> dict:
    return {
        "run": run.id,
        "student": run.student,
        "dataset": run.dataset,
        "architecture": run.arch,
        "test accuracy": run.test_accuracy,
        "shared": run.shared[:16].replace("T", " "),
    }


@st.cache_resource(max_entries=MAX_MODELS, show_spinner=False)
def _model(digest: str, _store: ClassStore, _board: Board, run_id: int) -> artifacts.Run:
    """A shared run loaded once per server, keyed by its digest (the content it names)."""
    return load_cached_run(*_store.run_files(_board, run_id))


@st.cache_data(max_entries=16, show_spinner=False)
def _confusion(dataset: str, stamps: tuple, _store: ClassStore, _board: Board):
    """The summed confusion of runs (id, digest) `stamps` on `dataset`'s test images."""
    runs = [(rid, _model(digest, _store, _board, rid)) for rid, digest in stamps]
    total = summed_confusion(runs, dataset)
    return total.class_names, total.matrix, total.runs, total.images, total.skipped


def confusion_ui(store: ClassStore, board: Board) -> None:
    """One confusion matrix summed over the class's runs of a chosen dataset."""
    datasets = sorted({r.dataset for r in board.runs if r.dataset != "folder"})
    if not datasets:
        st.info(
            tr(
                "When students share models of a built-in dataset, their summed confusion "
                "matrix shows here."
            )
        )
        return
    dataset = st.selectbox(tr("Dataset"), datasets, key="class-matrix-dataset")
    stamps = tuple((r.id, r.digest) for r in board.runs if r.dataset == dataset)
    toggle = trn(
        "Evaluate the {n} shared run of {dataset}",
        "Evaluate the {n} shared runs of {dataset}",
        len(stamps),
    ).format(dataset=dataset)
    if not st.toggle(toggle, key="class-eval"):
        st.caption(tr("Each run reads the same test images; that takes a few seconds a run."))
        return
    try:
        with st.spinner(tr("Evaluating the class's models...")):
            names, matrix, counted, images, skipped = _confusion(dataset, stamps, store, board)
    except CnnError as err:
        st.error(str(err))
        return
    st.caption(
        trn(
            "{n} run x the first {images} test images of {dataset}: {answers} answers. "
            "Rows: the true class; columns: the answer.",
            "{n} runs x the first {images} test images of {dataset}: {answers} answers. "
            "Rows: the true class; columns: the answer.",
            len(counted),
        ).format(
            images=i18n.number(images), dataset=dataset, answers=i18n.number(int(matrix.sum()))
        )
    )
    st.plotly_chart(charts.confusion_heatmap(matrix, names), key="class-confusion")
    a11y.described_ui(describe.confusion(matrix, names))
    for sentence in skipped:
        st.caption(sentence)


def _run_choices(board: Board) -> dict[str, tuple[str, int | str]]:
    """Runs to answer with: the class's shared runs, then this server's own runs."""
    choices = {
        tr("class run {id}: {student} · {dataset} · {arch}").format(
            id=r.id, student=r.student, dataset=r.dataset, arch=r.arch
        ): ("class", r.id)
        for r in board.runs
    }
    for info in artifacts.list_runs():
        if info.ok:
            choices[tr("this server: {title}").format(title=info.title)] = (
                "server",
                str(info.path),
            )
    return choices


def _answers(store: ClassStore, board: Board, choice, shown) -> dict[int, str]:
    kind, ref = choice
    if kind == "class":
        digest = next(r.digest for r in board.runs if r.id == ref)
        with st.spinner(tr("Loading a shared model...")):
            run = _model(digest, store, board, ref)
    else:
        from ui import loaders

        run = loaders.load_run(ref).run
    pngs = store.pictures(board, [s.id for s in shown])
    found = wall_answers(run, [(s.id, pngs[s.id], s.drawn, s.label) for s in shown if s.id in pngs])
    return {a.submission: a for a in found}


def teacher_wall_ui(store: ClassStore, board: Board) -> None:
    """The wall with the answers of a chosen run (and of a second, after retraining), and
    the pictures picked into a class dataset."""
    choices = _run_choices(board)
    before_col, after_col = st.columns(2)
    before = before_col.selectbox(
        tr("Answers of"),
        [None, *choices],
        key="class-before",
        format_func=lambda c: c or tr("(no model)"),
    )
    after = after_col.selectbox(
        tr("After retraining, answers of"),
        [None, *choices],
        key="class-after",
        format_func=lambda c: c or tr("(none)"),
    )
    shown = board.submissions[::-1][:24]
    lines: dict[int, list[str]] = {s.id: [] for s in shown}
    try:
        for tag, choice in (
            (N_("before: {answer} {mark}"), before),
            (N_("after: {answer} {mark}"), after),
        ):
            if choice is None:
                continue
            for sid, answer in _answers(store, board, choices[choice], shown).items():
                mark = ":green[✓]" if answer.right else ":red[✗]"
                said = plain(answer.answer) if answer.answer else tr("cannot read it")
                lines[sid].append(tr(tag).format(answer=said, mark=mark))
    except CnnError as err:
        st.error(str(err))
    wall_ui(store, board, tr("The class wall"), answers=lines)
    pick_ui(store, board, shown)


def pick_ui(store: ClassStore, board: Board, shown) -> None:
    """Pick wall pictures into a dataset zip for Train's "Your own images"."""
    if not shown:
        return
    st.header(tr("Make a class dataset"))
    names = {s.id: f"{s.id}: {s.label} · {s.student}" for s in shown}
    picked = st.multiselect(tr("Pictures"), list(names), format_func=names.get, key="class-picked")
    kind = st.radio(
        tr("For"),
        ["digits", "photos"],
        horizontal=True,
        key="class-kind",
        format_func=lambda kind: tr(KINDS[kind]),
    )
    if not picked:
        st.caption(
            tr(
                "Pick pictures (at least 5 per label, 2 labels) to download them as a zip "
                "that Train's “Your own images” trains on."
            )
        )
        return
    pngs = store.pictures(board, picked)
    by_id = {s.id: s for s in shown}
    try:
        made = class_dataset([(pngs[i], by_id[i].drawn, by_id[i].label) for i in picked], kind)
    except CnnError as err:
        st.error(str(err))
        return
    st.caption(", ".join(f"{plain(k)}: {v}" for k, v in made.counts.items()))
    for problem in made.problems:
        st.warning(problem)
    st.download_button(
        tr("Download the class dataset (.zip)"),
        made.data,
        "class_dataset.zip",
        mime="application/zip",
        icon=":material/download:",
    )


def remove_ui(store: ClassStore, board: Board, code: str, key: str) -> None:
    """Remove a student (with what they shared), a run or a picture; delete the class."""
    options = (
        [
            ("student", s.id, tr("student {nickname}").format(nickname=s.nickname))
            for s in board.students
        ]
        + [
            (
                "run",
                r.id,
                tr("run {id} of {student} ({dataset})").format(
                    id=r.id, student=r.student, dataset=r.dataset
                ),
            )
            for r in board.runs
        ]
        + [
            (
                "submission",
                s.id,
                tr("picture {id} of {student} ({label})").format(
                    id=s.id, student=s.student, label=s.label
                ),
            )
            for s in board.submissions
        ]
    )
    what = st.selectbox(
        tr("Remove"),
        options,
        format_func=lambda o: o[2],
        index=None,
        placeholder=tr("a student, a run or a picture"),
        key="class-remove",
    )
    if what and st.button(
        tr("Remove {what}").format(what=plain(what[2])), icon=":material/delete:"
    ):
        _do(lambda: store.remove(code, key, what[0], what[1]))
    st.divider()
    sure = st.checkbox(
        tr("Delete the class {name} with everything in it").format(name=plain(board.name)),
        key="class-del",
    )
    if sure and st.button(tr("Delete the class"), type="primary", icon=":material/delete_forever:"):
        _do(lambda: store.delete(code, key), then=lock)


def _do(action, then=None) -> None:
    """Run a change of the class, then (if it worked) `then` and a fresh run of the page; a
    refusal is its sentence."""
    try:
        action()
    except ClassError as err:
        st.error(str(err))
        return
    if then is not None:
        then()
    st.rerun()
