"""Consent is the gate: every way of starting a plan needs a current consent; an opt-out suppresses, never destroys."""

from __future__ import annotations

import itertools
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import main
from glowline.clinics.service import create_api_token
from glowline.compliance.consent import ConsentStatus, state_of
from glowline.store.models import ConsentEvent, IntakeStatus, MessageKind, MessageStatus, OutboxMessage, Plan
from tests.helpers import CLINIC_NUMBER, PASSWORD, STAFF_NUMBER, make_intake, make_plan, twilio_post
from tests.helpers import csrf as _csrf
from tests.worker_helpers import advance, work

FIRST = "2026-12-10T10:00:00-05:00"
CLIENT = "+12125550142"
_sids = itertools.count(1)


def sms(client, body: str, *, sender: str = CLIENT):
    """Text the app like Twilio does; returns (HTTP status, the reply texts joined)."""
    params = {"MessageSid": f"SM{next(_sids) + 7000:032x}", "From": sender, "To": CLINIC_NUMBER, "Body": body,
              "NumMedia": "0"}
    response = twilio_post(client, "/twilio/sms", params)
    root = ElementTree.fromstring(response.data)
    return response.status_code, "\n\n".join("".join(m.itertext()) for m in root.iter("Message"))


@pytest.fixture
def api(client, db, clinic):
    _, plain = create_api_token(db, clinic, "booking-system")
    db.commit()

    def call(method, path, **kwargs):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {plain}"}, **kwargs)

    return call


@pytest.fixture
def staff(client, db, clinic):
    from glowline.clinics.service import add_staff_user

    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    client.post("/staff/login", data={"username": "ana", "password": PASSWORD, "csrf_token": _csrf(page)})
    return client


def _declined(db, clinic):
    intake = make_intake(db, clinic, consent=False, status=IntakeStatus.NEEDS_HUMAN)
    from glowline.compliance.consent import record_declined

    record_declined(db, client=intake.client, clinic=clinic, wording="May Glow Clinic text you?", method="sms_intake",
                    now=intake.completed_at)
    db.commit()
    return intake


@pytest.mark.parametrize("declined", [False, True], ids=["no consent", "declined"])
def test_api_refuses_a_plan_without_consent_with_409_naming_consent(api, db, clinic, declined):
    intake = _declined(db, clinic) if declined else make_intake(db, clinic, consent=False)
    response = api("POST", "/api/plans", json={"intake_id": intake.id, "protocol": "skin-rejuvenation",
                                               "first_session_at": FIRST})
    assert response.status_code == 409 and response.json["field"] == "consent"
    assert ("declined" if declined else "has not consented") in response.json["error"]
    assert db.scalars(select(Plan)).all() == [] and db.scalars(select(OutboxMessage)).all() == []
    shown = api("GET", f"/api/intakes/{intake.id}").json["consent"]
    assert shown["status"] == ("declined" if declined else "none") and shown["current"] is False


def test_plan_text_and_cli_refuse_a_client_without_consent(client, db, runtime, clinic, config):
    intake = make_intake(db, clinic, consent=False)
    reply = sms(client, f"PLAN {intake.id} dec 10 10am", sender=STAFF_NUMBER)[1]
    assert reply.startswith("Not started") and "consent" in reply
    env = {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url, "GLOWLINE_VAR_DIR": str(config.var_dir)}
    result = CliRunner().invoke(main, ["plan", "start", "--intake", str(intake.id), "--first", "2030-12-03 10:00"],
                                env=env)
    assert result.exit_code == 2 and "consent" in result.output, result.output
    assert db.scalars(select(Plan)).all() == []


def test_staff_page_offers_a_consent_request_and_a_yes_lets_the_plan_start(staff, api, db, runtime, clinic,
                                                                            fake_twilio):
    intake = make_intake(db, clinic, consent=False)
    listing = staff.get("/staff/").get_data(as_text=True)
    assert "Consent needed" in listing and ">none<" in listing
    page = staff.get(f"/staff/intakes/{intake.id}/plan").get_data(as_text=True)
    assert "Text a consent request" in page and "Start plan</button>" not in page
    refused = staff.post(f"/staff/intakes/{intake.id}/plan",
                         data={"csrf_token": _csrf(page), "protocol": "acne-scarring", "date": "2026-12-10",
                               "time": "10:00"})
    assert refused.status_code == 400 and "consent" in refused.get_data(as_text=True)

    staff.post(f"/staff/intakes/{intake.id}/consent-request", data={"csrf_token": _csrf(page)})
    work(runtime)
    request = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CONSENT_REQUEST)).one()
    assert request.status is MessageStatus.SENT and "Reply YES to agree or NO to decline" in request.body
    assert [r.form["Body"] for r in fake_twilio.sent()] == [request.body]
    page = staff.get(f"/staff/intakes/{intake.id}/plan").get_data(as_text=True)
    assert "requested, no answer yet" in page

    assert "you will get texts about your treatment" in sms(staff, "Yes")[1]
    db.expire_all()
    state = state_of(db, intake.client, clinic)
    assert state.status is ConsentStatus.GIVEN and state.wording == request.body
    assert state.method == "sms_consent_request"
    page = staff.get(f"/staff/intakes/{intake.id}/plan").get_data(as_text=True)
    assert "Start plan</button>" in page and "Text a consent request" not in page
    response = api("POST", "/api/plans", json={"intake_id": intake.id, "protocol": "skin-rejuvenation",
                                               "first_session_at": FIRST})
    assert response.status_code == 201, response.json
    assert response.json["consent"]["wording"] == request.body and response.json["paused"] is None


