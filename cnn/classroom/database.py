"""The class board's database: one SQLAlchemy engine per URL, migrated to head on first use.

The URL is CNN_DB_URL (`cnn.settings`): SQLite in ~/.cnn_lab/class.db by default (embedded,
nothing to install), or any SQLAlchemy URL, e.g. `postgresql+psycopg://user:pw@host/cnn`
for a school server or for Streamlit Community Cloud, whose local disk does not last.

The first time a process opens a URL, Alembic upgrades that database to the newest
migration (cnn/classroom/migrations), inside a transaction; on PostgreSQL an advisory lock
makes two servers starting at once take turns. SQLite gets foreign keys on, write-ahead
logging (readers never wait for a writer) and a busy timeout (writers queue instead of
failing with "database is locked").
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from cnn.classroom.errors import ClassError
from cnn.i18n import tr

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_S = 30  # a writer waits this long for another before giving up
MIGRATION_LOCK = 0x434E4E4C  # "CNNL": PostgreSQL advisory lock held while migrating
_OPENING = threading.Lock()  # one thread opens (and migrates) a URL; the others wait


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit needs no fsync
    cursor.close()


def _new_engine(url: str) -> Engine:
    """An engine for `url`, refusing a URL it cannot use with a sentence."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_S})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as err:
        raise ClassError(
            tr(
                "CNN_DB_URL is not a database URL this app can open ({error}): "
                "use e.g. sqlite:///path/class.db or postgresql+psycopg://user:pw@host/db."
            ).format(error=type(err).__name__)
        ) from err


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (Alembic's `upgrade head`)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@functools.lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    engine = _new_engine(url)
    try:
        upgrade(engine)
    except OperationalError as err:
        engine.dispose()
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise ClassError(
            tr("The class database cannot be opened: {reason}.").format(reason=reason)
        ) from err
    return engine


def engine_for(url: str) -> Engine:
    """The process's engine for `url`, the database migrated to head the first time.

    Raises:
        ClassError: the URL is not one SQLAlchemy can open, or the database is unreachable.
    """
    with _OPENING:
        return _engine(url)
