"""The class board's engine and command line, against SQLite and a real PostgreSQL server.

Every database test runs twice: on an SQLite file and on the PostgreSQL server whose URL is
CNN_TEST_PG_URL (.ci/run installs Debian's postgresql, starts a throwaway server and sets
it); without that variable the PostgreSQL half skips, saying so. Runs are the shipped ones
in artifacts/ (no training here); pictures are drawn with PIL.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from helpers import symbol_canvas
from PIL import Image
from sqlalchemy import func, inspect, select

from cnn import artifacts
from cnn.classroom import ClassError, ClassLimits, ClassStore, JoinLimiter, keys
from cnn.classroom.models import Classroom, SharedRun, Student, Submission
from conftest import REPO

PG_URL_ENV = "CNN_TEST_PG_URL"
HOSTILE = ["Robert'); DROP TABLE students;--", "<img src=x onerror=alert(1)>"]


def shipped(dataset: str):
    """The shipped run of a dataset (artifacts/)."""
    return next(
        i.path
        for i in artifacts.list_runs([artifacts.shipped_dir()])
        if i.ok and i.record.dataset.key == dataset
    )


def png_of(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An SQLite file of this test, or the PostgreSQL server CI started."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'class.db'}"
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(
            f"{PG_URL_ENV} is not set: no PostgreSQL server to test against (.ci/run starts one)"
        )
    return url


@pytest.fixture
def store(db_url) -> ClassStore:
    return ClassStore(db_url)


def rows_of(store: ClassStore, class_id: int) -> dict[str, int]:
    with store.sessions() as db:
        return {
            table.__tablename__: db.scalar(
                select(func.count())
                .select_from(table)
                .where((table.id if table is Classroom else table.class_id) == class_id)
            )
            for table in (Classroom, Student, SharedRun, Submission)
        }


def test_two_classes_are_isolated(store):
    a, b = store.create("class A"), store.create("class B")
    amy = store.join(a.code, "Amy", session="s1")
    ben = store.join(b.code, "Amy", session="s2")  # the same nickname in another class is fine
    run = store.share(amy, shipped("mnist"))
    picture = store.submit(amy, symbol_canvas("bar", 1), "bar", drawn=True)
    board_a, board_b = store.show(a.code, a.teacher_key), store.show(b.code, b.teacher_key)
    assert [r.id for r in board_a.runs] == [run.id] and board_b.runs == []
    assert [s.id for s in board_a.submissions] == [picture.id] and board_b.submissions == []
    assert store.student_view(ben).submissions == [] and store.student_view(ben).runs == []
    assert store.pictures(board_b, [picture.id]) == {}  # B's teacher cannot read A's picture
    with pytest.raises(ClassError, match="not in the class"):
        store.run_files(board_b, run.id)
    with pytest.raises(ClassError, match="does not open"):
        store.show(b.code, a.teacher_key)  # one class's key never opens another


def test_the_wrong_key_gets_one_sentence_and_nothing_else(store):
    made = store.create("7B")
    store.join(made.code, "Amy", session="s")
    for call in (
        lambda: store.show(made.code, "not-the-key"),
        lambda: store.show(made.code, ""),
        lambda: store.delete(made.code, made.teacher_key[:-1]),
        lambda: store.remove(made.code, "x", "student", 1),
    ):
        with pytest.raises(ClassError) as err:
            call()
        assert str(err.value) == "That teacher key does not open this class."
    assert store.show(made.code, made.teacher_key).students[0].nickname == "Amy"
    with pytest.raises(ClassError, match="No class has that code"):
        store.show("ZZZZZZ", made.teacher_key)


def test_keys_and_codes_are_kept_only_as_hashes(store):
    made = store.create("7B")
    with store.sessions() as db:
        digest = keys.code_digest(made.code)
        row = db.scalars(select(Classroom).where(Classroom.code_digest == digest)).one()
        assert row.code_digest != made.code and made.code not in (row.name, row.code_digest)
        assert made.teacher_key.encode() not in row.key_hash + row.key_salt
        assert keys.key_matches(made.teacher_key, row.key_salt, row.key_hash)
    assert store.show(made.code.lower(), made.teacher_key).name == "7B"  # typed in lower case
    assert len(made.code) == keys.CODE_LENGTH and set(made.code) <= set(keys.CODE_ALPHABET)


def test_hostile_nicknames_are_stored_and_shown_as_text(store):
    made = store.create(HOSTILE[1])
    members = [store.join(made.code, nick, session=f"s{i}") for i, nick in enumerate(HOSTILE)]
    store.submit(members[0], symbol_canvas("ring", 2), HOSTILE[1], drawn=True)
    board = store.show(made.code, made.teacher_key)
    assert board.name == HOSTILE[1]
    assert [s.nickname for s in board.students] == HOSTILE
    assert board.submissions[0].label == HOSTILE[1]
    assert json.loads(json.dumps(board.to_dict()))["students"][0]["nickname"] == HOSTILE[0]
    tables = set(inspect(store.sessions.kw["bind"]).get_table_names())
    assert {"classes", "students", "shared_runs", "submissions", "alembic_version"} <= tables
    assert rows_of(store, board.class_id)["students"] == 2
    with pytest.raises(ClassError, match="has that nickname already"):
        store.join(made.code, HOSTILE[0].upper(), session="s9")  # unique, ignoring case


def test_typed_text_is_refused_with_a_sentence(store):
    made = store.create("7B")
    for nick, words in (
        ("", "Give a nickname"),
        ("x" * 41, "at most 40"),
        ("a\x00b", "control characters"),
    ):
        with pytest.raises(ClassError, match=words):
            store.join(made.code, nick, session="s")


def test_each_limit_says_its_sentence(db_url):
    limits = ClassLimits(
        students=2, runs=1, run_bytes=6_115_000, submissions=2, submission_bytes=2 * 1024**2
    )
    store = ClassStore(db_url, limits=limits)
    made = store.create("small")
    amy, ben = (store.join(made.code, n, session=n) for n in ("Amy", "Ben"))
    with pytest.raises(ClassError, match=r"This class is full \(2 students\)"):
        store.join(made.code, "Cat", session="c")
    with pytest.raises(ClassError, match="more than the 5 MB a shared run may be"):
        # with familiarity.npz: flowers 6,126,540 bytes; Fashion 6,106,861, MNIST 6,056,027
        store.share(amy, shipped("flowers17"))
    store.share(amy, shipped("mnist"))
    with pytest.raises(ClassError, match="1 shared runs, the most it keeps"):
        store.share(ben, shipped("fashion_mnist"))
    store.submit(amy, symbol_canvas("bar", 1), "bar", drawn=True)
    store.submit(ben, symbol_canvas("ring", 1), "ring", drawn=True)
    with pytest.raises(ClassError, match=r"The class wall is full \(2 pictures\)"):
        store.submit(ben, symbol_canvas("cross", 1), "cross", drawn=True)
    roomy = ClassStore(db_url, limits=ClassLimits(runs_bytes=8 * 1024**2))
    with pytest.raises(ClassError, match="shared runs take 6 MB of the 8 MB it may use"):
        roomy.share(ben, shipped("fashion_mnist"))
    noise = np.random.default_rng(0).integers(0, 256, (640, 640, 3), dtype=np.uint8)
    tight = ClassStore(db_url, limits=ClassLimits(submission_bytes=1024**2 // 2))
    with pytest.raises(ClassError, match="more than the 0 MB|MB a picture on the wall may be"):
        tight.submit(amy, noise, "noise", drawn=False)


def test_deleting_a_class_removes_everything_in_it(store):
    doomed, kept = store.create("doomed"), store.create("kept")
    for made in (doomed, kept):
        amy = store.join(made.code, "Amy", session=made.code)
        store.share(amy, shipped("mnist"))
        store.submit(amy, symbol_canvas("bar", 3), "bar", drawn=True)
    ids = {m.code: store.show(m.code, m.teacher_key).class_id for m in (doomed, kept)}
    assert store.delete(doomed.code, doomed.teacher_key) == "doomed"
    assert set(rows_of(store, ids[doomed.code]).values()) == {0}
    assert rows_of(store, ids[kept.code]) == {
        "classes": 1,
        "students": 1,
        "shared_runs": 1,
        "submissions": 1,
    }
    with pytest.raises(ClassError, match="No class has that code"):
        store.show(doomed.code, doomed.teacher_key)


def test_the_teacher_removes_a_run_a_picture_and_a_student(store):
    made = store.create("7B")
    amy, ben = store.join(made.code, "Amy", session="a"), store.join(made.code, "Ben", session="b")
    run = store.share(amy, shipped("mnist"))
    pic = store.submit(ben, symbol_canvas("bar", 1), "bar", drawn=True)
    store.submit(ben, symbol_canvas("ring", 1), "ring", drawn=True)
    store.remove(made.code, made.teacher_key, "run", run.id)
    store.remove(made.code, made.teacher_key, "submission", pic.id)
    board = store.show(made.code, made.teacher_key)
    assert board.runs == [] and [s.label for s in board.submissions] == ["ring"]
    store.remove(made.code, made.teacher_key, "student", ben.student_id)
    board = store.show(made.code, made.teacher_key)
    assert [s.nickname for s in board.students] == ["Amy"] and board.submissions == []
    with pytest.raises(ClassError, match="no longer in this class"):
        store.submit(ben, symbol_canvas("bar", 2), "bar", drawn=True)
    with pytest.raises(ClassError, match="not in the class"):
        store.remove(made.code, made.teacher_key, "run", run.id)


def test_joining_is_rate_limited_per_session(db_url):
    store = ClassStore(db_url, joins=JoinLimiter(attempts=3, window_s=60))
    made = store.create("7B")
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        with pytest.raises(ClassError, match="No class has that code"):
            store.join(guess, "Amy", session="guesser")
    with pytest.raises(ClassError, match=r"Too many tries to join: wait \d+ s"):
        store.join(made.code, "Amy", session="guesser")  # even the right code, for a while
    assert store.join(made.code, "Amy", session="another").nickname == "Amy"


def test_a_shared_run_loads_back_safely_and_answers_as_the_original(store):
    import keras

    from cnn.classroom import run_cache

    made = store.create("7B")
    amy = store.join(made.code, "Amy", session="a")
    row = store.share(amy, shipped("fashion_mnist"))
    assert store.share(amy, shipped("fashion_mnist")).id == row.id  # shared twice, kept once
    record, model, digest, familiarity = store.run_files(
        store.show(made.code, made.teacher_key), row.id
    )
    run = run_cache.load_cached_run(record, model, digest, familiarity)
    original = artifacts.load_run(shipped("fashion_mnist"))
    # the unfamiliar-input check travels with the run: a classmate's Predict flags as its own
    assert familiarity == (shipped("fashion_mnist") / artifacts.OOD_FILE).read_bytes()
    assert isinstance(run.gaussian, type(original.gaussian)) and run.gaussian is not None
    assert run.record.ood.threshold == original.record.ood.threshold
    with pytest.raises(ClassError, match="damaged"):
        run_cache.cached_run(record, model, digest, familiarity[:-1] + b"x")
    x = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    np.testing.assert_allclose(
        run.model.predict(x, verbose=0), original.model.predict(x, verbose=0), atol=1e-6
    )
    with pytest.raises(ClassError, match="damaged"):
        run_cache.cached_run(record.replace("fashion", "fishy"), model, digest)
    # a model carrying code (a Lambda layer) is refused as any untrusted run is
    lam = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
            keras.layers.Lambda(lambda t: t * 2),
        ]
    )
    path = run_cache.cache_root().parent / "lambda.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    lam.save(path)
    data = path.read_bytes()
    import hashlib

    bad = hashlib.sha256(record.encode() + b"\0" + data).hexdigest()
    with pytest.raises(ClassError, match="Lambda"):
        run_cache.load_cached_run(record, data, bad)


def test_a_run_shared_before_the_check_was_kept_still_loads_without_a_flag(store):
    """A row written under migration 0001 has no familiarity and the digest of run.json and
    model.keras alone: it loads, with no check (no flag rather than a wrong one)."""
    from cnn.classroom import run_cache

    made = store.create("7C")
    amy = store.join(made.code, "Amy", session="a")
    row = store.share(amy, shipped("fashion_mnist"))
    with store.sessions.begin() as db:
        old = db.get(SharedRun, row.id)
        old.digest = run_cache.run_digest(old.record_json.encode(), old.model)
        old.familiarity = None
    files = store.run_files(store.show(made.code, made.teacher_key), row.id)
    assert files[3] is None
    run = run_cache.load_cached_run(*files)
    assert run.gaussian is None and run.record.ood is not None


def test_the_command_line_across_processes(db_url, tmp_path):
    """A restart loses nothing: each command is its own process reading what the last wrote."""
    env = {**os.environ, "CNN_DB_URL": db_url, "CNN_CACHE_DIR": str(tmp_path / "cache")}

    def cli(*args, ok=True):
        done = subprocess.run(
            [sys.executable, "-m", "cnn", "class", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode == 0) == ok, done.stderr
        return done

    made = json.loads(cli("create", HOSTILE[0], "--json").stdout)
    assert set(made) == {"name", "code", "teacher_key"}
    code, key = made["code"], made["teacher_key"]
    shared = json.loads(
        cli(
            "share", code, "--student", HOSTILE[1], "--model", str(shipped("mnist")), "--json"
        ).stdout
    )
    drawing = tmp_path / "drawing.png"
    drawing.write_bytes(png_of(symbol_canvas("cross", 4)))
    cli("submit", code, "--student", "Ben", str(drawing), "--label", "cross", "--drawing", "--json")
    board = json.loads(cli("show", code, "--teacher-key", key, "--json").stdout)
    assert board["name"] == HOSTILE[0]
    assert [s["nickname"] for s in board["students"]] == [HOSTILE[1], "Ben"]
    (run,) = board["runs"]
    assert (run["id"], run["student"], run["dataset"], run["arch"]) == (
        shared["run"],
        HOSTILE[1],
        "mnist",
        "vgg_wide",
    )
    assert run["test_accuracy"] == artifacts.read_run_info(shipped("mnist")).record.test.accuracy
    assert [(s["student"], s["label"]) for s in board["submissions"]] == [("Ben", "cross")]
    wrong = cli("show", code, "--teacher-key", "wrong", "--json", ok=False)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip() == "error: That teacher key does not open this class."
    cli("delete", code, "--teacher-key", key)
    gone = cli("show", code, "--teacher-key", key, ok=False)
    assert gone.stderr.count("\n") == 1 and "No class has that code" in gone.stderr


def test_a_bad_database_url_is_one_sentence(tmp_path):
    env = {**os.environ, "CNN_DB_URL": "nonsense://x"}
    done = subprocess.run(
        [sys.executable, "-m", "cnn", "class", "create", "x"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: CNN_DB_URL is not")
    assert "Traceback" not in done.stderr


def test_picked_pictures_make_a_dataset_that_own_images_loads(store, tmp_path):
    from cnn import datasets
    from cnn.classroom.class_dataset import class_dataset

    made = store.create("7B")
    amy = store.join(made.code, "Amy", session="a")
    for seed in range(5):
        for symbol in ("bar", "ring"):
            store.submit(amy, symbol_canvas(symbol, seed), symbol, drawn=True)
    board = store.show(made.code, made.teacher_key)
    pngs = store.pictures(board, [s.id for s in board.submissions])
    made_set = class_dataset([(pngs[s.id], s.drawn, s.label) for s in board.submissions], "digits")
    assert made_set.counts == {"bar": 5, "ring": 5} and made_set.problems == []
    archive = tmp_path / "class.zip"
    archive.write_bytes(made_set.data)
    assert "dataset.json" in zipfile.ZipFile(archive).namelist()
    loaded = datasets.load("folder", archive, download=False)
    assert list(loaded.class_names) == ["bar", "ring"] and loaded.info.kind == "digits"
    with pytest.raises(ClassError, match="cannot name a class"):
        class_dataset([(pngs[board.submissions[0].id], True, HOSTILE[0])], "digits")


def test_wall_answers_are_the_models_own(store):
    """The board's answer to each picture is the argmax of Keras' predict on the input Predict
    prepares (drawings and photos alike)."""
    from cnn import preprocess
    from cnn.classroom.board import wall_answers

    made = store.create("7B")
    amy = store.join(made.code, "Amy", session="a")
    samples = artifacts.sample_images("fashion_mnist")[:4]
    for path in samples:
        store.submit(amy, path.read_bytes(), path.name.split("__")[0], drawn=False)
    store.submit(amy, symbol_canvas("bar", 0), "Trouser", drawn=True)
    board = store.show(made.code, made.teacher_key)
    pngs = store.pictures(board, [s.id for s in board.submissions])
    run = artifacts.load_run(shipped("fashion_mnist"))
    answers = wall_answers(run, [(s.id, pngs[s.id], s.drawn, s.label) for s in board.submissions])
    for sub, answer in zip(board.submissions, answers, strict=True):
        pixels = np.asarray(Image.open(io.BytesIO(pngs[sub.id])).convert("RGB"))
        prepare = preprocess.prepare_drawing if sub.drawn else preprocess.prepare_upload
        x = prepare(pixels, run.preprocessing).input[None]
        expected = run.class_names[int(run.model.predict(x, verbose=0).argmax())]
        assert answer.answer == expected and answer.right == (expected == sub.label)


def test_the_summed_confusion_is_the_sum_of_each_runs(trained):
    """Summed over two runs of MNIST, on the same first test images, and checked against
    Keras' own predictions of each model."""
    from cnn import datasets
    from cnn.classroom.board import summed_confusion

    runs = [(1, artifacts.load_run(shipped("mnist"))), (2, artifacts.load_run(trained))]
    total = summed_confusion(runs, "mnist", images=200)
    test = datasets.load("mnist", download=False).test.take(np.arange(200))
    expected = np.zeros((10, 10), np.int64)
    for _, run in runs:
        size = tuple(run.record.preprocessing.image_size)
        x = test.images.astype(np.float32) / 255
        assert x.shape[1:3] == size
        predicted = run.model.predict(x, verbose=0).argmax(axis=1)
        np.add.at(expected, (test.labels, predicted), 1)
    np.testing.assert_array_equal(total.matrix, expected)
    assert total.matrix.sum() == 400 and [r for r, _ in total.runs] == [1, 2]
