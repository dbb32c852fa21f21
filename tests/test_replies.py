"""Client replies to reminders, through the real /twilio/sms webhook."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from glowline.store.models import (Client, InboundMessage, MessageKind, MessageStatus, OutboxMessage, PlanStatus,
                             SessionStatus, TreatmentSession)
from tests.helpers import CLIENT_NUMBER, CLINIC_NUMBER, STAFF_NUMBER, make_client, start_plan, twilio_post
from tests.worker_helpers import work

_sids = count(1)


def text(http, body):
    params = {"MessageSid": f"SM{next(_sids):032d}", "From": CLIENT_NUMBER, "To": CLINIC_NUMBER, "Body": body,
              "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
    response = twilio_post(http, "/twilio/sms", params)
    assert response.status_code == 200
    return response.get_data(as_text=True), params["MessageSid"]


@pytest.fixture
def plan(runtime, db, clinic, clock):
    return start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)


def sessions(db, plan):
    db.expire_all()
    return list(db.scalars(select(TreatmentSession).where(TreatmentSession.plan_id == plan.id)
                           .order_by(TreatmentSession.number)))


def staff_notices(db):
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)))


@pytest.mark.parametrize("body", ["C", "confirm", "Yes!", " y "])
def test_confirm_words_confirm_the_next_session(client, db, plan, clock, body):
    reply, _ = text(client, body)
    first, second, _ = sessions(db, plan)
    assert first.status is SessionStatus.CONFIRMED and first.confirmed_at == clock.now()
    assert second.status is SessionStatus.SCHEDULED
    assert "is confirmed" in reply and "Thu Dec 10 at 10:00 AM" in reply


def test_reschedule_requests_a_callback_and_notifies_staff(client, db, runtime, plan, clock, fake_twilio):
    reply, _ = text(client, "R")
    first = sessions(db, plan)[0]
    assert first.status is SessionStatus.CALLBACK_REQUESTED and first.callback_requested_at == clock.now()
    assert "we will call you" in reply
    notices = staff_notices(db)
    assert [n.to_number for n in notices] == [STAFF_NUMBER]
    assert CLIENT_NUMBER not in notices[0].body and "reschedule" in notices[0].body
    work(runtime)
    assert STAFF_NUMBER in [r.form["To"] for r in fake_twilio.sent()]


def test_other_text_goes_to_the_inbox_and_notifies_staff(client, db, plan):
    reply, sid = text(client, "can I bring my sister along?")
    db.expire_all()
    inbound = db.scalars(select(InboundMessage).where(InboundMessage.sid == sid)).one()
    assert inbound.needs_attention
    assert "will get back to you" in reply
    assert len(staff_notices(db)) == 1
    assert {s.status for s in sessions(db, plan)} == {SessionStatus.SCHEDULED}


def test_cancel_is_an_opt_out_and_never_cancels_the_appointment(client, db, plan):
    reply, _ = text(client, "CANCEL")
    db.expire_all()
    assert db.scalars(select(Client).where(Client.phone == CLIENT_NUMBER)).one().opted_out
    assert "unsubscribed" in reply and "To cancel or move an appointment instead, call us" in reply
    assert {s.status for s in sessions(db, plan)} == {SessionStatus.SCHEDULED}
    assert db.get(type(plan), plan.id).status is PlanStatus.ACTIVE
    # The rows are paused, not destroyed: a START later resumes them.
    open_rows = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                       OutboxMessage.status.in_([MessageStatus.PENDING,
                                                                                 MessageStatus.QUEUED]))).all()
    assert open_rows != []


def test_confirm_after_the_last_session_says_so(client, db, plan, clock):
    clock.advance(timedelta(days=200))
    reply, _ = text(client, "C")
    assert "could not find an upcoming appointment" in reply
