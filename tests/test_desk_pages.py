"""Front-desk staff pages without a browser: clients, conversation, inbox, replies, today, session actions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from glowline.clinics.service import add_staff_user

from glowline.store.models import AuditEvent, MessageKind, OutboxMessage, SessionStatus
from tests.helpers import PASSWORD, make_clinic, make_plan
from tests.helpers import csrf as _csrf
from tests.helpers import confirmation_already_sent, person
from tests.test_staff_pages import _token


@pytest.fixture
def logged_in(client, db, clinic):
    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={"username": "ana", "password": PASSWORD, "csrf_token": _csrf(page)})
    assert response.status_code == 302
    return client


def test_every_page_shows_the_inbox_count(logged_in, db, clinic):
    person(db, clinic, "+12125550123", "Jessica", text="Can I move to Friday instead?")
    for path in ("/staff/", "/staff/clients", "/staff/today", "/staff/queue", "/staff/inbox"):
        html = logged_in.get(path).get_data(as_text=True)
        assert 'class="count-badge" aria-label="1 waiting">1<' in html, path


def test_client_page_shows_name_phone_consent_answers_and_conversation(logged_in, db, clinic):
    jess = person(db, clinic, "+12125550123", "Jessica", text="is it safe while breastfeeding?")
    html = logged_in.get(f"/staff/clients/{jess.id}").get_data(as_text=True)
    assert "Jessica" in html and "(212) 555-0123" in html
    assert "screening: pregnant" in html and "acne scars" in html
    assert "is it safe while breastfeeding?" in html
    assert "Reply to Jessica" in html


def test_other_clinics_client_page_is_404(logged_in, db, clinic):
    other = make_clinic(db, name="Other", number="+13105550100", staff=())
    stranger = person(db, other, "+13105550111", "Olivia")
    assert logged_in.get(f"/staff/clients/{stranger.id}").status_code == 404


def test_reply_from_the_inbox_queues_a_text_and_marks_it_done(logged_in, db, clinic):
    jess = person(db, clinic, "+12125550123", "Jessica", text="question")
    inbox = logged_in.get("/staff/inbox").get_data(as_text=True)
    assert "Jessica" in inbox and "question" in inbox
    response = logged_in.post(f"/staff/clients/{jess.id}/reply", data={
        "csrf_token": _token(logged_in), "body": "Call us any time.", "done": "1", "next": "/staff/inbox"})
    assert response.status_code == 302
    row = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_REPLY))
    assert row.body == "Call us any time." and row.sent_by == "staff ana"
    assert "Nothing waiting" in logged_in.get("/staff/inbox").get_data(as_text=True)


def test_reply_to_opted_out_client_is_refused_on_the_page(logged_in, db, clinic):
    jess = person(db, clinic, "+12125550123", "Jessica")
    jess.opted_out_at = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
    db.commit()
    html = logged_in.get(f"/staff/clients/{jess.id}").get_data(as_text=True)
    assert "Texting is not possible" in html and "<textarea" not in html
    logged_in.post(f"/staff/clients/{jess.id}/reply", data={"csrf_token": _token(logged_in), "body": "hi"})
    assert db.scalar(select(OutboxMessage)) is None


def test_reply_in_quiet_hours_asks_first(logged_in, db, clinic, clock):
    jess = person(db, clinic, "+12125550123", "Jessica")
    clock.set(datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc))  # 22:00 in New York
    page = logged_in.get("/staff/login").get_data(as_text=True)
    logged_in.post("/staff/login", data={"username": "ana", "password": PASSWORD, "csrf_token": _csrf(page)})
    token = _token(logged_in)
    asked = logged_in.post(f"/staff/clients/{jess.id}/reply", data={"csrf_token": token, "body": "Tomorrow?"})
    assert asked.status_code == 409 and "Send to Jessica when quiet hours end" in asked.get_data(as_text=True)
    assert db.scalar(select(OutboxMessage)) is None
    logged_in.post(f"/staff/clients/{jess.id}/reply", data={"csrf_token": token, "body": "Tomorrow?", "when": "morning"})
    assert db.scalar(select(OutboxMessage)).due_at == datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)


def test_today_filters_not_confirmed_and_exports_csv(logged_in, db, clinic, runtime, clock):
    waiting = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=1)
    person(db, clinic, "+12125550123", "Jessica")
    done = make_plan(db, runtime, clinic, clock, phone="+12125550124", days=1)
    done.sessions[0].status = SessionStatus.CONFIRMED
    db.commit()
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    html = logged_in.get(f"/staff/today?date={day}&show=not_confirmed").get_data(as_text=True)
    assert f'data-plan="{waiting.id}"' in html and f'data-plan="{done.id}"' not in html
    csv = logged_in.get(f"/staff/today.csv?date={day}").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("time,client,phone,session")
    assert "Jessica" in csv and "waiting" in csv and "confirmed" in csv


def test_move_asks_for_confirmation_then_moves_and_records_old_and_new(logged_in, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=7)
    confirmation_already_sent(db, plan)
    path = f"/staff/plans/{plan.id}/sessions/1/reschedule"
    token = _token(logged_in, path)
    review = logged_in.post(path, data={"csrf_token": token, "date": "2026-12-11", "time": "15:00", "notify": "1",
                                        "confirm": "0"}).get_data(as_text=True)
    assert "Please confirm" in review and "your appointment has moved to Fri Dec 11 at 3:00 PM" in review
    db.refresh(plan)
    assert plan.version == 1
    done = logged_in.post(path, data={"csrf_token": token, "date": "2026-12-11", "time": "15:00", "notify": "1",
                                      "confirm": "1"})
    assert done.status_code == 302
    notice = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.SESSION_MOVED)).one()
    assert "Fri Dec 11 at 3:00 PM" in notice.body
    # The plan service's text is the only one: the desk sends no second notice.
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CLIENT_NOTICE)) is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "session_moved"))
    assert event.details["old_start"] != event.details["new_start"]
    assert "from " in logged_in.get(f"/staff/plans/{plan.id}").get_data(as_text=True)


def test_cancel_plan_asks_first(logged_in, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=7)
    html = logged_in.get(f"/staff/plans/{plan.id}/cancel").get_data(as_text=True)
    assert "Yes, cancel the plan" in html
    db.refresh(plan)
    assert plan.status.value == "active"


def test_expired_session_says_signed_out_not_form_expired(logged_in, db, clinic, runtime, clock):
    jess = person(db, clinic, "+12125550123", "Jessica")
    token = _token(logged_in)
    clock.set(clock.now() + timedelta(hours=3))
    response = logged_in.post(f"/staff/clients/{jess.id}/reply", data={"csrf_token": token, "body": "hi"},
                              headers={"Referer": f"http://localhost/staff/clients/{jess.id}"})
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out" in html and "Form expired" not in html


def test_queue_shows_recipient_and_staff_notices_apart(logged_in, db, clinic, runtime, clock):
    make_plan(db, runtime, clinic, clock, phone="+12125550123", days=1, schedule=True)
    person(db, clinic, "+12125550123", "Jessica")
    html = logged_in.get("/staff/queue").get_data(as_text=True)
    assert "Jessica" in html and "Staff notices" in html


def test_rq_dashboard_opens_on_the_products_queue_and_links_back(logged_in, runtime):
    nav = logged_in.get("/staff/").get_data(as_text=True)
    assert f"/staff/rq/0/view/jobs/{runtime.config.queue_name}/queued/" in nav
    jobs = logged_in.get("/staff/rq/0/view/jobs")
    assert jobs.status_code == 302 and runtime.config.queue_name in jobs.headers["Location"]
    page = logged_in.get(jobs.headers["Location"]).get_data(as_text=True)
    assert 'href="/staff/queue"' in page and "Back to the Glowline staff pages" in page
