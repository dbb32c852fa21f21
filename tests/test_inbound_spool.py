"""Texts and status callbacks that arrive while the database is down: answered, spooled, replayed once, in order."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from redis import Redis
from sqlalchemy import func, select

from glowline.store import spool
from glowline.store.models import Client, InboundMessage, Intake, MessageStatus, OutboxMessage
from tests.helpers import CLINIC_NUMBER, make_client, make_message, postgres_refusing, table_gone, twilio_post
from webhooks.sms import SPOOLED_REPLY

ACCOUNT = "AC" + "0" * 32
CLIENTS = [f"+1505555{n:04d}" for n in range(10)]
WALK = ["hi", "yes", "Quillonette", "1", "face", "no", "no", "no", "yes", "weekday evenings"]


def text(http, n, phone, body):
    params = {"MessageSid": f"SM{n:032x}", "AccountSid": ACCOUNT, "From": phone, "To": CLINIC_NUMBER,
              "Body": body, "NumMedia": "0"}
    return twilio_post(http, "/twilio/sms", params)


def replay(runtime) -> int:
    from workers import jobs

    return jobs.replay_spool()["spool_replayed"]


def test_a_hundred_texts_while_the_database_is_down_are_answered_then_handled_once_in_order(
        client, runtime, clinic, config, clock, caplog, capfd):
    arrivals = []
    with caplog.at_level(logging.DEBUG), table_gone(config.database_url, "inbound_messages"):
        for step, body in enumerate(WALK):
            for c, phone in enumerate(CLIENTS):
                n = step * len(CLIENTS) + c + 1
                clock.advance(timedelta(seconds=1))
                response = text(client, n, phone, body)
                assert response.status_code == 200
                assert SPOOLED_REPLY in response.get_data(as_text=True)
                arrivals.append((f"SM{n:032x}", clock.now()))
        assert client.get("/healthz").json["spool"] == 100
    output = caplog.text + "".join(capfd.readouterr())
    assert not [c for c in [*CLIENTS, "Quillonette", "weekday evenings"] if c in output or c[2:] in output]

    clock.advance(timedelta(minutes=5))  # the database is back; the worker's next run replays
    assert replay(runtime) == 100
    assert replay(runtime) == 0  # exactly once, however often the job runs
    assert client.get("/healthz").json["spool"] == 0
    with runtime.sessions() as s:
        rows = s.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [(r.sid, r.received_at.replace(tzinfo=None)) for r in rows] == [
            (sid, at.replace(tzinfo=None)) for sid, at in arrivals]
        assert all(r.reply is not None and r.handled_as != "error" for r in rows)
        for phone in CLIENTS:
            intake = s.scalars(select(Intake).join(Client).where(Client.phone == phone)).one()
            # Handled in arrival order: each answer landed on its own question.
            assert intake.answers["first_name"] == "Quillonette" and intake.answers["area"] == ["face"]


def test_with_redis_down_too_the_text_goes_to_a_local_file_and_is_replayed(client, runtime, clinic, config, clock):
    live = runtime.__dict__.get("redis")
    runtime.__dict__["redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        with table_gone(config.database_url, "inbound_messages"):
            assert text(client, 1, CLIENTS[0], "hi").status_code == 200
            assert text(client, 2, CLIENTS[0], "yes").status_code == 200
    finally:
        runtime.__dict__["redis"] = live if live is not None else Redis.from_url(config.redis_url)
    assert spool.depth(runtime) == 2
    assert replay(runtime) == 2 and spool.depth(runtime) == 0
    with runtime.sessions() as s:
        intake = s.scalars(select(Intake)).one()
        assert intake.answers.get("consent")  # "yes" after "hi": both handled, in order


def test_a_status_callback_while_the_database_is_down_settles_its_row_after(client, db, runtime, clinic, config,
                                                                             clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    row.status, row.provider_sid = MessageStatus.SENT, "SM" + "d1" * 16
    db.commit()
    with table_gone(config.database_url, "message_events"):
        response = twilio_post(client, f"/twilio/status?message_id={row.id}",
                               {"MessageSid": "SM" + "d1" * 16, "MessageStatus": "delivered", "AccountSid": ACCOUNT})
        assert response.status_code == 200
    assert replay(runtime) == 1
    db.expire_all()
    assert db.get(OutboxMessage, row.id).status is MessageStatus.DELIVERED


def test_a_replay_that_meets_the_database_still_down_keeps_every_entry(client, runtime, clinic, config, clock):
    with table_gone(config.database_url, "inbound_messages"):
        for n in range(3):
            assert text(client, n + 1, CLIENTS[n], "hi").status_code == 200
        assert replay(runtime) == 0
        assert spool.depth(runtime) == 3
    assert replay(runtime) == 3


def test_a_hundred_texts_while_postgresql_refuses_connections_are_answered_then_handled_once_in_order(
        client, runtime, clinic, config, clock, caplog, capfd, request):
    """The database itself down (every connection terminated, new ones refused), not only one table gone."""
    if not config.database_url.startswith("postgresql"):
        pytest.skip("terminating connections is PostgreSQL's")
    # The suite's own engine (it empties the tables between tests) loses its connections too.
    request.addfinalizer(request.getfixturevalue("_postgres_engine").dispose)
    with runtime.sessions() as s:  # the pool holds a live connection, which the outage will kill
        s.execute(select(InboundMessage.id)).all()
    arrivals = []
    with caplog.at_level(logging.DEBUG), postgres_refusing(config.database_url):
        for step, body in enumerate(WALK):
            for c, phone in enumerate(CLIENTS):
                n = step * len(CLIENTS) + c + 1
                clock.advance(timedelta(seconds=1))
                response = text(client, n, phone, body)
                assert response.status_code == 200
                assert SPOOLED_REPLY in response.get_data(as_text=True)
                arrivals.append(f"SM{n:032x}")
    output = caplog.text + "".join(capfd.readouterr())
    assert "database unavailable" in output
    assert not [c for c in [*CLIENTS, "Quillonette", "weekday evenings"] if c in output or c[2:] in output]
    assert replay(runtime) == 100 and replay(runtime) == 0
    with runtime.sessions() as s:
        assert list(s.scalars(select(InboundMessage.sid).order_by(InboundMessage.id))) == arrivals
        for phone in CLIENTS:
            intake = s.scalars(select(Intake).join(Client).where(Client.phone == phone)).one()
            assert intake.answers["first_name"] == "Quillonette" and intake.answers["area"] == ["face"]


def test_an_entry_that_fails_every_replay_is_set_aside_after_three_runs_and_the_rest_follow_in_order(
        client, runtime, clinic, config, clock, caplog, capfd, monkeypatch):
    import workers.inbound

    with table_gone(config.database_url, "inbound_messages"):
        for n in range(3):
            clock.advance(timedelta(seconds=1))
            assert text(client, n + 1, CLIENTS[n], "Quillonette says hi").status_code == 200
    poison = f"SM{2:032x}"
    real = workers.inbound.receive_text

    def receive(session, rt, form, *, now):
        if form["MessageSid"] == poison:  # a bug that this one entry trips, with its words in the error
            raise ValueError(f"cannot handle {form['Body']} from {form['From']}")
        return real(session, rt, form, now=now)

    monkeypatch.setattr(workers.inbound, "receive_text", receive)
    with caplog.at_level(logging.DEBUG):
        assert replay(runtime) == 1  # the first; the poison holds back the third, which keeps its order
        assert spool.depth(runtime) == 2 and spool.dead_depth(runtime) == 0
        for _ in range(spool.MAX_ATTEMPTS - 2):
            assert replay(runtime) == 0
        assert replay(runtime) == 2  # the last allowed failure: set aside, and the third goes on
    assert spool.depth(runtime) == 0 and spool.dead_depth(runtime) == 1
    assert client.get("/healthz").json["spool_dead"] == 1
    with runtime.sessions() as s:
        assert list(s.scalars(select(InboundMessage.sid).order_by(InboundMessage.id))) == [
            f"SM{1:032x}", f"SM{3:032x}"]
    output = caplog.text + "".join(capfd.readouterr())
    assert "dead-letter" in output and "ValueError" in output
    assert not [c for c in [*CLIENTS[:3], "Quillonette"] if c in output or c[2:] in output]


def test_a_database_outage_counts_no_attempt_against_any_entry(client, runtime, clinic, config, clock):
    with table_gone(config.database_url, "inbound_messages"):
        for n in range(2):
            assert text(client, n + 1, CLIENTS[n], "hi").status_code == 200
        for _ in range(spool.MAX_ATTEMPTS + 1):
            assert replay(runtime) == 0
        assert spool.depth(runtime) == 2 and spool.dead_depth(runtime) == 0
    assert replay(runtime) == 2 and spool.dead_depth(runtime) == 0


def test_an_unreadable_entry_is_set_aside_at_once_and_the_rest_replayed(client, runtime, clinic, config, clock):
    with table_gone(config.database_url, "inbound_messages"):
        assert text(client, 1, CLIENTS[0], "hi").status_code == 200
    runtime.redis.xadd(spool.STREAM, {"entry": "{not json"})
    with table_gone(config.database_url, "inbound_messages"):
        assert text(client, 2, CLIENTS[1], "hi").status_code == 200
    assert replay(runtime) == 3
    assert spool.depth(runtime) == 0 and spool.dead_depth(runtime) == 1
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2
