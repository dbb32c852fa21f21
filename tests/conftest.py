"""Shared fixtures: a real Redis, a clean real database per test, the fake Twilio edge."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from glowline.clock import ManualClock
from glowline.config import ROOT, Config
from glowline.store.models import Base
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, make_clinic
from tests.twilio_server import FakeTwilio


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory):
    """TEST_REDIS_URL when set, else a private embedded server on a free port for the session."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
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


@pytest.fixture(scope="session")
def _postgres_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    from glowline.config import _database_url

    url = _database_url(url)
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def database_url(_postgres_url, tmp_path):
    """A clean database per test: a new SQLite file, or truncated PostgreSQL tables."""
    if _postgres_url is None:
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url
    engine = create_engine(_postgres_url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return _postgres_url


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


@pytest.fixture
def runtime(config, clock, redis_conn):
    """The runtime both the app and the in-process workers use in a test."""
    from workers import context

    rt = Runtime(config, clock=clock)
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
def db(runtime):
    """A database session for arranging and asserting; commit what the app must see."""
    session = runtime.sessions()
    yield session
    session.close()


@pytest.fixture
def clinic(db):
    return make_clinic(db)
