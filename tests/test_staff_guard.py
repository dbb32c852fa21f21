"""Staff logins and API tokens resist guessing; staff pages send security headers; client views are audited."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from glowline.clinics.service import add_staff_user, create_api_token
from glowline.store.models import AuditEvent
from tests.helpers import PASSWORD, csrf, make_intake


@pytest.fixture
def guarded(runtime, db, clinic):
    """An app whose lock lasts long enough for the test (a minute), and a staff user ana."""
    from webhooks import create_app

    def build(failures=10, seconds=60):
        runtime.config = runtime.config.with_(staff_login_failures=failures, staff_lockout_seconds=seconds)
        return create_app({"RUNTIME": runtime, "TESTING": True}).test_client()

    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    return build


def attempt(http, password, address="203.0.113.5", username="ana"):
    page = http.get("/staff/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return http.post("/staff/login", data={"username": username, "password": password, "csrf_token": csrf(page)},
                     environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("spread", ["one address", "fifty addresses"])
def test_fifty_wrong_passwords_are_cut_off_and_lock_the_username(guarded, spread):
    http = guarded()
    codes = [attempt(http, f"guess {n}", address="203.0.113.5" if spread == "one address" else f"198.51.100.{n}")
             .status_code for n in range(50)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 40
    right = attempt(http, PASSWORD, address="192.0.2.77")
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in right.get_data(as_text=True)


def test_the_right_password_fails_until_the_lock_ends_then_works(guarded):
    # A real-time window (Redis keeps it), long enough for a loaded machine to make four attempts in it.
    http = guarded(failures=3, seconds=8)
    for n in range(3):
        assert attempt(http, f"guess {n}").status_code == 401
    refused = attempt(http, PASSWORD)
    assert refused.status_code == 429
    time.sleep(int(refused.headers["Retry-After"]) + 0.5)
    assert attempt(http, PASSWORD).status_code == 302


def test_one_address_guessing_many_usernames_is_cut_off(guarded):
    http = guarded(failures=5)
    codes = [attempt(http, "guess", username=f"user{n}").status_code for n in range(20)]
    assert codes[:15] == [401] * 15 and set(codes[15:]) == {429}


def test_the_clinic_staff_page_says_a_login_is_locked(guarded, db, clinic):
    add_staff_user(db, clinic, "ben", PASSWORD)
    db.commit()
    http = guarded(failures=3)
    for n in range(3):
        attempt(http, f"guess {n}", username="ben")
    assert attempt(http, PASSWORD, username="ana").status_code == 302
    page = http.get("/staff/").get_data(as_text=True)
    assert "The login ben is locked after repeated failed attempts" in page
    assert "The login ana is locked" not in page


def test_bad_api_tokens_from_one_address_are_cut_off(guarded, db, clinic):
    _, secret = create_api_token(db, clinic, "booking")
    db.commit()
    http = guarded(failures=5)
    codes = [http.get("/api/protocols", headers={"Authorization": f"Bearer wrong-{n}"}).status_code
             for n in range(20)]
    assert codes[:15] == [401] * 15 and set(codes[15:]) == {429}
    refused = http.get("/api/protocols", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    other = http.get("/api/protocols", headers={"Authorization": f"Bearer {secret}"},
                     environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


def test_every_staff_page_sends_the_security_headers(guarded, db, clinic):
    http = guarded()
    intake = make_intake(db, clinic)
    pages = ["/staff/login"]
    attempt(http, PASSWORD)
    pages += ["/staff/", "/staff/queue", f"/staff/intakes/{intake.id}/plan", "/staff/nowhere"]
    for path in pages:
        response = http.get(path)
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert response.headers.get("Referrer-Policy") == "same-origin", path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    dashboard = http.get("/staff/rq/")
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]


def test_staff_pages_carry_no_inline_script_or_style(guarded, db, clinic):
    http = guarded()
    attempt(http, PASSWORD)
    intake = make_intake(db, clinic)
    for path in ("/staff/", "/staff/queue", f"/staff/intakes/{intake.id}/plan"):
        html = http.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html and " onclick" not in html


def test_every_staff_view_of_a_clients_details_is_audited(guarded, db, clinic):
    http = guarded()
    intake = make_intake(db, clinic)
    attempt(http, PASSWORD)
    http.get("/staff/")
    http.get(f"/staff/intakes/{intake.id}/plan")
    views = db.scalars(select(AuditEvent).where(AuditEvent.action == "client_viewed").order_by(AuditEvent.id)).all()
    assert [(v.actor, v.details["what"], v.details["ids"]) for v in views] == [
        ("staff ana", "intakes", [intake.id]), ("staff ana", "intake", [intake.id])]


def test_every_api_read_of_a_clients_details_is_audited(guarded, db, clinic):
    _, secret = create_api_token(db, clinic, "booking")
    intake = make_intake(db, clinic)
    db.commit()
    http = guarded()
    headers = {"Authorization": f"Bearer {secret}"}
    assert http.get("/api/intakes", headers=headers).status_code == 200
    assert http.get(f"/api/intakes/{intake.id}", headers=headers).status_code == 200
    views = db.scalars(select(AuditEvent).where(AuditEvent.action == "client_viewed").order_by(AuditEvent.id)).all()
    assert [(v.actor, v.details["what"]) for v in views] == [("api token booking", "intakes"),
                                                              ("api token booking", "intake")]


def test_the_queue_page_warns_when_messages_are_late_or_texts_wait_in_the_spool(guarded, db, runtime, clinic,
                                                                                clock):
    from datetime import timedelta

    from glowline.store import spool
    from tests.helpers import make_client, make_message

    http = guarded()
    attempt(http, PASSWORD)
    make_message(db, clinic, make_client(db), due_at=clock.now() - timedelta(minutes=5))
    assert 'id="queue-alert"' not in http.get("/staff/queue").get_data(as_text=True)
    make_message(db, clinic, make_client(db, phone="+12125550177"), due_at=clock.now() - timedelta(minutes=11))
    page = http.get("/staff/queue").get_data(as_text=True)
    assert "1 message is more than 10 minutes overdue" in page
    spool.put(runtime, spool.Entry("sms", [("Body", "hi")], {}, clock.now()))
    page = http.get("/staff/queue").get_data(as_text=True)
    assert "1 incoming text waits for the database" in page
    runtime.redis.xadd(spool.STREAM, {"entry": "{not json"})  # one the replay can never handle
    from workers.jobs import replay_spool

    assert replay_spool()["spool_replayed"] == 2
    page = http.get("/staff/queue").get_data(as_text=True)
    assert "waits for the database" not in page
    assert "1 incoming text or call step could not be handled after the database came back" in page
