"""The plan service on a real database: what it writes, moves and cancels in the outbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from glowline.config import ROOT
from glowline.store.db import build_engine, build_sessionmaker
from glowline.exceptions import Conflict, ValidationError
from glowline.store.models import (AuditEvent, Client, Clinic, ClinicNumber, Intake, IntakeStatus, MessageKind,
                             MessageStatus, OutboxMessage, PlanStatus, SessionStatus)
from glowline.plans.service import cancel_plan, cancel_session, create_plan, move_session
from glowline.catalog.protocols import load_catalog
from glowline.messages.links import PublicLinks
from tests.helpers import give_consent

CATALOG = load_catalog(ROOT / "protocols.json", ROOT / "schemas" / "protocols.schema.json")
LINKS = PublicLinks()
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)  # 10:00 in New York


class RecordingDispatcher:
    """Stands in for the Redis-backed dispatcher: records what it was asked to schedule."""

    def __init__(self):
        self.calls = []

    def schedule(self, db, messages):
        self.calls.append(list(messages))

    def horizon_end(self):
        return NOW + timedelta(hours=24)

    def enqueue_after_commit(self, db, items):
        self.calls.append(list(items))


@pytest.fixture
def db(database_url):
    # tests/conftest.py's `db` needs Redis and the fake Twilio; the plan service needs only the database.
    engine = build_engine(database_url)
    session = build_sessionmaker(engine)()
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def people(db):
    clinic = Clinic(name="Glow Clinic", timezone="America/New_York", contact_phone="+12125550123",
                    quiet_start=time(20), quiet_end=time(8), reminder_offsets_hours=[48, 2], session_minutes=60,
                    templates={})
    clinic.numbers.append(ClinicNumber(number="+12125550100"))
    db.add(clinic)
    db.flush()
    client = Client(clinic_id=clinic.id, phone="+12125550111")
    db.add(client)
    db.flush()
    intake = Intake(clinic_id=clinic.id, client_id=client.id, status=IntakeStatus.COMPLETE)
    db.add(intake)
    give_consent(db, client, clinic)
    db.commit()
    return clinic, client, intake


def start(db, people, first=datetime(2026, 12, 10, 10, tzinfo=NY), now=NOW, protocol="skin-rejuvenation",
          **kwargs):
    clinic, client, intake = people
    return create_plan(db, clinic=clinic, client=client, protocol=CATALOG.get(protocol),
                       catalog_version=CATALOG.version, first_session_at=first, intake=intake, actor="staff:ana",
                       now=now, links=LINKS, **kwargs)


def outbox(db, plan, **filters):
    query = select(OutboxMessage).where(OutboxMessage.plan_id == plan.id).order_by(OutboxMessage.due_at)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.scalars(query))


def test_create_plan_writes_sessions_messages_confirmation_and_audit(db, people):
    dispatcher = RecordingDispatcher()
    plan = start(db, people, sessions=3, dispatcher=dispatcher)
    db.commit()
    assert plan.version == 1 and plan.status is PlanStatus.ACTIVE and plan.session_count == 3
    assert [s.starts_at.astimezone(NY) for s in plan.sessions] == [
        datetime(2026, 12, 10, 10, tzinfo=NY), datetime(2027, 1, 21, 10, tzinfo=NY),
        datetime(2027, 3, 4, 10, tzinfo=NY)]
    rows = outbox(db, plan)
    # 3 sessions x (2 reminders, aftercare, aftercare end) + 2 nudges + the confirmation.
    assert len(rows) == 15
    # Only what falls inside the dispatcher's horizon is queued (the confirmation); the rest waits in the outbox.
    assert {r.kind for r in rows if r.status is MessageStatus.QUEUED} == {MessageKind.PLAN_CONFIRMATION}
    assert {r.status for r in rows if r.kind is not MessageKind.PLAN_CONFIRMATION} == {MessageStatus.PENDING}
    assert {(r.plan_version, r.to_number, r.from_number) for r in rows} == {(1, "+12125550111", "+12125550100")}
    [confirmation] = outbox(db, plan, kind=MessageKind.PLAN_CONFIRMATION)
    assert confirmation.due_at == NOW and "Thu Dec 10 at 10:00 AM" in confirmation.body
    reminders = outbox(db, plan, kind=MessageKind.REMINDER)
    assert all(r.not_after == r.session.starts_at and r.due_at < r.not_after for r in reminders)
    assert people[2].status is IntakeStatus.PLANNED
    [audit] = db.scalars(select(AuditEvent)).all()
    assert (audit.action, audit.actor, audit.plan_id) == ("plan_started", "staff:ana", plan.id)
    [[(confirmation_id, due)]] = dispatcher.calls
    assert (confirmation_id, due) == (confirmation.id, NOW)


def test_past_due_messages_are_skipped_not_sent_late(db, people):
    first = NOW + timedelta(hours=8)  # 18:00 in New York today
    plan = start(db, people, first=first)
    [skipped] = outbox(db, plan, status=MessageStatus.SKIPPED)
    assert skipped.kind is MessageKind.REMINDER and skipped.session.number == 1
    assert skipped.due_at == first - timedelta(hours=48)
    two_hour = [r for r in outbox(db, plan, kind=MessageKind.REMINDER) if r.session.number == 1
                and r.status is MessageStatus.PENDING]
    assert [r.due_at for r in two_hour] == [first - timedelta(hours=2)]


def test_confirmation_started_at_night_waits_for_the_morning(db, people):
    night = datetime(2026, 12, 1, 22, tzinfo=NY).astimezone(timezone.utc)
    plan = start(db, people, now=night)
    [confirmation] = outbox(db, plan, kind=MessageKind.PLAN_CONFIRMATION)
    assert confirmation.due_at == datetime(2026, 12, 2, 8, tzinfo=NY)


def test_first_session_in_the_past_or_out_of_range_is_refused(db, people):
    with pytest.raises(ValidationError):
        start(db, people, first=NOW - timedelta(hours=1))
    with pytest.raises(ValidationError, match="between 3 and 6"):
        start(db, people, sessions=7)


def test_move_session_redoes_its_messages_and_bumps_the_version(db, people):
    plan = start(db, people, sessions=3)
    db.commit()
    _s1, s2, s3 = plan.sessions
    old_s2 = outbox(db, plan, session_id=s2.id)
    s3_reminders = {(r.id, r.due_at) for r in outbox(db, plan, session_id=s3.id, kind=MessageKind.REMINDER)}
    s2.status = SessionStatus.CONFIRMED
    dispatcher = RecordingDispatcher()
    new_start = datetime(2027, 1, 25, 14, tzinfo=NY)
    # Session 3 then comes 5 weeks after session 2, inside the 6-8 week rule only when staff confirm.
    move_session(db, plan, 2, new_start, shift_later=False, actor="staff:ana", now=NOW, catalog=CATALOG, links=LINKS,
                 dispatcher=dispatcher, confirm=True)
    db.commit()
    assert plan.version == 2
    assert s2.starts_at == new_start and s2.status is SessionStatus.SCHEDULED
    assert s3.starts_at.astimezone(NY) == datetime(2027, 3, 4, 10, tzinfo=NY)
    # Every old row of session 2 is cancelled and left on the old version, so a queued job sees it is stale.
    assert {(r.status, r.plan_version) for r in old_s2} == {(MessageStatus.CANCELLED, 1)}
    new_s2 = outbox(db, plan, session_id=s2.id, status=MessageStatus.PENDING)
    assert {r.kind for r in new_s2} == {MessageKind.REMINDER, MessageKind.AFTERCARE, MessageKind.AFTERCARE_END,
                                         MessageKind.BOOKING_NUDGE, MessageKind.SESSION_MOVED}
    assert any("Mon Jan 25 at 2:00 PM" in r.body for r in new_s2)
    # Session 3 keeps its reminder rows (re-stamped); only its nudge, timed from session 2, is redone.
    kept = outbox(db, plan, session_id=s3.id, kind=MessageKind.REMINDER)
    assert {(r.id, r.due_at) for r in kept} == s3_reminders
    assert {r.plan_version for r in kept} == {2}
    nudges = outbox(db, plan, session_id=s3.id, kind=MessageKind.BOOKING_NUDGE)
    assert sorted(r.status for r in nudges) == [MessageStatus.CANCELLED, MessageStatus.PENDING]
    assert {r.plan_version for r in outbox(db, plan, status=MessageStatus.PENDING)} == {2}
    assert [m.session_id for m in dispatcher.calls[0]].count(s3.id) == 1
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "session_moved")).one()
    assert audit.details["session"] == 2 and audit.details["version"] == 2


def test_move_with_shift_later_keeps_the_interval_in_wall_clock_time(db, people):
    plan = start(db, people, sessions=4)
    db.commit()
    move_session(db, plan, 2, datetime(2027, 2, 4, 11, tzinfo=NY), shift_later=True, actor="staff:ana", now=NOW,
                 catalog=CATALOG, links=LINKS)
    db.commit()
    starts = [s.starts_at.astimezone(NY) for s in plan.sessions]
    assert starts == [datetime(2026, 12, 10, 10, tzinfo=NY), datetime(2027, 2, 4, 11, tzinfo=NY),
                      datetime(2027, 3, 18, 11, tzinfo=NY), datetime(2027, 4, 29, 11, tzinfo=NY)]
    for session in plan.sessions[1:]:
        pending = outbox(db, plan, session_id=session.id, status=MessageStatus.PENDING)
        reminder = [r for r in pending if r.kind is MessageKind.REMINDER and r.due_at.astimezone(NY).hour == 11]
        assert reminder, f"session {session.number} has no 48h reminder at its new time"


def test_a_sent_message_is_not_sent_again_when_a_neighbour_moves(db, people):
    plan = start(db, people, sessions=3)
    db.commit()
    s3 = plan.sessions[2]
    [nudge] = outbox(db, plan, session_id=s3.id, kind=MessageKind.BOOKING_NUDGE)
    nudge.status = MessageStatus.SENT
    move_session(db, plan, 2, datetime(2027, 1, 22, 10, tzinfo=NY), shift_later=False, actor="a", now=NOW,
                 catalog=CATALOG, links=LINKS, confirm=True)
    assert [r.status for r in outbox(db, plan, session_id=s3.id, kind=MessageKind.BOOKING_NUDGE)] == [
        MessageStatus.SENT]


def test_moves_that_break_the_order_are_refused(db, people):
    plan = start(db, people, sessions=3)
    with pytest.raises(ValidationError, match="before session 1 ends"):
        move_session(db, plan, 2, datetime(2026, 12, 10, 10, 30, tzinfo=NY), shift_later=False, actor="a",
                     now=NOW, catalog=CATALOG, links=LINKS)
    with pytest.raises(ValidationError, match="shift the later sessions"):
        move_session(db, plan, 2, datetime(2027, 3, 4, 9, 30, tzinfo=NY), shift_later=False, actor="a",
                     now=NOW, catalog=CATALOG, links=LINKS)
    assert plan.version == 1


def test_cancel_session_cancels_only_its_pending_messages(db, people):
    plan = start(db, people, sessions=3)
    db.commit()
    s2 = plan.sessions[1]
    cancel_session(db, plan, 2, actor="staff:ana", now=NOW)
    db.commit()
    assert plan.version == 2 and s2.status is SessionStatus.CANCELLED
    assert {r.status for r in outbox(db, plan, session_id=s2.id)} == {MessageStatus.CANCELLED}
    others = [r for r in outbox(db, plan) if r.session_id != s2.id]
    assert {(r.status, r.plan_version) for r in others} == {(MessageStatus.PENDING, 2)}
    with pytest.raises(Conflict):
        cancel_session(db, plan, 2, actor="staff:ana", now=NOW)


def test_cancel_plan_cancels_open_messages_and_leaves_sent_ones(db, people):
    plan = start(db, people, sessions=3)
    db.commit()
    [confirmation] = outbox(db, plan, kind=MessageKind.PLAN_CONFIRMATION)
    confirmation.status = MessageStatus.SENT
    cancel_plan(db, plan, actor="staff:ana", now=NOW)
    db.commit()
    assert plan.status is PlanStatus.CANCELLED and plan.version == 2
    statuses = {r.status for r in outbox(db, plan)}
    assert statuses == {MessageStatus.CANCELLED, MessageStatus.SENT}
    assert {s.status for s in plan.sessions} == {SessionStatus.CANCELLED}
    cancel_plan(db, plan, actor="staff:ana", now=NOW)
    assert plan.version == 2
    with pytest.raises(Conflict):
        move_session(db, plan, 1, NOW + timedelta(days=3), shift_later=False, actor="a", now=NOW, catalog=CATALOG, links=LINKS)
