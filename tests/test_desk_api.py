"""The front desk through the JSON API: find a client, read the conversation, reply, the inbox, a day's sessions;
and the API's hygiene (huge ids, wrong segments and methods, RFC 3339 spellings, honest paging)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from glowline.clinics.service import create_api_token
from glowline.store.models import (AuditEvent, InboundMessage, MessageKind, MessageStatus,
                                   OutboxMessage, SessionStatus)
from tests.helpers import confirmation_already_sent, make_clinic, make_plan, person
from tests.worker_helpers import work


@pytest.fixture
def token(db, clinic):
    _, plain = create_api_token(db, clinic, "front-desk")
    db.commit()
    return plain


@pytest.fixture
def api(client, token):
    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


@pytest.mark.parametrize("query", ["555 0123", "(212) 555-01", "+1 212", "jess", "JESSICA", "0123"])
def test_search_finds_a_client_by_partial_phone_in_any_format_or_by_name(api, db, clinic, query):
    jess = person(db, clinic, "+12125550123", "Jessica")
    person(db, clinic, "+13105559876", "Maria")
    found = api("GET", f"/api/clients?q={query}").json["clients"]
    assert [c["id"] for c in found] == [jess.id]
    assert found[0]["first_name"] == "Jessica"
    assert found[0]["phone_display"] == "(212) 555-0123"


def test_search_pages_honestly(api, db, clinic):
    for i in range(5):
        person(db, clinic, f"+1212555010{i}", f"Ann{i}")
    first = api("GET", "/api/clients?q=ann&limit=3").json
    assert len(first["clients"]) == 3 and first["has_more"] is True
    rest = api("GET", f"/api/clients?q=ann&limit=3&cursor={first['next_cursor']}").json
    assert len(rest["clients"]) == 2 and rest["has_more"] is False and rest["next_cursor"] is None
    assert {c["first_name"] for c in first["clients"] + rest["clients"]} == {f"Ann{i}" for i in range(5)}


def test_another_clinics_client_is_404_and_invisible_in_search(api, db, clinic):
    other = make_clinic(db, name="Other", number="+13105550100", staff=())
    stranger = person(db, other, "+13105550111", "Olivia", text="hello")
    assert api("GET", f"/api/clients/{stranger.id}").status_code == 404
    assert api("POST", f"/api/clients/{stranger.id}/messages", json={"body": "hi"}).status_code == 404
    assert api("GET", "/api/clients?q=olivia").json["clients"] == []
    assert api("GET", "/api/inbox").json["count"] == 0


def test_conversation_has_every_text_both_ways_oldest_first(api, db, clinic, runtime):
    client = person(db, clinic, "+12125550123", "Jessica", text="Can I move to Friday instead?")
    db.scalar(select(InboundMessage)).reply = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>"
                                               "Thanks, we got your message.</Message></Response>")
    db.commit()
    sent = api("POST", f"/api/clients/{client.id}/messages", json={"body": "Yes, Friday 3pm works."})
    assert sent.status_code == 201
    body = api("GET", f"/api/clients/{client.id}").json
    assert body["first_name"] == "Jessica" and body["opted_out"] is False
    assert body["intakes"][0]["flags"] == ["screening: pregnant"]
    said = [(e["direction"], e["body"]) for e in body["conversation"]]
    assert said == [("in", "Can I move to Friday instead?"), ("out", "Thanks, we got your message."),
                    ("out", "Yes, Friday 3pm works.")]
    assert body["conversation"][-1]["sent_by"] == "api token front-desk"


def test_reply_goes_through_the_outbox_and_a_worker_sends_it(api, db, clinic, runtime, fake_twilio):
    client = person(db, clinic, "+12125550123", "Jessica", text="is it safe while breastfeeding?")
    inbox = api("GET", "/api/inbox").json
    assert inbox["count"] == 1
    item = inbox["items"][0]
    assert (item["client_name"], item["body"]) == ("Jessica", "is it safe while breastfeeding?")
    sent = api("POST", f"/api/clients/{client.id}/messages",
               json={"body": "Please call us before your visit.", "inbox_id": item["id"]})
    assert sent.status_code == 201
    assert (sent.json["kind"], sent.json["status"], sent.json["recipient"]) == ("staff_reply", "queued", "Jessica")
    assert api("GET", "/api/inbox").json["count"] == 0
    work(runtime)
    assert [m.form["Body"] for m in fake_twilio.sent()] == ["Please call us before your visit."]
    row = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_REPLY))
    db.refresh(row)
    assert row.status is MessageStatus.SENT and row.sent_by == "api token front-desk"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "staff_replied")) is not None


def test_reply_to_an_opted_out_client_is_refused_with_the_reason(api, db, clinic):
    client = person(db, clinic, "+12125550123", "Jessica", text="STOP")
    client.opted_out_at = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
    db.commit()
    refused = api("POST", f"/api/clients/{client.id}/messages", json={"body": "hello?"})
    assert refused.status_code == 409
    assert "opted out" in refused.json["error"]
    assert db.scalar(select(OutboxMessage)) is None


def test_reply_in_quiet_hours_asks_then_waits_for_the_morning(api, db, clinic, clock):
    client = person(db, clinic, "+12125550123", "Jessica", text="hello")
    clock.set(datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc))  # 22:00 in New York
    asked = api("POST", f"/api/clients/{client.id}/messages", json={"body": "We will call tomorrow."})
    assert asked.status_code == 409 and asked.json["field"] == "send"
    later = api("POST", f"/api/clients/{client.id}/messages", json={"body": "We will call tomorrow.", "send": "morning"})
    assert later.status_code == 201
    assert later.json["due_at"] == "2026-12-02T13:00:00+00:00"  # 08:00 in New York


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 1601}, {"body": "hi", "send": "later"}])
def test_bad_reply_bodies_name_the_field(api, db, clinic, body):
    client = person(db, clinic, "+12125550123", "Jessica")
    response = api("POST", f"/api/clients/{client.id}/messages", json=body)
    assert response.status_code == 400
    assert response.json["field"] in ("body", "send")


def test_mark_done_takes_a_text_out_of_the_inbox(api, db, clinic):
    person(db, clinic, "+12125550123", "Jessica", text="question")
    item = api("GET", "/api/inbox").json["items"][0]
    done = api("POST", f"/api/inbox/{item['id']}/done")
    assert done.status_code == 200 and done.json["done_by"] == "api token front-desk"
    assert api("GET", "/api/inbox").json == {"count": 0, "items": []}
    assert api("POST", "/api/inbox/999/done").status_code == 404


def test_day_sessions_with_confirmation_and_not_confirmed_filter(api, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=1)
    other = make_plan(db, runtime, clinic, clock, phone="+12125550124", days=1)
    other.sessions[0].status = SessionStatus.CONFIRMED
    db.commit()
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    everything = api("GET", f"/api/sessions?date={day}").json["sessions"]
    assert {(s["plan_id"], s["confirmation"]) for s in everything} == {(plan.id, "waiting"), (other.id, "confirmed")}
    waiting = api("GET", f"/api/sessions?date={day}&not_confirmed=true").json["sessions"]
    assert [(s["plan_id"], s["session"], s["sessions"]) for s in waiting] == [(plan.id, 1, plan.session_count)]
    assert api("GET", "/api/sessions?date=tomorrow").json["field"] == "date"


def test_move_with_notify_texts_the_client_the_new_time(api, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=7)
    confirmation_already_sent(db, plan)
    moved = api("PATCH", f"/api/plans/{plan.id}/sessions/1",
                json={"starts_at": "2026-12-11T15:00:00-05:00", "confirm": True})
    assert moved.status_code == 200
    notice = [m for m in moved.json["messages"] if m["kind"] == "session_moved"]
    assert len(notice) == 1 and "moved to Fri Dec 11 at 3:00 PM" in notice[0]["text"]
    # One text about the move, from the plan service: the desk adds no second one.
    assert not [m for m in moved.json["messages"] if m["kind"] == "client_notice"]


def test_cancel_one_session_through_the_api(api, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=7)
    response = api("POST", f"/api/plans/{plan.id}/sessions/2/cancel", json={"notify_client": True})
    assert response.status_code == 200
    assert [s["status"] for s in response.json["sessions"]][:2] == ["scheduled", "cancelled"]
    assert any(m["kind"] == "client_notice" and "is cancelled" in m["text"] for m in response.json["messages"])


def test_a_cancelled_session_is_texted_in_the_clients_language_on_the_clinics_clock(api, db, clinic, runtime, clock):
    plan = make_plan(db, runtime, clinic, clock, phone="+18085550123", days=7)
    plan.client.language, plan.client.timezone = "es", "Pacific/Honolulu"
    db.commit()
    response = api("POST", f"/api/plans/{plan.id}/sessions/2/cancel", json={"notify_client": True})
    notice = [m["text"] for m in response.json["messages"] if m["kind"] == "client_notice"]
    assert len(notice) == 1 and "queda cancelada" in notice[0] and "(hora oriental)" in notice[0], notice


@pytest.mark.parametrize("path", ["/api/plans/9223372036854775808", "/api/intakes/99999999999999999999", "/api/plans/2147483648",
                                  "/api/clients/9223372036854775808", "/api/plans/abc", "/api/nowhere"])
def test_ids_too_big_for_the_database_and_non_integer_segments_are_json_404(api, path):
    response = api("GET", path)
    assert response.status_code == 404
    assert response.is_json and "error" in response.json


def test_wrong_method_inside_the_api_is_json_405(api):
    response = api("DELETE", "/api/queue")
    assert response.status_code == 405
    assert response.is_json and response.json["error"] == "method not allowed"
    assert "GET" in response.headers["Allow"]


def test_staff_pages_keep_html_errors(client):
    assert not client.get("/staff/nowhere").is_json


def test_lower_case_rfc3339_times_are_accepted(api):
    response = api("GET", "/api/messages?due_after=2026-11-25t10:00:00z")
    assert response.status_code == 200


def test_messages_page_with_limit_and_cursor(api, db, clinic, runtime, clock):
    make_plan(db, runtime, clinic, clock, phone="+12125550123", days=7)
    everything = api("GET", "/api/messages?limit=500").json
    assert everything["has_more"] is False and everything["next_cursor"] is None
    total = len(everything["messages"])
    seen, cursor = [], None
    while True:
        page = api("GET", "/api/messages?limit=4" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [m["id"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == [m["id"] for m in everything["messages"]] and len(seen) == total > 4
    assert api("GET", "/api/messages?cursor=nope").json["field"] == "cursor"
