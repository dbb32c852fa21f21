"""Staff actions on the outbox: retry, cancel, and the queue summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.exceptions import Conflict
from glowline.store.models import AuditEvent, MessageStatus
from glowline.delivery.report import queue_summary
from glowline.delivery.staff_actions import cancel_message, retry_message
from tests.helpers import fresh, make_client, make_message, schedule
from tests.twilio_server import Scripted
from tests.worker_helpers import advance, work


def test_retry_of_a_failed_message_sends_it_and_is_audited(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21606))  # fixable by the clinic: a retry can help
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    work(runtime)
    row = fresh(db, row)
    assert row.status is MessageStatus.FAILED

    with runtime.transaction() as session:  # as the staff page's request does
        retry_message(session, runtime, session.get(type(row), row.id), actor="staff:ana", now=clock.now())
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.attempts) == (MessageStatus.SENT, 1)
    assert row.provider_sid == fake_twilio.sent()[0].sid
    audit = db.scalars(select(AuditEvent)).one()
    assert (audit.action, audit.actor, audit.message_id) == ("message_retried", "staff:ana", row.id)


def test_retry_refuses_sent_messages_and_opted_out_clients(runtime, db, clinic, clock, fake_twilio):
    person = make_client(db)
    row = make_message(db, clinic, person, due_at=clock.now())
    schedule(runtime, db, [row])
    work(runtime)
    with pytest.raises(Conflict):
        retry_message(db, runtime, fresh(db, row), actor="staff:ana", now=clock.now())
    skipped = make_message(db, clinic, person, due_at=clock.now())
    person.opted_out_at = clock.now()
    db.commit()
    schedule(runtime, db, [skipped])
    work(runtime)
    assert fresh(db, skipped).status is MessageStatus.SUPPRESSED
    with pytest.raises(Conflict, match="opted out"):
        retry_message(db, runtime, fresh(db, skipped), actor="staff:ana", now=clock.now())
    assert len(fake_twilio.attempts()) == 1


def test_cancel_between_enqueue_and_send_sends_nothing(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now() + timedelta(hours=1))
    schedule(runtime, db, [row])
    cancel_message(db, fresh(db, row), actor="staff:ana", now=clock.now())
    db.commit()
    advance(runtime, clock, timedelta(hours=2))
    assert fresh(db, row).status is MessageStatus.CANCELLED
    assert fake_twilio.attempts() == []
    with pytest.raises(Conflict):
        cancel_message(db, fresh(db, row), actor="staff:ana", now=clock.now())
    assert db.scalars(select(AuditEvent.action)).all() == ["message_cancelled"]


def test_queue_summary_counts_and_explains_failures(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21211))
    person = make_client(db)
    failed = make_message(db, clinic, person, due_at=clock.now())
    schedule(runtime, db, [failed])
    work(runtime)
    later = make_message(db, clinic, person, due_at=clock.now() + timedelta(days=3))
    summary = queue_summary(db, clinic.id, clock.now())
    assert summary["counts"]["failed"] == 1 and summary["counts"]["pending"] == 1
    assert summary["next_due_at"] == later.due_at.isoformat()
    assert summary["failures"][0]["id"] == failed.id and summary["failures"][0]["error_code"] == 21211
    assert "21211" in summary["failures"][0]["reason"]


def test_retry_refuses_a_reminder_whose_session_has_passed(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21606))  # fixable by the clinic: a retry can help
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), not_after=clock.now() + timedelta(hours=2))
    schedule(runtime, db, [row])
    work(runtime)
    assert fresh(db, row).status is MessageStatus.FAILED
    clock.advance(timedelta(hours=3))
    with pytest.raises(Conflict, match="too late"):
        retry_message(db, runtime, fresh(db, row), actor="staff:ana", now=clock.now())
    db.rollback()
    assert fresh(db, row).status is MessageStatus.FAILED
    assert len(fake_twilio.attempts()) == 1
