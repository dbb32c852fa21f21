"""A locked SQLite file under the web app: a bounded wait, then the spool, never a hung or failed webhook."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.config import Config
from glowline.store.models import Client, InboundMessage, Intake
from tests.helpers import CLINIC_NUMBER, sqlite_locked, twilio_post
from webhooks.sms import SPOOLED_REPLY

ACCOUNT = "AC" + "0" * 32
CLIENTS = [f"+1505555{n:04d}" for n in range(10)]
WALK = ["hi", "yes", "Quillonette", "1", "face", "no", "no", "no", "yes", "weekday evenings"]


@pytest.fixture
def config(config):
    if not config.database_url.startswith("sqlite"):
        pytest.skip("a file lock is SQLite's; PostgreSQL refusing connections is in test_inbound_spool")
    # The web app's bounded wait, lowered so 100 locked requests take seconds, not 100 x 3 s.
    return config.with_(db_busy_seconds=0.05)


def test_the_web_app_waits_a_few_seconds_for_a_locked_file_and_workers_keep_their_longer_wait(tmp_path):
    from webhooks import create_app

    config = Config.from_env({"GLOWLINE_VAR_DIR": str(tmp_path), "WEB_DB_BUSY_SECONDS": "2.5"})
    assert config.db_busy_seconds == 30.0 and config.web_db_busy_seconds == 2.5
    app = create_app({"GLOWLINE_CONFIG": config})
    web = app.extensions["glowline"]
    assert web.config.db_busy_seconds == 2.5  # well inside Twilio's 15 s webhook timeout
    web.engine.dispose()


def test_a_hundred_texts_while_another_connection_holds_the_sqlite_file_are_answered_then_handled_once_in_order(
        client, runtime, clinic, config, clock, caplog, capfd):
    arrivals = []
    with caplog.at_level(logging.DEBUG), sqlite_locked(config.database_url):  # BEGIN EXCLUSIVE elsewhere
        for step, body in enumerate(WALK):
            for c, phone in enumerate(CLIENTS):
                n = step * len(CLIENTS) + c + 1
                clock.advance(timedelta(seconds=1))
                params = {"MessageSid": f"SM{n:032x}", "AccountSid": ACCOUNT, "From": phone, "To": CLINIC_NUMBER,
                          "Body": body, "NumMedia": "0"}
                response = twilio_post(client, "/twilio/sms", params)
                assert response.status_code == 200
                assert SPOOLED_REPLY in response.get_data(as_text=True)
                arrivals.append((f"SM{n:032x}", clock.now()))
    output = caplog.text + "".join(capfd.readouterr())
    assert "database unavailable" in output
    assert not [c for c in [*CLIENTS, "Quillonette", "weekday evenings"] if c in output or c[2:] in output]

    from workers import jobs

    clock.advance(timedelta(minutes=1))  # the lock is released; the worker's next run replays
    assert jobs.replay_spool()["spool_replayed"] == 100
    assert jobs.replay_spool()["spool_replayed"] == 0
    with runtime.sessions() as s:
        rows = s.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [(r.sid, r.received_at.replace(tzinfo=None)) for r in rows] == [
            (sid, at.replace(tzinfo=None)) for sid, at in arrivals]
        for phone in CLIENTS:
            intake = s.scalars(select(Intake).join(Client).where(Client.phone == phone)).one()
            assert intake.answers["first_name"] == "Quillonette" and intake.answers["area"] == ["face"]
