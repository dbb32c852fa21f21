"""The send job end to end: real RQ worker, real Redis, real DB, the real SDK against the fake Twilio."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from glowline.models import (Channel, Client, ConsentEvent, MessageKind, MessageStatus, OutboxMessage, Plan,
                             SessionStatus)
from glowline.plans import cancel_plan, create_plan, move_session
from tests.conftest import CLINIC_NUMBER, PUBLIC_BASE_URL
from tests.twilio_server import Scripted
from tests.worker_helpers import advance, run_until, work

CLIENT_NUMBER = "+12125550111"


def make_client(db, phone=CLIENT_NUMBER, **kwargs) -> Client:
    """A committed client row."""
    client = Client(phone=phone, **kwargs)
    db.add(client)
    db.commit()
    return client


def make_message(db, clinic, client, *, due_at, body="Glow Clinic: see you soon. Call +12125550123.",
                 kind=MessageKind.CLIENT_NOTICE, not_after=None, channel=Channel.SMS, to=None) -> OutboxMessage:
    """A committed pending outbox row, as the plan service would write it."""
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id if client else None, kind=kind, channel=channel,
                        to_number=to or client.phone, from_number=CLINIC_NUMBER, body=body, due_at=due_at,
                        not_after=not_after, status=MessageStatus.PENDING)
    db.add(row)
    db.commit()
    return row


def schedule(runtime, db, rows) -> None:
    """What every writer does: schedule, then commit (the enqueue waits for the commit)."""
    runtime.dispatcher.schedule(db, rows)
    db.commit()


def fresh(db, row) -> OutboxMessage:
    db.expire_all()
    return db.get(OutboxMessage, row.id)


def test_row_is_sent_at_its_due_time_once_with_callback(runtime, db, clinic, clock, fake_twilio):
    client = make_client(db)
    row = make_message(db, clinic, client, due_at=clock.now() + timedelta(hours=2))
    schedule(runtime, db, [row])
    assert fresh(db, row).status is MessageStatus.QUEUED

    advance(runtime, clock, timedelta(hours=1, minutes=59))
    assert fake_twilio.attempts() == []
    assert fresh(db, row).status is MessageStatus.QUEUED

    advance(runtime, clock, timedelta(minutes=2))
    sent = fake_twilio.sent()
    assert len(sent) == 1
    assert sent[0].form["To"] == CLIENT_NUMBER and sent[0].form["From"] == CLINIC_NUMBER
    assert sent[0].form["Body"] == row.body
    assert sent[0].form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status"
    row = fresh(db, row)
    assert (row.status, row.attempts, row.provider_sid) == (MessageStatus.SENT, 1, sent[0].sid)

    # Running the job again (a duplicate enqueue, a reconcile) sends nothing more.
    from workers.jobs import send_message

    assert send_message(row.id) == "already_sent"
    assert len(fake_twilio.attempts()) == 1
