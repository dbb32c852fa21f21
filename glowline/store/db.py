"""Database engine and sessions, built from the configuration on demand."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def build_engine(database_url: str, *, busy_seconds: float = 30.0) -> Engine:
    """Create an engine; SQLite gets foreign keys, a busy timeout (``busy_seconds``), WAL and synchronous=NORMAL.

    ``synchronous=NORMAL`` under WAL: a commit appends to the WAL file without waiting for an
    fsync (SQLite syncs at checkpoints instead), which was about 3 ms of every send's two
    commits here. A process crash (a killed worker, a job that segfaults) still loses no
    committed transaction, since the WAL is already in the OS's page cache; only a power cut
    or a kernel crash may roll back the last transactions committed before it, never
    corrupting the file (a lost claim or "sent" puts the row back in the queue, so a text
    Twilio had taken may go out once more). PostgreSQL, for production, keeps durable commits.

    ``hide_parameters``: a failed statement's error message would otherwise carry its
    values (a client's number, a text's body) into every log that prints it.
    """
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": busy_seconds, "check_same_thread": False},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True, hide_parameters=True)


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of a SQLite file so the first start does not fail."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def on_commit(session: Session, callback) -> None:
    """Run ``callback()`` once, right after ``session`` next commits; drop it on rollback.

    Jobs must never be enqueued for rows a rollback erases, nor before the
    worker could see the rows, so side effects wait for the commit.
    """
    if not session.info.get("on_commit_hooked"):
        # Listeners stay for the session's life: a once-listener cannot be re-added
        # with the same function, which would silently drop the second commit's callbacks.
        event.listen(session, "after_commit", _run_on_commit)
        event.listen(session, "after_soft_rollback", _drop_on_commit)
        session.info["on_commit_hooked"] = True
    session.info.setdefault("on_commit", []).append(callback)


def _run_on_commit(session: Session) -> None:
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        callback()


def _drop_on_commit(session: Session, _previous_transaction=None) -> None:
    session.info.pop("on_commit", None)
