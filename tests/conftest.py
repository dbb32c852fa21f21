"""Shared fixtures: a real Redis, a clean real database per test, the fake Twilio edge."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, time, timezone

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from glowline.clock import ManualClock
from glowline.config import ROOT, Config
from glowline.store.models import Base, Clinic, ClinicNumber, StaffPhone
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from tests.twilio_server import FakeTwilio

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://clinic.example.test"
CLINIC_NUMBER = "+12125550100"
STAFF_NUMBER = "+12125550199"


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


@pytest.fixture
def fake_twilio():
    """The local server that speaks Twilio's Messages and Calls API."""
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


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


def make_clinic(db, *, name="Glow Clinic", number=CLINIC_NUMBER, staff=(STAFF_NUMBER,),
                tz="America/New_York", contact="+12125550123") -> Clinic:
    """Create and commit a clinic with one Twilio number and its staff phones."""
    clinic = Clinic(name=name, timezone=tz, contact_phone=contact, quiet_start=time(20, 0),
                    quiet_end=time(8, 0), reminder_offsets_hours=[48, 2], session_minutes=60, templates={})
    clinic.numbers.append(ClinicNumber(number=number))
    for phone in staff:
        clinic.staff_phones.append(StaffPhone(number=phone))
    db.add(clinic)
    db.commit()
    return clinic


@pytest.fixture
def clinic(db):
    return make_clinic(db)


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """Compute X-Twilio-Signature the way Twilio does."""
    return RequestValidator(token).compute_signature(url, params)


def twilio_post(client, path: str, params: dict, *, token: str = AUTH_TOKEN, signature: str | None = None):
    """POST a form to ``path`` signed like Twilio signs it for PUBLIC_BASE_URL."""
    params = {k: str(v) for k, v in params.items()}
    sig = signature if signature is not None else sign(PUBLIC_BASE_URL + path, params, token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def make_plan(db, runtime, clinic, clock, *, phone: str, channel=None, days: int = 7, schedule: bool = False,
              protocol: str = "acne-scarring"):
    """Commit a client and an acne-scarring plan whose first session is ``days`` from the clock."""
    from datetime import timedelta

    from glowline.store.models import Channel, Client
    from glowline.plans.service import create_plan

    person = Client(phone=phone, preferred_channel=channel or Channel.SMS)
    db.add(person)
    db.flush()
    plan = create_plan(db, clinic=clinic, client=person, protocol=runtime.catalog.get(protocol),
                       catalog_version=runtime.catalog.version, first_session_at=clock.now() + timedelta(days=days),
                       actor="test", now=clock.now(), dispatcher=runtime.dispatcher if schedule else None)
    db.commit()
    return plan
