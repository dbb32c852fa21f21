"""The send job end to end: real RQ worker, real Redis, real DB, the real SDK against the fake Twilio."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from glowline.store.models import (Channel, MessageKind, MessageStatus, OutboxMessage, Plan,
                             SessionStatus)
from glowline.plans.service import cancel_plan, move_session
from tests.helpers import (CLIENT_NUMBER, CLINIC_NUMBER, PUBLIC_BASE_URL, fresh, make_client, make_message, schedule,
                           start_plan)
from tests.worker_helpers import advance, run_until, work


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
    assert sent[0].form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status?message_id={row.id}"
    row = fresh(db, row)
    assert (row.status, row.attempts, row.provider_sid) == (MessageStatus.SENT, 1, sent[0].sid)

    # Running the job again (a duplicate enqueue, a reconcile) sends nothing more.
    from workers.jobs import send_message

    assert send_message(row.id) == "already_sent"
    assert len(fake_twilio.attempts()) == 1


@pytest.fixture
def person(db):
    return make_client(db)


def plan_rows(db, plan) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id)
                           .order_by(OutboxMessage.due_at, OutboxMessage.id)))


def test_plan_messages_go_out_at_their_due_times_once_each(runtime, db, clinic, person, clock, fake_twilio):
    plan = start_plan(runtime, db, clinic, person, clock, sessions=3)
    rows = plan_rows(db, plan)
    # Only what is due within the horizon is in Redis; the rest waits in the database.
    assert {r.status for r in rows if r.due_at > clock.now() + timedelta(hours=24)} == {MessageStatus.PENDING}

    until = clock.now() + timedelta(days=20)
    run_until(runtime, clock, until, reconcile=True)
    rows = plan_rows(db, plan)
    due = [r for r in rows if r.due_at <= until]
    later = [r for r in rows if r.due_at > until]
    assert len(due) >= 5 and later
    assert {r.status for r in due} == {MessageStatus.SENT}
    assert {r.status for r in later} <= {MessageStatus.PENDING, MessageStatus.QUEUED}
    by_sid = {r.sid: r for r in fake_twilio.sent()}
    assert len(by_sid) == len(due) == len(fake_twilio.attempts())
    for row in due:
        request = by_sid[row.provider_sid]
        assert request.form["Body"] == row.body
        assert request.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status?message_id={row.id}"
        assert timedelta(0) <= row.sent_at - row.due_at < timedelta(seconds=2)
        assert row.attempts == 1


def test_cancelled_plan_sends_nothing_already_enqueued(runtime, db, clinic, person, clock, fake_twilio):
    plan = start_plan(runtime, db, clinic, person, clock, days=2)
    assert runtime.queue.count + runtime.queue.scheduled_job_registry.count > 0
    cancel_plan(db, plan, actor="staff:test", now=clock.now())
    db.commit()
    run_until(runtime, clock, clock.now() + timedelta(days=5), reconcile=True)
    assert fake_twilio.attempts() == []
    assert {r.status for r in plan_rows(db, plan)} <= {MessageStatus.CANCELLED, MessageStatus.SKIPPED}


def test_rescheduled_session_never_sends_the_old_time(runtime, db, clinic, person, clock, fake_twilio):
    plan = start_plan(runtime, db, clinic, person, clock, days=timedelta(hours=26), sessions=3)
    old_start = plan.sessions[0].starts_at
    old_rows = [r for r in plan_rows(db, plan) if r.kind is MessageKind.REMINDER
                and r.session_id == plan.sessions[0].id and r.status is not MessageStatus.SKIPPED]
    assert [r.status for r in old_rows] == [MessageStatus.QUEUED]  # the 2 h reminder is already in Redis
    with runtime.transaction() as session:
        move_session(session, session.get(Plan, plan.id), 1, old_start + timedelta(days=3), shift_later=True,
                     actor="staff:test", now=clock.now(), catalog=runtime.catalog, links=runtime.links,
                     dispatcher=runtime.dispatcher)
    run_until(runtime, clock, old_start + timedelta(days=4), reconcile=True)
    sent_ids = {r.provider_sid for r in plan_rows(db, plan) if r.provider_sid}
    assert {fresh(db, r).status for r in old_rows} == {MessageStatus.CANCELLED}
    sent = fake_twilio.sent()
    assert {r.sid for r in sent} == sent_ids
    reminders = [r for r in plan_rows(db, plan) if r.kind is MessageKind.REMINDER and r.status is MessageStatus.SENT]
    assert len(reminders) == 2
    assert all(r.due_at > old_start for r in reminders)


def test_opt_out_between_enqueue_and_send_stops_the_message(runtime, db, clinic, person, clock, fake_twilio):
    row = make_message(db, clinic, person, due_at=clock.now() + timedelta(hours=1))
    schedule(runtime, db, [row])
    person.opted_out_at = clock.now()
    db.commit()
    advance(runtime, clock, timedelta(hours=2))
    row = fresh(db, row)
    assert (row.status, row.result, row.attempts) == (MessageStatus.SUPPRESSED, "opted_out", 0)
    assert fake_twilio.attempts() == []


@pytest.mark.parametrize("then, sent", [("declined", False), ("requested", True), ("none", True)])
def test_consent_is_read_at_send_time_from_the_last_decision(runtime, db, clinic, person, clock, fake_twilio,
                                                             then, sent):
    """A plan row goes out only while the client's last decision is consent; a pending request decides nothing."""
    from glowline.compliance.consent import record_declined
    from glowline.store.models import ConsentAction, ConsentEvent

    plan = start_plan(runtime, db, clinic, person, clock, days=2)
    confirmation = next(r for r in plan_rows(db, plan) if r.kind is MessageKind.PLAN_CONFIRMATION)
    clock.advance(timedelta(seconds=1))  # the later record is later by the clock, not only by id
    if then == "declined":
        record_declined(db, client=person, clinic=clinic, wording="Texts?", method="sms_keyword", now=clock.now())
    elif then == "requested":
        db.add(ConsentEvent(client_id=person.id, clinic_id=clinic.id, action=ConsentAction.REQUESTED.value,
                            wording="Texts?", method="staff", scope="clinic", created_at=clock.now()))
    db.commit()
    advance(runtime, clock, timedelta(minutes=1))
    row = fresh(db, confirmation)
    if sent:
        assert row.status is MessageStatus.SENT and len(fake_twilio.sent()) == 1
    else:
        assert (row.status, row.result) == (MessageStatus.SUPPRESSED, "no_consent")
        assert fake_twilio.attempts() == []


