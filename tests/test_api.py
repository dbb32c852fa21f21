"""The clinic JSON API: tokens, clinic scoping, schema errors that name the field, the happy paths."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from glowline.clinics.service import create_api_token
from glowline.store.models import AuditEvent, IntakeStatus, MessageStatus, OutboxMessage, Plan
from tests.helpers import in_redis, make_clinic, make_intake

FIRST = "2026-12-03T10:00:00-05:00"


@pytest.fixture
def token(db, clinic):
    _, plain = create_api_token(db, clinic, "booking-system")
    db.commit()
    return plain


@pytest.fixture
def api(client, token):
    """Call the API with this clinic's token."""

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def intake(db, clinic):
    return make_intake(db, clinic, concern="acne scars", flags=["pregnant"])


def _create(api, intake, **extra):
    body = {"intake_id": intake.id, "protocol": "skin-rejuvenation", "first_session_at": FIRST, **extra}
    return api("POST", "/api/plans", json=body)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
def test_missing_or_wrong_token_is_401(client, token, headers):
    response = client.get("/api/protocols", headers=headers)
    assert response.status_code == 401
    assert response.json["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, db, token, clinic):
    from glowline.store.models import ApiToken

    db.scalar(select(ApiToken)).revoked_at = db.scalar(select(ApiToken)).created_at
    db.commit()
    assert client.get("/api/protocols", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_protocols_list_the_catalog(api, runtime):
    response = api("GET", "/api/protocols")
    assert response.status_code == 200
    ids = {p["id"] for p in response.json["protocols"]}
    assert ids == {p.id for p in runtime.catalog}
    assert response.json["version"] == runtime.catalog.version


def test_intakes_list_and_detail(api, db, clinic, intake):
    make_intake(db, clinic, phone="+12125550143", status=IntakeStatus.IN_PROGRESS)
    waiting = api("GET", "/api/intakes?status=waiting").json["intakes"]
    assert [i["id"] for i in waiting] == [intake.id]
    assert waiting[0]["flags"] == ["pregnant"] and waiting[0]["concern"] == "acne scars"
    assert len(api("GET", "/api/intakes").json["intakes"]) == 2
    detail = api("GET", f"/api/intakes/{intake.id}")
    assert detail.status_code == 200 and detail.json["answers"]["concern"] == "acne scars"
    bad = api("GET", "/api/intakes?status=sleeping")
    assert bad.status_code == 400 and bad.json["field"] == "status"


def test_an_intake_lists_the_plan_started_from_it(api, db, clinic, intake):
    other = make_intake(db, clinic, phone="+12125550144")
    plan_id = _create(api, intake).json["id"]
    listed = {i["id"]: i["plan_id"] for i in api("GET", "/api/intakes").json["intakes"]}
    assert listed == {intake.id: plan_id, other.id: None}
    assert api("GET", f"/api/intakes/{intake.id}").json["plan_id"] == plan_id


def test_create_plan_returns_plan_sessions_and_every_message(api, db, intake, runtime):
    response = _create(api, intake, sessions=3, interval_weeks=6)
    assert response.status_code == 201, response.json
    plan = response.json
    assert response.headers["Location"] == f"/api/plans/{plan['id']}"
    assert [s["local_start"] for s in plan["sessions"]] == [
        "2026-12-03T10:00:00-05:00", "2027-01-14T10:00:00-05:00", "2027-02-25T10:00:00-05:00"]
    kinds = [m["kind"] for m in plan["messages"]]
    assert kinds[0] == "plan_confirmation"
    assert kinds.count("reminder") == 6 and kinds.count("aftercare") == 3
    first = plan["messages"][0]
    assert set(first) >= {"kind", "due_at", "local_time", "channel", "status", "text"}
    assert first["status"] == "queued" and first["local_time"].endswith("-05:00")
    assert plan["created_by"] == "api token booking-system"
    db.expire_all()
    assert db.get(Plan, plan["id"]).intake_id == intake.id
    assert in_redis(runtime, first["id"])
    assert api("GET", f"/api/plans/{plan['id']}").json == plan


@pytest.mark.parametrize("body, field", [
    ({"protocol": "skin-rejuvenation", "first_session_at": FIRST}, "intake_id"),
    ({"intake_id": "{id}", "first_session_at": FIRST}, "protocol"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation"}, "first_session_at"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": "2026-12-03T10:00:00"}, "first_session_at"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": "tomorrow"}, "first_session_at"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": "2026-11-03T10:00:00-05:00"},
     "first_session_at"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": FIRST, "sessions": 0}, "sessions"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": FIRST, "sessions": 19}, "sessions"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": FIRST, "interval_weeks": "6"},
     "interval_weeks"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": FIRST, "interval_weeks": 1},
     "interval_weeks"),
    ({"intake_id": "{id}", "protocol": "botox", "first_session_at": FIRST}, "protocol"),
    ({"intake_id": "{id}", "protocol": "skin-rejuvenation", "first_session_at": FIRST, "colour": "blue"}, "colour"),
    ({"intake_id": True, "protocol": "skin-rejuvenation", "first_session_at": FIRST}, "intake_id"),
])
def test_each_schema_error_is_400_naming_the_field_and_changes_nothing(api, db, intake, body, field):
    body = {k: (intake.id if v == "{id}" else v) for k, v in body.items()}
    response = api("POST", "/api/plans", json=body)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field
    assert response.json["error"]
    assert db.scalars(select(Plan)).all() == [] and db.scalars(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", ""])
def test_malformed_json_is_400(api, intake, data):
    response = api("POST", "/api/plans", data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["field"] == "$"


def test_another_clinics_objects_are_404(api, db, client, clinic, intake):
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=())
    theirs = make_intake(db, other, phone="+13105550142")
    _, their_token = create_api_token(db, other, "theirs")
    db.commit()
    created = client.post("/api/plans", headers={"Authorization": f"Bearer {their_token}"},
                          json={"intake_id": theirs.id, "protocol": "skin-rejuvenation", "first_session_at": FIRST})
    assert created.status_code == 201
    their_plan = created.json["id"]
    their_message = created.json["messages"][0]["id"]
    assert api("GET", f"/api/plans/{their_plan}").status_code == 404
    assert api("GET", f"/api/intakes/{theirs.id}").status_code == 404
    assert api("PATCH", f"/api/plans/{their_plan}/sessions/1",
               json={"starts_at": "2026-12-04T10:00:00-05:00"}).status_code == 404
    assert api("POST", f"/api/plans/{their_plan}/cancel").status_code == 404
    assert api("POST", f"/api/messages/{their_message}/cancel").status_code == 404
    assert api("GET", f"/api/messages?plan_id={their_plan}").status_code == 404
    # Starting a plan on their intake looks like an unknown intake, too.
    assert _create(api, theirs).status_code == 404
    assert api("GET", "/api/messages").json["messages"] == []
    db.expire_all()
    assert db.get(Plan, their_plan).status.value == "active"


def test_move_session_and_errors(api, db, intake):
    plan = _create(api, intake, sessions=3).json
    moved = api("PATCH", f"/api/plans/{plan['id']}/sessions/2",
                json={"starts_at": "2027-01-21T11:00:00-05:00", "shift_later": True})
    assert moved.status_code == 200, moved.json
    assert [s["local_start"] for s in moved.json["sessions"]][1:] == [
        "2027-01-21T11:00:00-05:00", "2027-03-04T11:00:00-05:00"]
    assert moved.json["version"] == 2
    too_early = api("PATCH", f"/api/plans/{plan['id']}/sessions/2", json={"starts_at": "2026-12-03T10:30:00-05:00"})
    assert too_early.status_code == 400 and too_early.json["field"] == "starts_at"
    assert api("PATCH", f"/api/plans/{plan['id']}/sessions/2", json={}).json["field"] == "starts_at"
    assert api("PATCH", f"/api/plans/{plan['id']}/sessions/2",
               json={"starts_at": "2027-01-21T11:00:00-05:00", "shift_later": "yes"}).json["field"] == "shift_later"
    assert api("PATCH", f"/api/plans/{plan['id']}/sessions/9",
               json={"starts_at": "2027-06-21T11:00:00-05:00"}).status_code == 404
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["plan_started", "session_moved"]


def test_cancel_plan_cancels_pending_messages(api, db, intake):
    plan = _create(api, intake).json
    assert api("POST", f"/api/plans/{plan['id']}/cancel", json={"colour": "x"}).json["field"] == "colour"
    cancelled = api("POST", f"/api/plans/{plan['id']}/cancel", json={"reason": "client moved away"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert {m["status"] for m in cancelled.json["messages"]} <= {"cancelled", "skipped"}
    moved = api("PATCH", f"/api/plans/{plan['id']}/sessions/2", json={"starts_at": "2027-03-21T11:00:00-05:00"})
    assert moved.status_code == 409


def test_messages_filters(api, db, intake):
    plan = _create(api, intake, sessions=3).json
    queued = api("GET", "/api/messages?status=queued").json["messages"]
    assert [m["kind"] for m in queued] == ["plan_confirmation"]
    pending = api("GET", f"/api/messages?status=pending&plan_id={plan['id']}").json["messages"]
    assert [m["id"] for m in pending] == [m["id"] for m in plan["messages"] if m["status"] == "pending"]
    assert pending and api("GET", "/api/messages?status=sent").json["messages"] == []
    window = api("GET", "/api/messages?due_after=2027-01-01T00:00:00Z&due_before=2027-01-31T00:00:00Z").json
    assert window["messages"] and all("2027-01" in m["due_at"] for m in window["messages"])
    for query, field in [("status=lost", "status"), ("plan_id=abc", "plan_id"), ("due_after=monday", "due_after"),
                         ("colour=red", "colour")]:
        response = api("GET", f"/api/messages?{query}")
        assert response.status_code == 400 and response.json["field"] == field, query


def test_queue_counts_failures_and_heartbeat(api, db, intake, runtime):
    plan = _create(api, intake).json
    failed = db.get(OutboxMessage, plan["messages"][0]["id"])
    failed.status, failed.last_error, failed.error_code = MessageStatus.FAILED, "Twilio refused: number cannot send", 21606
    db.commit()
    queue = api("GET", "/api/queue").json
    assert queue["counts"]["failed"] == 1
    assert queue["counts"]["pending"] == sum(m["status"] == "pending" for m in plan["messages"])
    assert [f["error"] for f in queue["failed"]] == ["Twilio refused: number cannot send"]
    # No worker or scheduler runs in this test, and the queue says so.
    assert queue["health"]["workers"] == 0 and queue["health"]["scheduler"] == "down"
    assert queue["health"]["redis"] == "up"
    retried = api("POST", f"/api/messages/{failed.id}/retry")
    assert retried.status_code == 200 and retried.json["status"] == "queued"
    assert api("POST", f"/api/messages/{failed.id}/retry").status_code == 409
    assert [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))][-1] == "message_retried"


def test_openapi_describes_every_route(client, app):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented
    create = doc["components"]["schemas"]["api_plan_create"]
    assert create["additionalProperties"] is False and "first_session_at" in create["required"]
