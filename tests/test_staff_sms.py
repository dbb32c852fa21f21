"""The staff PLAN text: a staff phone starts a plan for a finished intake, or gets a correction."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from glowline.store.models import AuditEvent, IntakeStatus, MessageKind, MessageStatus, OutboxMessage, Plan
from glowline.plans.staff_commands import NOT_STAFF_REPLY, handle_staff_text
from tests.helpers import CLINIC_NUMBER, STAFF_NUMBER, in_redis, make_clinic, make_intake, twilio_post


def _text(db, runtime, clinic, body, sender=STAFF_NUMBER):
    reply = handle_staff_text(db, runtime, clinic=clinic, from_number=sender, body=body, now=runtime.clock.now())
    db.commit()
    return reply


def _plans(db):
    return list(db.scalars(select(Plan)))


def test_plan_text_starts_a_plan_and_replies_with_its_dates(db, runtime, clinic):
    intake = make_intake(db, clinic, concern="acne scars")
    reply = _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am x5 every 6w")

    [plan] = _plans(db)
    assert reply.startswith(f"Plan {plan.id} started for intake {intake.id}")
    assert "5 sessions every 6 weeks" in reply
    assert "1) Thu Dec 3 2026, 10:00 AM" in reply
    assert "5) Thu May 20 2027, 10:00 AM" in reply
    assert plan.protocol_id == runtime.catalog.for_condition("acne scars").id
    assert plan.sessions[0].starts_at == datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)
    db.refresh(intake)
    assert intake.status is IntakeStatus.PLANNED
    confirmations = db.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == MessageKind.PLAN_CONFIRMATION)).all()
    assert len(confirmations) == 1 and "Thu Dec 3" in confirmations[0].body
    # The confirmation is due now, so it went to RQ after the commit.
    assert confirmations[0].status is MessageStatus.QUEUED
    assert in_redis(runtime, confirmations[0].id)
    [event] = db.scalars(select(AuditEvent)).all()
    assert event.action == "plan_started" and event.actor.startswith("staff phone")


def test_defaults_come_from_the_protocol(db, runtime, clinic):
    intake = make_intake(db, clinic, concern="fine lines and wrinkles")
    reply = _text(db, runtime, clinic, f"plan {intake.id} 12/3 2:30pm")
    [plan] = _plans(db)
    protocol = runtime.catalog.get(plan.protocol_id)
    assert plan.session_count == protocol.sessions.default
    assert plan.interval_weeks == protocol.interval_weeks.default
    assert "2:30 PM" in reply


@pytest.mark.parametrize("body, expected", [
    ("PLAN {id} dex 3 10am", "could not read a date at 'dex'"),
    ("PLAN {id} dec 3", "add the time"),
    ("PLAN {id} dec 3 10", "write the time as 10am, 10pm or 10:00"),
    ("PLAN {id} feb 30 2027 10am", "2027-02-30 is not a date"),
    ("PLAN {id} 2026-11-20 10am", "is in the past"),
    ("PLAN {id} dec 1 9am", "has passed; add the year (2027)"),
    ("PLAN {id} dec 3 10am x5 every 6 fortnights", "did not understand"),
    ("PLAN {id} dec 3 10am x40", "sessions"),
    ("PLAN {id} dec 3 10am every 2w", "interval_weeks must be between"),
    ("PLAN dec 3 10am", "put the intake number first"),
])
def test_malformed_commands_get_a_correction_and_change_nothing(db, runtime, clinic, body, expected):
    intake = make_intake(db, clinic)
    reply = _text(db, runtime, clinic, body.format(id=intake.id))
    assert reply.startswith("Not started:")
    assert expected in reply
    assert _plans(db) == []
    assert db.scalars(select(OutboxMessage)).all() == []
    db.refresh(intake)
    assert intake.status is IntakeStatus.COMPLETE


def test_unknown_intake_is_refused(db, runtime, clinic):
    reply = _text(db, runtime, clinic, "PLAN 999 dec 3 10am")
    assert reply.startswith("Not started: intake 999 not found")
    assert _plans(db) == []


def test_intake_of_another_clinic_looks_unknown(db, runtime, clinic):
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=("+13105550199",))
    theirs = make_intake(db, other)
    reply = _text(db, runtime, clinic, f"PLAN {theirs.id} dec 3 10am")
    assert reply.startswith(f"Not started: intake {theirs.id} not found")
    assert _plans(db) == []


def test_a_planned_intake_is_not_planned_twice(db, runtime, clinic):
    intake = make_intake(db, clinic)
    first = _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am")
    again = _text(db, runtime, clinic, f"PLAN {intake.id} dec 10 10am")
    [plan] = _plans(db)
    assert first.startswith(f"Plan {plan.id} started")
    assert again.startswith(f"Not started: intake {intake.id} already has plan {plan.id}")


def test_an_unfinished_intake_cannot_start_a_plan(db, runtime, clinic):
    intake = make_intake(db, clinic, status=IntakeStatus.IN_PROGRESS)
    reply = _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am")
    assert "only a finished intake can start a plan" in reply
    assert _plans(db) == []


def test_a_number_that_is_not_this_clinics_staff_cannot_start_plans(db, runtime, clinic):
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=("+13105550199",))
    intake = make_intake(db, clinic)
    assert _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am", sender="+13105550199") == NOT_STAFF_REPLY
    assert _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am", sender=intake.client.phone) == NOT_STAFF_REPLY
    assert _plans(db) == [] and other.id != clinic.id


def _sms(client, body, sender):
    from xml.etree import ElementTree

    params = {"MessageSid": f"SM{abs(hash((body, sender))):032x}"[:34], "AccountSid": "AC" + "0" * 32,
              "From": sender, "To": CLINIC_NUMBER, "Body": body, "NumMedia": "0"}
    response = twilio_post(client, "/twilio/sms", params)
    assert response.status_code == 200
    return "".join("".join(m.itertext()) for m in ElementTree.fromstring(response.data).iter("Message"))


def test_staff_plan_text_through_the_twilio_webhook(client, db, runtime, clinic):
    intake = make_intake(db, clinic)
    reply = _sms(client, f"PLAN {intake.id} dec 3 10am x4", STAFF_NUMBER)
    [plan] = _plans(db)
    assert reply.startswith(f"Plan {plan.id} started for intake {intake.id}")
    assert plan.session_count == 4


def test_plan_text_from_a_non_staff_number_never_starts_a_plan(client, db, runtime, clinic):
    intake = make_intake(db, clinic)
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=("+13105550199",))
    for sender in (intake.client.phone, "+13105550199", "+12125550177"):
        reply = _sms(client, f"PLAN {intake.id} dec 3 10am", sender)
        assert "started" not in reply
    assert _plans(db) == [] and other.id != clinic.id
    db.refresh(intake)
    assert intake.status is IntakeStatus.COMPLETE


def test_other_texts_from_a_staff_phone_get_the_commands_not_an_intake(client, db, runtime, clinic):
    from glowline.store.models import Intake

    reply = _sms(client, "hi, what do I type?", STAFF_NUMBER)
    assert reply.startswith("Staff commands: PLAN <intake> <date> <time>")
    assert db.scalars(select(Intake)).all() == []


def test_a_plan_for_an_opted_out_client_is_refused_and_staff_are_told_why(db, runtime, clinic):
    intake = make_intake(db, clinic)
    intake.client.opted_out_at = runtime.clock.now()
    db.commit()
    reply = _text(db, runtime, clinic, f"PLAN {intake.id} dec 3 10am")
    assert reply.startswith("Not started") and "opted out" in reply and "START" in reply
    assert db.scalars(select(Plan)).all() == []
