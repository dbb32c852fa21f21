"""Staff pages: login, CSRF, expiring sessions, intakes, starting a plan, the plan and queue pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.clinics.service import add_staff_user
from glowline.store.models import AuditEvent, MessageStatus, OutboxMessage, Plan
from tests.helpers import PASSWORD, csrf, make_clinic, make_intake

@pytest.fixture
def staff_user(db, clinic):
    user = add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    return user


@pytest.fixture
def logged_in(client, staff_user):
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={"username": "ana", "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302
    return client


def _token(client, path="/staff/") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def test_pages_need_a_login(client, staff_user):
    for path in ("/staff/", "/staff/queue", "/staff/plans/1", "/staff/intakes/1/plan", "/staff/rq/"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], path


def test_wrong_password_is_refused(client, staff_user):
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={"username": "ana", "password": "wrong password!", "csrf_token": csrf(page)})
    assert response.status_code == 401 and "do not match" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_forms_without_the_csrf_token_are_refused(client, staff_user, logged_in, db, clinic):
    intake = make_intake(db, clinic)
    response = logged_in.post(f"/staff/intakes/{intake.id}/plan", data={"protocol": "acne-scarring",
                                                                        "date": "2026-12-03", "time": "10:00"})
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert db.scalars(select(Plan)).all() == []
    login = client.post("/staff/login", data={"username": "ana", "password": PASSWORD})
    assert login.status_code == 400


def test_twilio_and_api_are_not_csrf_checked(client, staff_user):
    # The API answers 401 for a missing token, not 400 for a missing CSRF token.
    assert client.post("/api/plans", json={}).status_code == 401


def test_session_expires_after_idle_minutes(logged_in, runtime):
    assert logged_in.get("/staff/").status_code == 200
    runtime.clock.advance(timedelta(minutes=runtime.config.staff_session_minutes - 1))
    assert logged_in.get("/staff/").status_code == 200
    runtime.clock.advance(timedelta(minutes=runtime.config.staff_session_minutes + 1))
    response = logged_in.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_intakes_page_lists_waiting_intakes_with_flags(logged_in, db, clinic):
    intake = make_intake(db, clinic, flags=["pregnant"])
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=())
    theirs = make_intake(db, other, phone="+13105550142")
    html = logged_in.get("/staff/").get_data(as_text=True)
    assert f"/staff/intakes/{intake.id}/plan" in html and "pregnant" in html and "acne scars" in html
    assert f"/staff/intakes/{theirs.id}/plan" not in html
    assert logged_in.get(f"/staff/intakes/{theirs.id}/plan").status_code == 404


def test_preview_draws_the_timeline_without_saving(logged_in, db, clinic):
    intake = make_intake(db, clinic)
    token = _token(logged_in)
    response = logged_in.post("/staff/preview", headers={"X-CSRFToken": token},
                              json={"intake_id": intake.id, "protocol": "acne-scarring", "date": "2026-12-03",
                                    "time": "10:00", "sessions": "4"})
    assert response.status_code == 200, response.json
    assert response.json["svg"].startswith("<svg") and "Session 4" in response.json["svg"]
    assert response.json["sessions"][0] == "Thu Dec 3 2026, 10:00 AM"
    evening = logged_in.post("/staff/preview", headers={"X-CSRFToken": token},
                             json={"intake_id": intake.id, "protocol": "acne-scarring", "date": "2026-12-03",
                                   "time": "19:30", "sessions": "4"}).json["aftercare"]
    assert evening[0] == {"session": 1, "when": "Thu Dec 3, 8:30 PM",
                          "rule": "evening aftercare: at the session's end (allowed until 21:00)"}
    bad = logged_in.post("/staff/preview", headers={"X-CSRFToken": token},
                         json={"intake_id": intake.id, "protocol": "acne-scarring", "date": "2026-12-03",
                               "time": "10:00", "sessions": "40"})
    assert bad.status_code == 400 and bad.json["field"] == "sessions"
    assert logged_in.post("/staff/preview", json={"intake_id": intake.id}).status_code == 400  # no CSRF token
    assert db.scalars(select(Plan)).all() == []


def test_start_plan_form_then_plan_page_with_timeline_and_history(logged_in, db, clinic):
    intake = make_intake(db, clinic)
    path = f"/staff/intakes/{intake.id}/plan"
    form = logged_in.get(path).get_data(as_text=True)
    # The protocol defaults to the one serving the intake's concern.
    assert re.search(r'value="acne-scarring"\s+selected', form)
    bad = logged_in.post(path, data={"csrf_token": csrf(form), "protocol": "acne-scarring", "date": "2026-11-03",
                                     "time": "10:00"})
    assert bad.status_code == 400 and "in the past" in bad.get_data(as_text=True)
    response = logged_in.post(path, data={"csrf_token": csrf(form), "protocol": "acne-scarring",
                                          "date": "2026-12-03", "time": "10:00", "sessions": "4"})
    assert response.status_code == 302
    plan = db.scalar(select(Plan))
    assert response.headers["Location"].endswith(f"/staff/plans/{plan.id}")
    assert plan.created_by == "staff ana"
    html = logged_in.get(f"/staff/plans/{plan.id}").get_data(as_text=True)
    assert '<svg' in html and 'class="lane"' in html and "48h aftercare" in html
    assert "staff ana</strong> started the plan (4 sessions" in html
    assert "plan confirmation" in html


def test_retry_and_cancel_from_the_queue_page_are_audited(logged_in, db, clinic, runtime):
    intake = make_intake(db, clinic)
    form = logged_in.get(f"/staff/intakes/{intake.id}/plan").get_data(as_text=True)
    logged_in.post(f"/staff/intakes/{intake.id}/plan", data={"csrf_token": csrf(form), "protocol": "acne-scarring",
                                                            "date": "2026-12-03", "time": "10:00"})
    confirmation = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "plan_confirmation"))
    confirmation.status, confirmation.last_error, confirmation.error_code = MessageStatus.FAILED, "Carrier said no", 30003
    db.commit()
    html = logged_in.get("/staff/queue").get_data(as_text=True)
    assert "Carrier said no" in html and 'data-status="failed">1<' in html
    assert "Workers: 0 alive" in html and "Scheduler: down" in html
    assert f'/staff/messages/{confirmation.id}/retry' in html
    response = logged_in.post(f"/staff/messages/{confirmation.id}/retry", data={"csrf_token": csrf(html)})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(OutboxMessage, confirmation.id).status is MessageStatus.QUEUED
    pending = db.scalar(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING))
    logged_in.post(f"/staff/messages/{pending.id}/cancel", data={"csrf_token": csrf(html)})
    db.expire_all()
    assert db.get(OutboxMessage, pending.id).status is MessageStatus.CANCELLED
    plan_page = logged_in.get(f"/staff/plans/{pending.plan_id}").get_data(as_text=True)
    assert f"retried message {confirmation.id} (plan confirmation)" in plan_page
    assert f"cancelled message {pending.id}" in plan_page
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id)) if e.action != "client_viewed"]
    assert actions == ["plan_started", "message_retried", "message_cancelled"]


def test_another_clinics_plan_and_messages_are_404(logged_in, db, clinic, runtime):
    from glowline.plans.start import start_plan

    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=())
    theirs = make_intake(db, other, phone="+13105550142")
    plan = start_plan(db, runtime, clinic=other, intake_id=theirs.id, first_session_at=runtime.clock.now() + timedelta(days=3),
                      actor="test", now=runtime.clock.now(), dispatch=False)
    db.commit()
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id))
    token = _token(logged_in)
    assert logged_in.get(f"/staff/plans/{plan.id}").status_code == 404
    assert logged_in.post(f"/staff/messages/{message.id}/cancel", data={"csrf_token": token}).status_code == 404
    assert logged_in.post(f"/staff/plans/{plan.id}/cancel", data={"csrf_token": token}).status_code == 404


def test_rq_dashboard_is_behind_the_login(logged_in):
    response = logged_in.get("/staff/rq/")
    assert response.status_code == 200 and "RQ" in response.get_data(as_text=True)


def test_logout_ends_the_session(logged_in):
    logged_in.post("/staff/logout", data={"csrf_token": _token(logged_in)})
    assert logged_in.get("/staff/").status_code == 302
