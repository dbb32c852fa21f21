"""Call steps while the database is down: the caller hears a kind apology (never a 5xx), what matters is replayed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from glowline.store.models import (Channel, Client, ConsentEvent, InboundMessage, MessageKind, MessageStatus, OutboxMessage,
                                   SessionStatus)
from glowline.store import spool
from tests.helpers import CLINIC_NUMBER, database_down, make_plan, parse_twiml, said, twilio_post

CALLER = "+12125550111"
CALL_SID = "CA" + "1" * 32
ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def config(config, request):
    if config.database_url.startswith("postgresql"):
        # The suite's own engine (it empties the tables between tests) loses its connections in the outage.
        request.addfinalizer(request.getfixturevalue("_postgres_engine").dispose)
    # A locked SQLite file fails a write after 0.1 s here instead of the web app's few seconds.
    return config.with_(db_busy_seconds=0.1)


@pytest.fixture
def reminder(db, clinic, runtime, clock) -> OutboxMessage:
    """A voice client's first reminder, as the send job leaves it after calls.create."""
    plan = make_plan(db, runtime, clinic, clock, phone=CALLER, channel=Channel.VOICE)
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                     OutboxMessage.kind == MessageKind.REMINDER)
                         .order_by(OutboxMessage.due_at)).first()
    message.status = MessageStatus.SENT
    message.provider_sid = CALL_SID
    db.commit()
    return message


def reminder_post(http, path: str, message, **form):
    params = {"CallSid": CALL_SID, "AccountSid": ACCOUNT, "From": CLINIC_NUMBER, "To": message.to_number,
              "CallStatus": "in-progress", "Direction": "outbound-api", **form}
    return twilio_post(http, path, params)


def replay() -> int:
    from workers import jobs

    return jobs.replay_spool()["spool_replayed"]


def fresh(db, row):
    db.expire_all()
    return db.get(type(row), row.id)


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/gather?step=1",
                                  "/twilio/voice/rebook?step=1&session_id=1",
                                  "/twilio/voice/reminder?message_id={id}",
                                  "/twilio/voice/reminder/gather?message_id={id}&attempt=1",
                                  "/twilio/voice/reminder/rebook?message_id={id}&attempt=1"])
def test_every_call_step_answers_an_apology_in_english_and_spanish_while_the_database_is_down(
        client, config, reminder, path):
    inbound = {"CallSid": "CA" + "2" * 32, "AccountSid": ACCOUNT, "From": "+12125550142", "To": CLINIC_NUMBER,
               "CallStatus": "ringing", "Digits": "1"}
    with database_down(config.database_url):
        if "{id}" in path:
            response = reminder_post(client, path.format(id=reminder.id), reminder, Digits="1")
        else:
            response = twilio_post(client, path, inbound)
    spoken = said(parse_twiml(response))  # 200, valid TwiML
    assert spoken.startswith("Sorry, we") and "Disculpe" in spoken
    assert "Goodbye." in spoken and "Adiós." in spoken


def test_pressing_9_on_a_reminder_call_while_the_database_is_down_still_opts_the_client_out_once(
        client, db, runtime, config, clock, reminder):
    with database_down(config.database_url):
        response = reminder_post(client, f"/twilio/voice/reminder/gather?message_id={reminder.id}&attempt=1",
                                 reminder, Digits="9")
        ended = reminder_post(client, "/twilio/voice/status", reminder, CallStatus="completed")
    assert "could not take your answer" in said(parse_twiml(response))
    assert ended.status_code == 204
    assert spool.depth(runtime) == 2
    assert not fresh(db, reminder).client.opted_out  # nothing applied while down

    clock.advance(timedelta(minutes=3))
    assert replay() == 2
    assert replay() == 0  # once, however often the job runs
    message = fresh(db, reminder)
    assert message.client.opted_out and message.result == "opted_out"
    assert message.status is MessageStatus.DELIVERED  # the spooled "completed" callback landed
    assert db.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.action == "opt_out")) == 1
    step = db.scalars(select(InboundMessage).where(InboundMessage.sid == f"{CALL_SID}:reminder:1")).one()
    assert step.needs_attention  # the caller was told the clinic would be in touch
    # A retried request for the same step after the database is back changes nothing more.
    again = reminder_post(client, f"/twilio/voice/reminder/gather?message_id={reminder.id}&attempt=1",
                          reminder, Digits="9")
    assert again.status_code == 200
    assert db.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.action == "opt_out")) == 1


def test_a_spoken_stop_mid_intake_while_the_database_is_down_is_applied_and_kept_for_staff(
        client, db, config, clinic):
    form = {"CallSid": "CA" + "3" * 32, "AccountSid": ACCOUNT, "From": "+12125550143", "To": CLINIC_NUMBER,
            "SpeechResult": "please stop calling me", "Confidence": "0.9"}
    with database_down(config.database_url):
        assert twilio_post(client, "/twilio/voice/gather?step=2", form).status_code == 200
    assert replay() == 1
    row = db.scalars(select(InboundMessage).where(InboundMessage.sid.startswith(form["CallSid"]))).one()
    assert row.handled_as == "call_outage" and row.needs_attention and row.body == "please stop calling me"
    assert db.get(Client, row.client_id).opted_out


def test_a_reminder_session_confirmed_by_keypad_while_down_is_confirmed_on_replay(client, db, config, reminder):
    with database_down(config.database_url):
        reminder_post(client, f"/twilio/voice/reminder/gather?message_id={reminder.id}&attempt=1", reminder,
                      Digits="1")
    assert replay() == 1
    assert fresh(db, reminder).session.status is SessionStatus.CONFIRMED