def test_stale_plan_version_is_skipped(runtime, db, clinic, person, clock, fake_twilio):
    plan = start_plan(runtime, db, clinic, person, clock, days=2)
    confirmation = next(r for r in plan_rows(db, plan) if r.kind is MessageKind.PLAN_CONFIRMATION)
    db.get(Plan, plan.id).version += 1  # a change that did not re-stamp this row
    db.commit()
    advance(runtime, clock, timedelta(minutes=1))
    row = fresh(db, confirmation)
    assert (row.status, row.result) == (MessageStatus.SKIPPED, "stale_plan_version")
    assert fake_twilio.attempts() == []


def test_message_past_its_useful_time_is_skipped_not_sent_late(runtime, db, clinic, person, clock, fake_twilio):
    row = make_message(db, clinic, person, due_at=clock.now() + timedelta(minutes=5),
                       not_after=clock.now() + timedelta(minutes=30))
    schedule(runtime, db, [row])
    # The workers were down for an hour; the job runs late.
    clock.advance(timedelta(hours=1))
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.result) == (MessageStatus.SKIPPED, "past_useful_time")
    assert fake_twilio.attempts() == []


def test_quiet_hours_defer_to_the_morning_but_staff_notices_follow_staff_hours(runtime, db, clinic, person, clock,
                                                                              fake_twilio):
    # 21:30 in New York: the clients' quiet hours, but inside this clinic's staff hours (until 22:00).
    from datetime import time

    clinic.staff_hours_end = time(22, 0)
    db.commit()
    clock.set(datetime(2026, 12, 2, 2, 30, tzinfo=timezone.utc))
    reminder = make_message(db, clinic, person, due_at=clock.now())
    notice = make_message(db, clinic, None, due_at=clock.now(), kind=MessageKind.STAFF_NOTICE,
                          to="+12125550199")
    schedule(runtime, db, [reminder, notice])
    work(runtime)
    assert [r.form["To"] for r in fake_twilio.sent()] == ["+12125550199"]
    morning = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)  # 08:00 in New York
    assert (fresh(db, reminder).status, fresh(db, reminder).due_at) == (MessageStatus.QUEUED, morning)
    run_until(runtime, clock, morning + timedelta(seconds=1))
    reminder = fresh(db, reminder)
    assert reminder.status is MessageStatus.SENT and reminder.sent_at == morning
    assert reminder.attempts == 1


def test_booking_nudge_is_skipped_when_the_session_is_already_confirmed(runtime, db, clinic, person, clock,
                                                                       fake_twilio):
    plan = start_plan(runtime, db, clinic, person, clock, days=2)
    nudge = next(r for r in plan_rows(db, plan) if r.kind is MessageKind.BOOKING_NUDGE)
    session = db.get(type(plan.sessions[0]), nudge.session_id)
    session.status = SessionStatus.CONFIRMED
    db.commit()
    run_until(runtime, clock, nudge.due_at + timedelta(minutes=1), reconcile=True)
    nudge = fresh(db, nudge)
    assert (nudge.status, nudge.result) == (MessageStatus.SKIPPED, "already_confirmed")
    assert nudge.body not in [r.form["Body"] for r in fake_twilio.sent()]


def test_voice_rows_place_a_call_that_fetches_its_twiml(runtime, db, clinic, person, clock, fake_twilio):
    row = make_message(db, clinic, person, due_at=clock.now(), channel=Channel.VOICE)
    schedule(runtime, db, [row])
    work(runtime)
    calls = fake_twilio.sent("Calls")
    assert len(calls) == 1 and fake_twilio.attempts("Messages") == []
    assert calls[0].form["Url"] == f"{PUBLIC_BASE_URL}/twilio/voice/reminder?message_id={row.id}"
    assert calls[0].form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/voice/status?message_id={row.id}"
    row = fresh(db, row)
    assert (row.status, row.provider_sid) == (MessageStatus.SENT, calls[0].sid)


def test_job_that_runs_early_waits_for_the_due_time(runtime, db, clinic, person, clock, fake_twilio):
    from workers.jobs import send_message

    row = make_message(db, clinic, person, due_at=clock.now() + timedelta(minutes=10))
    schedule(runtime, db, [row])
    assert send_message(row.id) == "early"
    assert fake_twilio.attempts() == []
    advance(runtime, clock, timedelta(minutes=11))
    assert fresh(db, row).status is MessageStatus.SENT
    assert len(fake_twilio.sent()) == 1
