"""Every example a staff text offers works when sent back as it is: valid for the client's protocol, in the future."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from glowline.clinics.hours import set_calendar
from glowline.intake.notice import notify_staff, plan_example
from glowline.plans.plan_text import parse_plan_text
from glowline.plans.start import start_plan
from glowline.plans.staff_commands import handle_staff_text
from glowline.store.models import IntakeStatus, OutboxMessage, Plan, PlanStatus
from tests.helpers import STAFF_NUMBER, make_intake

PROTOCOLS = json.loads((Path(__file__).parent.parent / "protocols.json").read_text())["protocols"]
PROTOCOL_IDS = [p["id"] for p in PROTOCOLS]
# A protocol no intake concern leads to (staff choose it by hand) has no notice of its own.
FROM_A_CONCERN = [p["id"] for p in PROTOCOLS if p["conditions"]]


def _example_reply(db, runtime, clinic, intake) -> str:
    [notice] = notify_staff(db, runtime, intake=intake, now=runtime.clock.now())
    db.commit()
    return notice.body.split("To book, reply: ")[1]


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_the_example_for_every_protocol_reads_and_starts_a_plan_within_its_ranges(db, runtime, clinic, protocol_id):
    protocol = runtime.catalog.get(protocol_id)
    now = runtime.clock.now()
    intake = make_intake(db, clinic, concern=protocol.conditions[0] if protocol.conditions else None)
    request = parse_plan_text(f"PLAN {intake.id} {plan_example(now, clinic.timezone, protocol)}", tz=clinic.timezone,
                              now=now, schema=runtime.schemas["plan_request"])
    assert request.sessions in protocol.sessions and request.interval_weeks in protocol.interval_weeks
    plan = start_plan(db, runtime, clinic=clinic, intake_id=intake.id, first_session_at=request.first_session_at,
                      sessions=request.sessions, interval_weeks=request.interval_weeks, protocol_id=protocol.id,
                      actor="staff:test", now=now)
    db.commit()
    assert plan.status is PlanStatus.ACTIVE and plan.session_count == protocol.sessions.default
    assert plan.sessions[0].starts_at > now


@pytest.mark.parametrize("protocol_id", FROM_A_CONCERN)
def test_the_notice_example_starts_a_valid_plan_for_every_protocol(db, runtime, clinic, protocol_id):
    protocol = runtime.catalog.get(protocol_id)
    intake = make_intake(db, clinic, concern=protocol.conditions[0])
    command = _example_reply(db, runtime, clinic, intake)
    assert command.startswith(f"PLAN {intake.id} ")
    reply = handle_staff_text(db, runtime, clinic=clinic, from_number=STAFF_NUMBER, body=command,
                              now=runtime.clock.now())
    db.commit()
    assert reply.startswith("Plan ") and "Not started" not in reply, reply
    plan = db.scalar(select(Plan).where(Plan.intake_id == intake.id))
    assert plan is not None and plan.status is PlanStatus.ACTIVE and plan.protocol_id == protocol.id
    assert plan.session_count in protocol.sessions and plan.interval_weeks in protocol.interval_weeks
    assert plan.sessions[0].starts_at > runtime.clock.now()
    db.refresh(intake)
    assert intake.status is IntakeStatus.PLANNED


def test_pigmentation_is_offered_its_own_spacing_not_six_weeks(db, runtime, clinic):
    protocol = runtime.catalog.for_condition("pigmentation")
    intake = make_intake(db, clinic, concern="pigmentation")
    command = _example_reply(db, runtime, clinic, intake)
    assert f"every {protocol.interval_weeks.default}w" in command and "every 6w" not in command


def test_the_example_falls_inside_opening_hours(db, runtime, clinic):
    # Open Tuesdays and Thursdays in the afternoon only: "10am a week on" would be closed.
    set_calendar(db, clinic, hours="tue 13:00-17:00; thu 13:00-17:00", capacity=1)
    db.commit()
    intake = make_intake(db, clinic, concern="acne scars")
    command = _example_reply(db, runtime, clinic, intake)
    reply = handle_staff_text(db, runtime, clinic=clinic, from_number=STAFF_NUMBER, body=command,
                              now=runtime.clock.now())
    db.commit()
    assert reply.startswith("Plan "), reply
    first = db.scalar(select(Plan).where(Plan.intake_id == intake.id)).sessions[0].starts_at
    local = first.astimezone(ZoneInfo(clinic.timezone))
    assert local.weekday() in (1, 3) and 13 <= local.hour < 17
    assert first >= runtime.clock.now() + timedelta(days=7)


def test_an_example_in_late_december_reads_as_next_january(db, runtime, clinic, clock):
    clock.set(datetime(2026, 12, 28, 15, 0, tzinfo=timezone.utc))
    intake = make_intake(db, clinic, concern="acne scars")
    command = _example_reply(db, runtime, clinic, intake)
    assert " jan 4 10am " in command
    reply = handle_staff_text(db, runtime, clinic=clinic, from_number=STAFF_NUMBER, body=command,
                              now=runtime.clock.now())
    db.commit()
    assert "Mon Jan 4 2027" in reply, reply
    assert db.scalars(select(OutboxMessage)).all()
