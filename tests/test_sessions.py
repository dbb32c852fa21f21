"""Sessions as they really happen: moves reach the client, attendance gates aftercare, R holds, plans complete."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from glowline.exceptions import Conflict, NeedsConfirmation
from glowline.plans.attendance import mark_attended, mark_no_show
from glowline.plans.holds import release_session
from glowline.plans.lifecycle import complete_due_plans
from glowline.plans.moves import interval_breaks
from glowline.plans.service import move_session
from glowline.store.models import (AuditEvent, MessageKind, MessageStatus, OutboxMessage, Plan, PlanStatus,
                                   SessionStatus)
from tests.helpers import CLIENT_NUMBER, CLINIC_NUMBER, STAFF_NUMBER, make_client, start_plan, twilio_post
from tests.worker_helpers import advance, run_until

NY = ZoneInfo("America/New_York")
_sids = count(1)


def rows(db, plan, **filters) -> list[OutboxMessage]:
    db.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.plan_id == plan.id).order_by(OutboxMessage.due_at,
                                                                                    OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.scalars(query))


def text(http, body, sender=CLIENT_NUMBER):
    params = {"MessageSid": f"SM{next(_sids):032d}", "From": sender, "To": CLINIC_NUMBER, "Body": body,
              "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
    response = twilio_post(http, "/twilio/sms", params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def plan(runtime, db, clinic, clock):
    # Skin rejuvenation, 3 sessions 6 weeks apart from Thu Dec 10 10:00 New York.
    return start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)


def move(db, runtime, plan, number, when, **kwargs):
    kwargs.setdefault("shift_later", False)
    move_session(db, db.get(Plan, plan.id), number, when, actor="staff:test", now=runtime.clock.now(),
                 catalog=runtime.catalog, links=runtime.links, dispatcher=runtime.dispatcher, **kwargs)
    db.commit()


# --- moves -------------------------------------------------------------------------------------------


def test_a_move_texts_the_client_the_new_day_and_time_once(runtime, db, plan, clock, fake_twilio):
    move(db, runtime, plan, 3, datetime(2027, 3, 9, 15, tzinfo=NY))
    [notice] = rows(db, plan, kind=MessageKind.SESSION_MOVED)
    assert "moved to Tue Mar 9 at 3:00 PM" in notice.body
    assert notice.session.number == 3 and notice.due_at == clock.now()
    advance(runtime, clock, timedelta(minutes=5), reconcile=True)
    bodies = [r.form["Body"] for r in fake_twilio.sent()]
    assert bodies.count(notice.body) == 1


def test_a_move_with_shift_later_says_the_later_sessions_moved_too(runtime, db, plan):
    move(db, runtime, plan, 2, datetime(2027, 1, 28, 11, tzinfo=NY), shift_later=True)
    db.expire_all()
    starts = [s.starts_at.astimezone(NY) for s in db.get(Plan, plan.id).sessions]
    assert starts[1:] == [datetime(2027, 1, 28, 11, tzinfo=NY), datetime(2027, 3, 11, 11, tzinfo=NY)]
    [notice] = rows(db, plan, kind=MessageKind.SESSION_MOVED)
    assert "Thu Jan 28 at 11:00 AM" in notice.body and "later appointments move with it" in notice.body


def test_an_unsent_confirmation_is_rewritten_instead_of_a_move_notice(runtime, db, clinic, clock):
    # A plan started at night: its confirmation waits for the morning, so the client never saw the old date.
    clock.set(datetime(2026, 12, 1, 22, tzinfo=NY))
    plan = start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)
    move(db, runtime, plan, 1, datetime(2026, 12, 9, 10, tzinfo=NY))
    assert rows(db, plan, kind=MessageKind.SESSION_MOVED) == []
    pending = [r for r in rows(db, plan, kind=MessageKind.PLAN_CONFIRMATION)
               if r.status in (MessageStatus.PENDING, MessageStatus.QUEUED)]
    assert len(pending) == 1 and "Wed Dec 9" in pending[0].body


def test_a_move_too_close_for_the_48h_reminder_sends_it_now(runtime, db, plan, clock):
    soon = clock.now() + timedelta(hours=30)
    move(db, runtime, plan, 1, soon)
    first = db.get(Plan, plan.id).sessions[0]
    reminders = rows(db, plan, kind=MessageKind.REMINDER, session_id=first.id)
    live = [r for r in reminders if r.status in (MessageStatus.PENDING, MessageStatus.QUEUED)]
    assert sorted(r.due_at for r in live) == [clock.now(), soon - timedelta(hours=2)]
    assert "Reply C to confirm" in live[0].body


def test_a_move_under_two_hours_away_skips_the_48h_reminder(runtime, db, plan, clock):
    move(db, runtime, plan, 1, clock.now() + timedelta(minutes=110))
    first = db.get(Plan, plan.id).sessions[0]
    live = [r for r in rows(db, plan, kind=MessageKind.REMINDER, session_id=first.id)
            if r.status in (MessageStatus.PENDING, MessageStatus.QUEUED)]
    assert live == []


def test_a_move_outside_the_protocol_interval_needs_confirmation_and_names_the_rule(runtime, db, plan):
    with pytest.raises(NeedsConfirmation) as refused:
        move(db, runtime, plan, 2, datetime(2026, 12, 31, 10, tzinfo=NY))
    assert refused.value.rules == [
        "session 2 would be 3 weeks after session 1, less than Skin rejuvenation allows (between 6 and 8 weeks)",
        "session 3 would be 9 weeks after session 2, more than Skin rejuvenation allows (between 6 and 8 weeks)"]
    db.rollback()
    assert db.get(Plan, plan.id).version == 1
    move(db, runtime, plan, 2, datetime(2026, 12, 31, 10, tzinfo=NY), confirm=True)
    [audit] = db.scalars(select(AuditEvent).where(AuditEvent.action == "session_moved")).all()
    assert len(audit.details["interval_breaks"]) == 2


@pytest.mark.parametrize("gap_days, broken", [(41, True), (42, False), (56, False), (57, True)])
def test_interval_rule_counts_calendar_days_in_the_clinic_zone(runtime, gap_days, broken):
    protocol = runtime.catalog.get("skin-rejuvenation")
    first = datetime(2027, 1, 7, 10, tzinfo=NY)
    # 11:00 on the last allowed day, across the March DST change, is still inside.
    second = datetime.combine((first + timedelta(days=gap_days)).date(), datetime.min.time().replace(hour=11),
                              tzinfo=NY)
    assert bool(interval_breaks(protocol, [(1, first), (2, second)], {2}, "America/New_York")) is broken


def test_a_stale_job_from_before_the_move_sends_nothing(runtime, db, clinic, clock, fake_twilio):
    from workers.jobs import send_message

    plan = start_plan(runtime, db, clinic, make_client(db), clock, days=timedelta(hours=26), sessions=3)
    [old] = [r for r in rows(db, plan, kind=MessageKind.REMINDER) if r.status is MessageStatus.QUEUED]
    move(db, runtime, plan, 1, clock.now() + timedelta(days=5), shift_later=True)
    assert send_message(old.id) == "already_cancelled"
    run_until(runtime, clock, old.due_at + timedelta(minutes=1), reconcile=True)
    assert old.body not in [r.form["Body"] for r in fake_twilio.sent()]


def test_api_move_asks_for_confirmation_then_moves(client, db, runtime, clinic, plan):
    from glowline.clinics.service import create_api_token

    _, token = create_api_token(db, clinic, "booking")
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/plans/{plan.id}/sessions/2"
    refused = client.patch(path, json={"starts_at": "2026-12-31T10:00:00-05:00"}, headers=headers)
    assert refused.status_code == 409 and refused.json["needs_confirmation"] is True
    assert refused.json["rules"][0].startswith("session 2 would be 3 weeks after session 1")
    moved = client.patch(path, json={"starts_at": "2026-12-31T10:00:00-05:00", "confirm": True}, headers=headers)
    assert moved.status_code == 200 and moved.json["version"] == 2
    assert "session_moved" in [m["kind"] for m in moved.json["messages"]]


def test_staff_move_text_through_the_webhook(client, db, runtime, plan):
    reply = text(client, f"MOVE {plan.id} 3 mar 9 3pm", sender=STAFF_NUMBER)
    assert reply.count("moved to Tue Mar 9 2027, 3:00 PM") == 1, reply
    [notice] = rows(db, plan, kind=MessageKind.SESSION_MOVED)
    assert "moved to Tue Mar 9 at 3:00 PM" in notice.body
    refused = text(client, f"MOVE {plan.id} 3 feb 2 10am", sender=STAFF_NUMBER)
    assert "Not moved" in refused and "less than Skin rejuvenation allows" in refused and "OK" in refused
    assert "moved to" in text(client, f"MOVE {plan.id} 3 feb 2 10am ok", sender=STAFF_NUMBER)
    assert "Not done: plan 999 not found" in text(client, "MOVE 999 2 jan 26 3pm", sender=STAFF_NUMBER)
    assert "did not understand 'soon'" in text(client, f"MOVE {plan.id} 3 mar 9 3pm soon", sender=STAFF_NUMBER)
    shifted = text(client, f"MOVE {plan.id} 2 jan 28 11am shift", sender=STAFF_NUMBER)
    assert "and the later sessions with it" in shifted


# --- attendance --------------------------------------------------------------------------------------


def _at_first_session(runtime, clock, plan, *, minutes=30):
    clock.set(plan.sessions[0].starts_at + timedelta(minutes=minutes))


def test_no_show_before_the_end_means_no_aftercare_one_rebook_offer_and_staff_told(runtime, db, plan, clock,
                                                                                  fake_twilio):
    run_until(runtime, clock, plan.sessions[0].starts_at + timedelta(minutes=20), reconcile=True)
    mark_no_show(db, runtime, db.get(Plan, plan.id), 1, actor="staff:test", now=clock.now())
    db.commit()
    with pytest.raises(Conflict):
        mark_no_show(db, runtime, db.get(Plan, plan.id), 1, actor="staff:test", now=clock.now())
    db.rollback()
    run_until(runtime, clock, clock.now() + timedelta(days=10), reconcile=True)
    first = db.get(Plan, plan.id).sessions[0]
    sent = fake_twilio.sent()
    client_texts = [r.form["Body"] for r in sent if r.form["To"] == CLIENT_NUMBER]
    assert not any("aftercare" in b or "avoid" in b for b in client_texts)
    missed = [b for b in client_texts if "we missed you" in b]
    assert len(missed) == 1 and "We will call you to book a new time" in missed[0]
    staff = [r.form["Body"] for r in sent if r.form["To"] == STAFF_NUMBER]
    assert any(f"plan {plan.id} session 1 was marked no-show. Please call the client" in b for b in staff)
    kinds = {r.kind: r.status for r in rows(db, plan, session_id=first.id)}
    assert kinds[MessageKind.AFTERCARE] is MessageStatus.CANCELLED
    assert kinds[MessageKind.AFTERCARE_END] is MessageStatus.CANCELLED
    second = db.get(Plan, plan.id).sessions[1]
    assert {r.status for r in rows(db, plan, session_id=second.id, kind=MessageKind.BOOKING_NUDGE)} == {
        MessageStatus.CANCELLED}


def test_attended_keeps_aftercare_end_note_and_nudge(runtime, db, plan, clock, fake_twilio):
    run_until(runtime, clock, plan.sessions[0].starts_at + timedelta(minutes=20), reconcile=True)
    mark_attended(db, db.get(Plan, plan.id), 1, actor="staff:test", now=clock.now(), dispatcher=runtime.dispatcher)
    db.commit()
    second = db.get(Plan, plan.id).sessions[1]
    run_until(runtime, clock, second.starts_at - timedelta(days=3), reconcile=True)
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.ATTENDED
    statuses = {r.kind: r.status for r in rows(db, plan, session_id=first.id)}
    assert statuses[MessageKind.AFTERCARE] is MessageStatus.SENT
    assert statuses[MessageKind.AFTERCARE_END] is MessageStatus.SENT
    assert {r.status for r in rows(db, plan, session_id=second.id, kind=MessageKind.BOOKING_NUDGE)} == {
        MessageStatus.SENT}


def test_require_attended_holds_aftercare_until_marked(runtime, db, clinic, clock, fake_twilio):
    clinic.require_attended = True
    db.commit()
    plan = start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)
    first = plan.sessions[0]
    held = rows(db, plan, session_id=first.id, kind=MessageKind.AFTERCARE)
    assert [r.status for r in held] == [MessageStatus.HELD]
    run_until(runtime, clock, first.starts_at + timedelta(hours=3), reconcile=True)
    assert not any("avoid" in r.form["Body"] for r in fake_twilio.sent())
    mark_attended(db, db.get(Plan, plan.id), 1, actor="staff:test", now=clock.now(), dispatcher=runtime.dispatcher)
    db.commit()
    advance(runtime, clock, timedelta(minutes=1), reconcile=True)
    [aftercare] = rows(db, plan, session_id=first.id, kind=MessageKind.AFTERCARE)
    assert aftercare.status is MessageStatus.SENT
    assert sum("avoid" in r.form["Body"] for r in fake_twilio.sent()) == 1


def test_staff_done_and_noshow_texts(client, db, runtime, plan, clock):
    assert "has not started yet" in text(client, f"DONE {plan.id} 1", sender=STAFF_NUMBER)
    clock.set(plan.sessions[1].starts_at + timedelta(minutes=10))
    assert text(client, f"DONE {plan.id} 1", sender=STAFF_NUMBER).count("session 1 marked attended") == 1
    assert "marked no-show" in text(client, f"NOSHOW {plan.id} 2", sender=STAFF_NUMBER)
    assert "cannot be marked again" in text(client, f"NOSHOW {plan.id} 2", sender=STAFF_NUMBER)
    db.expire_all()
    assert [s.status for s in db.get(Plan, plan.id).sessions] == [
        SessionStatus.ATTENDED, SessionStatus.NO_SHOW, SessionStatus.SCHEDULED]


# --- R holds the session -----------------------------------------------------------------------------


def test_r_holds_the_sessions_reminders_until_staff_release_it(client, db, runtime, plan, clock, fake_twilio):
    assert "we will call you" in text(client, "R")
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.CALLBACK_REQUESTED
    reminders = rows(db, plan, session_id=first.id, kind=MessageKind.REMINDER)
    assert {r.status for r in reminders} == {MessageStatus.HELD}
    run_until(runtime, clock, first.starts_at - timedelta(hours=24), reconcile=True)
    assert not any("reminder of your appointment" in r.form["Body"] for r in fake_twilio.sent())
    release_session(db, db.get(Plan, plan.id), 1, actor="staff:test", now=clock.now(),
                    dispatcher=runtime.dispatcher)
    db.commit()
    run_until(runtime, clock, first.starts_at - timedelta(hours=1), reconcile=True)
    bodies = [r.form["Body"] for r in fake_twilio.sent() if r.form["To"] == CLIENT_NUMBER]
    assert sum("reminder of your appointment" in b for b in bodies) == 1
    assert sum("see you on" in b for b in bodies) == 1


def test_r_then_a_move_replaces_the_held_reminders(client, db, runtime, plan):
    text(client, "R")
    db.expire_all()
    move(db, runtime, plan, 1, datetime(2026, 12, 17, 10, tzinfo=NY), shift_later=True)
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.SCHEDULED
    statuses = {r.status for r in rows(db, plan, session_id=first.id, kind=MessageKind.REMINDER)}
    assert MessageStatus.HELD not in statuses and MessageStatus.CANCELLED in statuses


# --- plan lifecycle ----------------------------------------------------------------------------------


def test_a_plan_completes_when_its_last_aftercare_window_ends_and_then_sends_nothing(runtime, db, plan, clock,
                                                                                    fake_twilio):
    last = plan.sessions[-1]
    run_until(runtime, clock, last.starts_at + timedelta(hours=40), reconcile=True)
    assert db.get(Plan, plan.id).status is PlanStatus.ACTIVE
    run_until(runtime, clock, last.starts_at + timedelta(hours=60), reconcile=True)
    db.expire_all()
    done = db.get(Plan, plan.id)
    assert done.status is PlanStatus.COMPLETED and done.completed_at is not None
    end_notes = rows(db, plan, session_id=last.id, kind=MessageKind.AFTERCARE_END)
    assert [r.status for r in end_notes] == [MessageStatus.SENT]
    assert complete_due_plans(db, catalog=runtime.catalog, now=clock.now()) == []
    with pytest.raises(Conflict):
        mark_attended(db, done, 3, actor="staff:test", now=clock.now())


# --- staff surfaces ----------------------------------------------------------------------------------


def test_api_marks_attendance_and_releases_a_held_session(client, db, runtime, clinic, plan, clock):
    from glowline.clinics.service import create_api_token

    _, token = create_api_token(db, clinic, "booking")
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/plans/{plan.id}/sessions"
    text(client, "R")
    released = client.post(f"{base}/1/release", headers=headers)
    assert released.status_code == 200 and released.json["sessions"][0]["status"] == "scheduled"
    assert "held" not in {m["status"] for m in released.json["messages"]}
    assert client.post(f"{base}/1/release", headers=headers).status_code == 409
    assert client.post(f"{base}/1/attended", headers=headers).status_code == 409  # not started yet
    clock.set(plan.sessions[0].starts_at + timedelta(minutes=5))
    attended = client.post(f"{base}/1/attended", headers=headers, json={"note": "came in"})
    assert attended.status_code == 200 and attended.json["sessions"][0]["status"] == "attended"
    assert attended.json["sessions"][0]["attendance_at"] == clock.now().isoformat()
    assert client.post(f"{base}/1/no-show", headers=headers).status_code == 409
    assert client.post(f"{base}/1/attended", headers=headers, json={"colour": "x"}).json["field"] == "colour"
    assert client.post(f"{base}/1/forgot", headers=headers).json["field"] == "action"


def test_plan_page_buttons_mark_a_visit_and_move_a_session(client, db, runtime, clinic, plan, clock):
    import re

    from glowline.clinics.service import add_staff_user

    add_staff_user(db, clinic, "ana", "a long enough password")
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"username": "ana", "password": "a long enough password", "csrf_token": token})
    page = client.get(f"/staff/plans/{plan.id}").get_data(as_text=True)
    assert "Attended" not in page and 'name="starts_at"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    moved = client.post(f"/staff/plans/{plan.id}/sessions/3/move", follow_redirects=True,
                        data={"starts_at": "2027-03-09T15:00", "csrf_token": token})
    assert "Session 3 moved" in moved.get_data(as_text=True)
    refused = client.post(f"/staff/plans/{plan.id}/sessions/3/move", follow_redirects=True,
                          data={"starts_at": "2027-02-02T15:00", "csrf_token": token}).get_data(as_text=True)
    assert "not moved" in refused and "move anyway" in refused
    clock.set(plan.sessions[0].starts_at + timedelta(minutes=5))
    page = client.get("/staff/login").get_data(as_text=True)  # the login expired over nine days
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"username": "ana", "password": "a long enough password", "csrf_token": token})
    page = client.get(f"/staff/plans/{plan.id}").get_data(as_text=True)
    assert "No-show" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/staff/plans/{plan.id}/sessions/1/attended", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Session 1: marked attended" in done
    db.expire_all()
    assert db.get(Plan, plan.id).sessions[0].status is SessionStatus.ATTENDED