def test_a_no_to_the_consent_request_is_recorded_as_declined(staff, db, runtime, clinic):
    intake = make_intake(db, clinic, consent=False)
    page = staff.get(f"/staff/intakes/{intake.id}/plan").get_data(as_text=True)
    staff.post(f"/staff/intakes/{intake.id}/consent-request", data={"csrf_token": _csrf(page)})
    assert "won't send you automated messages" in sms(staff, "no")[1]
    db.expire_all()
    assert state_of(db, intake.client, clinic).status is ConsentStatus.DECLINED


def test_stop_suppresses_what_comes_due_and_start_resumes_the_rest_on_time(client, db, runtime, clinic, clock,
                                                                        fake_twilio):
    plan = make_plan(db, runtime, clinic, clock, phone=CLIENT, days=3, schedule=True)
    work(runtime)  # the plan confirmation
    to_client = lambda: [r for r in fake_twilio.sent() if r.form["To"] == CLIENT]  # noqa: E731
    assert len(to_client()) == 1
    assert "no more messages from Glow Clinic" in sms(client, "STOP")[1]
    notice = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).one()
    assert f"client #{plan.client_id} opted out" in notice.body and f"plan {plan.id} session 1" in notice.body
    assert CLIENT not in notice.body
    advance(runtime, clock, timedelta(days=2))  # the 48 h reminder comes due while opted out
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id)
                      .order_by(OutboxMessage.due_at)).all()
    suppressed = [r for r in rows if r.status is MessageStatus.SUPPRESSED]
    assert suppressed and all(r.result == "opted_out" and r.due_at <= clock.now() for r in suppressed)
    assert len(to_client()) == 1

    assert "subscribed to messages again" in sms(client, "START")[1]
    later = [r for r in rows if r.due_at > clock.now()]
    assert later and all(r.status in (MessageStatus.PENDING, MessageStatus.QUEUED) for r in later)
    advance(runtime, clock, timedelta(days=4), reconcile=True)
    db.expire_all()
    resumed = [db.get(OutboxMessage, row.id) for row in later if row.due_at <= clock.now()]
    assert resumed
    for fresh in resumed:
        assert fresh.status is MessageStatus.SENT and fresh.sent_at - fresh.due_at < timedelta(minutes=1)
    for row in suppressed:
        assert db.get(OutboxMessage, row.id).status is MessageStatus.SUPPRESSED  # never sent late
    events = [e.action for e in db.scalars(select(ConsentEvent).order_by(ConsentEvent.id))]
    assert events[-2:] == ["opt_out", "opt_in"]


def test_plan_page_and_api_say_paused_while_the_client_is_opted_out(staff, api, db, runtime, clinic, clock):
    plan = make_plan(db, runtime, clinic, clock, phone=CLIENT)
    sms(staff, "stop")
    page = staff.get(f"/staff/plans/{plan.id}").get_data(as_text=True)
    assert "paused: client opted out" in page and "opt out (sms keyword)" in page
    body = api("GET", f"/api/plans/{plan.id}").json
    assert body["paused"] == "paused: client opted out" and body["consent"]["opted_out_by"] == "stop"
    assert body["status"] == "active"


def test_opt_outs_are_listed_for_staff_and_in_the_api_per_clinic(staff, api, db, runtime, clinic):
    from tests.helpers import make_clinic

    make_intake(db, clinic)
    other = make_clinic(db, name="Other Spa", number="+12125550177", staff=())
    twilio_post(staff, "/twilio/sms", {"MessageSid": "SM" + "e" * 32, "From": "+12125550188",
                                       "To": other.numbers[0].number, "Body": "stop", "NumMedia": "0"})
    assert api("GET", "/api/opt-outs").json == {"opt_outs": []}  # another clinic's opt-out is not ours
    sms(staff, "Take me off your list")
    listed = api("GET", "/api/opt-outs").json["opt_outs"]
    assert [(o["client_phone"], o["by"], o["method"]) for o in listed] == [
        (CLIENT, "Take me off your list", "sms_keyword")]
    page = staff.get("/staff/opt-outs").get_data(as_text=True)
    assert "(212) 555-0142" in page and "Take me off your list" in page and "555-0188" not in page
    doc = staff.get("/api/openapi.json").json
    assert "/api/opt-outs" in doc["paths"]
