"""Shared fixtures: a real Redis, a clean real database per test, the fake Twilio edge."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from glowline.clock import ManualClock
from glowline.config import ROOT, Config
from glowline.store.models import Base
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, make_clinic
from tests.twilio_server import FakeTwilio


def _worker_number() -> int:
    """0 without pytest-xdist or on its first worker (gw0), N on worker gwN."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name.removeprefix("gw")) if name.startswith("gw") else 0


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory):
    """TEST_REDIS_URL when set, else a private embedded server on a free port for the session.

    Each xdist worker is its own session, so it gets its own embedded server; on a shared
    TEST_REDIS_URL, worker N uses the database N above the configured one (tests flush it).
    """
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        parts = urlsplit(url)
        number = _worker_number()
        if number:
            base = int(parts.path.strip("/") or 0)
            url = urlunsplit(parts._replace(path=f"/{(base + number) % 16}"))
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_conn(redis_server_url):
    """A real Redis connection on a database flushed before each test."""
    conn = Redis.from_url(redis_server_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


def _worker_database(url: str) -> str:
    """The configured PostgreSQL database for worker gw0; for gwN the same name plus _gwN, created if missing."""
    number = _worker_number()
    if not number:
        return url
    configured = make_url(url)
    name = f"{configured.database}_gw{number}"
    engine = create_engine(configured, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return configured.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_engine():
    """An engine on the session's PostgreSQL database with fresh tables, or None on SQLite."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield None
        return
    from glowline.config import _database_url

    engine = create_engine(_worker_database(_database_url(url)))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_url(_postgres_engine):
    if _postgres_engine is None:
        return None
    return _postgres_engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _sqlite_dir(tmp_path_factory):
    """Where the test databases live: memory-backed /dev/shm when there is one.

    Every commit of a test is an fsync on disk; on tmpfs it costs nothing, and a test database
    needs no durability. SQLite behaves the same otherwise (same file, same WAL, same locking).
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="glowline-tests-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
def _sqlite_template(_sqlite_dir):
    """An empty SQLite database with every table, built once: copying a file beats create_all per test."""
    path = _sqlite_dir / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def database_url(_postgres_url, request):
    """A clean database per test: a fresh copy of the SQLite template, or truncated PostgreSQL tables."""
    if _postgres_url is None:
        template = request.getfixturevalue("_sqlite_template")
        path = template.with_name(f"test-{uuid.uuid4().hex}.sqlite3")
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return
    _empty_postgres_tables(request.getfixturevalue("_postgres_engine"))
    yield _postgres_url


def _empty_postgres_tables(engine) -> None:
    """One TRUNCATE of the tables a test wrote to (rows, or a used id sequence), ids restarted."""
    with engine.begin() as conn:
        # A rolled-back insert leaves no row but advances the id sequence: those tables are reset too,
        # so every test sees ids from 1 as it would on a fresh database.
        used = set(conn.scalars(text(
            "SELECT t.relname FROM pg_class t JOIN pg_depend d ON d.refobjid = t.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname "
            "WHERE q.last_value IS NOT NULL")))
        tables = [t.name for t in Base.metadata.sorted_tables]
        probes = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
        used.update(conn.scalars(text(probes)))
        if used:
            conn.execute(text(f"TRUNCATE {', '.join(sorted(used))} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def twilio_server():
    """One local server speaking Twilio's Messages and Calls API for the whole session."""
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(twilio_server):
    """The session's fake Twilio with nothing recorded and nothing scripted, for one test."""
    twilio_server.reset()
    yield twilio_server
    # A script a test queued but never used must not answer the next test's first request.
    twilio_server.reset()


@pytest.fixture
def clock():
    """A clock tests move by hand; starts on a Monday morning in New York."""
    return ManualClock(datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc))


@pytest.fixture
def config(database_url, redis_server_url, fake_twilio, tmp_path):
    """Settings for one test: real Redis and database, the SDK pointed at the fake Twilio."""
    return Config(
        database_url=database_url,
        redis_url=redis_server_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base_url=fake_twilio.base_url,
        twilio_timeout=2.0,
        public_base_url=PUBLIC_BASE_URL,
        secret_key="test-secret-key-0123456789",
        queue_name=f"test-{uuid.uuid4().hex[:8]}",
        var_dir=tmp_path / "var",
        protocols_path=ROOT / "protocols.json",
        schemas_dir=ROOT / "schemas",
        testing=True,
    )


@pytest.fixture(scope="session")
def _data_files():
    """schemas/ and protocols.json parsed and validated once per session (they are read-only)."""
    rt = Runtime(Config(protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas"))
    rt.check()
    return {name: getattr(rt, name) for name in ("schemas", "catalog", "intake_engine")}


@pytest.fixture
def runtime(config, clock, redis_conn, _data_files):
    """The runtime both the app and the in-process workers use in a test."""
    from workers import context

    rt = Runtime(config, clock=clock)
    if (config.protocols_path, config.schemas_dir) == (ROOT / "protocols.json", ROOT / "schemas"):
        # The session's parsed copies, set where the runtime's cached properties keep theirs;
        # a test that points the config at other files still gets them loaded and checked.
        for name, value in _data_files.items():
            setattr(rt, name, value)
    context.bind(rt)
    yield rt
    context.bind(None)
    rt.close()


@pytest.fixture
def app(runtime):
    from webhooks import create_app

    return create_app({"RUNTIME": runtime, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def server(runtime):
    """The app on a real HTTP port, in a thread, sharing the test's runtime and clock (for the browser tests)."""
    import threading

    from werkzeug.serving import make_server

    from webhooks import create_app

    app = create_app({"RUNTIME": runtime, "TESTING": True, "STAFF_QUEUE_REFRESH_SECONDS": 1})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    """Debian's Chromium for one test (tests/browser.py says how it is started)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture
def db(runtime):
    """A database session for arranging and asserting; commit what the app must see."""
    session = runtime.sessions()
    yield session
    session.close()


@pytest.fixture
def clinic(db):
    return make_clinic(db)


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone server on a free local port for the session: it speaks the S3 HTTP API (like the Twilio double)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_config(config, s3_server):
    """The test's settings with the photo store on a fresh bucket of the moto server."""
    import boto3

    bucket = f"photos-{uuid.uuid4().hex[:12]}"
    settings = config.with_(photo_s3_bucket=bucket, photo_s3_endpoint_url=s3_server, photo_s3_access_key_id="testing",
                            photo_s3_secret_access_key="testing")
    boto3.session.Session().client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                                   aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    return settings
