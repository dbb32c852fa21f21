"""A clinic on a Twilio Messaging Service (US A2P 10DLC), and Twilio's carrier errors named to staff."""

from __future__ import annotations

import uuid
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from cli.main import main
from glowline.store.models import AuditEvent, Channel, Client, Clinic, MessageKind, MessageStatus, OutboxMessage
from glowline.transports.errors import explain
from tests.helpers import CLIENT_NUMBER, fresh, log_in_staff, make_client, make_message, schedule, twilio_post
from tests.worker_helpers import advance

SERVICE = "MG" + "ab" * 16
POOL_NUMBER = "+13125550177"  # one of the service's numbers: no clinic's own


def with_service(db, clinic, sid=SERVICE):
    clinic.messaging_service_sid = sid
    db.commit()
    return clinic


def test_texts_of_a_clinic_with_a_messaging_service_carry_it_and_no_from(runtime, db, clinic, clock, fake_twilio):
    with_service(db, clinic)
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=5))
    assert fresh(db, row).status is MessageStatus.SENT
    [request] = fake_twilio.sent("Messages")
    assert request.form["MessagingServiceSid"] == SERVICE and "From" not in request.form
    assert request.form["To"] == CLIENT_NUMBER


def test_calls_still_come_from_the_clinics_number(runtime, db, clinic, clock, fake_twilio):
    with_service(db, clinic)
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), channel=Channel.VOICE, kind=MessageKind.REMINDER)
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=5))
    [call] = fake_twilio.sent("Calls")
    assert call.form["From"] == clinic.numbers[0].number and "MessagingServiceSid" not in call.form


def test_a_clinic_with_only_a_service_texts_the_reminders_of_clients_who_prefer_calls(runtime, db, clinic, clock,
                                                                                     fake_twilio):
    with_service(db, clinic)
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), channel=Channel.VOICE, kind=MessageKind.REMINDER)
    row.from_number = ""  # written while the clinic had no number of its own
    for number in list(clinic.numbers):
        db.delete(number)
    db.commit()
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=5))
    assert fake_twilio.sent("Calls") == []
    [text] = fake_twilio.sent("Messages")
    assert text.form["MessagingServiceSid"] == SERVICE and text.form["Body"] == row.body
    sent = fresh(db, row)
    assert (sent.status, sent.channel) == (MessageStatus.SENT, Channel.SMS)


def test_a_call_row_written_before_the_clinic_had_a_number_calls_from_the_number_it_has_now(runtime, db, clinic,
                                                                                           clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), channel=Channel.VOICE, kind=MessageKind.REMINDER)
    row.from_number = ""
    db.commit()
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=5))
    [call] = fake_twilio.sent("Calls")
    assert call.form["From"] == clinic.numbers[0].number


def test_a_clinic_without_a_service_still_sends_from_its_number(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=5))
    [request] = fake_twilio.sent("Messages")
    assert request.form["From"] == clinic.numbers[0].number and "MessagingServiceSid" not in request.form


def test_an_inbound_text_to_a_pool_number_reaches_the_clinic_of_the_service(client, db, clinic):
    with_service(db, clinic)
    other = Clinic(name="Other", timezone="America/Chicago", contact_phone="+13125550111", templates={})
    db.add(other)
    db.commit()
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": CLIENT_NUMBER, "To": POOL_NUMBER, "Body": "hi",
              "MessagingServiceSid": SERVICE}
    response = twilio_post(client, "/twilio/sms", params)
    assert response.status_code == 200 and "Glow Clinic" in response.get_data(as_text=True)
    person = db.scalar(select(Client).where(Client.phone == CLIENT_NUMBER))
    assert person.clinic_id == clinic.id
    # Without the service's SID, a pool number is nobody's: 404, nothing stored.
    stray = twilio_post(client, "/twilio/sms", {**params, "MessageSid": "SM" + uuid.uuid4().hex,
                                                "MessagingServiceSid": "MG" + "cd" * 16})
    assert stray.status_code == 404


def test_a_malformed_messaging_service_sid_is_refused_by_the_contract(client, db, clinic):
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": CLIENT_NUMBER, "To": POOL_NUMBER, "Body": "hi",
              "MessagingServiceSid": "MG123"}
    response = twilio_post(client, "/twilio/sms", params)
    assert response.status_code == 400 and "MessagingServiceSid" in response.get_data(as_text=True)


def _env(config):
    return {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url, "GLOWLINE_VAR_DIR": str(config.var_dir)}


def test_cli_adds_a_clinic_with_only_a_messaging_service_and_sets_one(config, db):
    result = CliRunner().invoke(main, ["clinic", "add", "--name", "Pool Clinic", "--messaging-service", SERVICE,
                                       "--contact", "+12125550123", "--timezone", "America/New_York"], env=_env(config))
    assert result.exit_code == 0, result.output
    pool = db.scalar(select(Clinic).where(Clinic.name == "Pool Clinic"))
    assert pool.messaging_service_sid == SERVICE and pool.numbers == []
    result = CliRunner().invoke(main, ["clinic", "add", "--name", "Numbered", "--number", "+12125550100",
                                       "--timezone", "America/New_York"], env=_env(config))
    assert result.exit_code == 0, result.output
    numbered = db.scalar(select(Clinic).where(Clinic.name == "Numbered"))
    other = "MG" + "12" * 16
    result = CliRunner().invoke(main, ["clinic", "set", "--clinic", str(numbered.id), "--messaging-service", other],
                                env=_env(config))
    assert result.exit_code == 0 and f"messaging service {other}" in result.output
    for bad in ("MG123", SERVICE):  # not a SID; another clinic's service
        result = CliRunner().invoke(main, ["clinic", "set", "--clinic", str(numbered.id), "--messaging-service", bad],
                                    env=_env(config))
        assert result.exit_code != 0 and "messaging_service" in result.output
    db.expire_all()
    assert db.get(Clinic, numbered.id).messaging_service_sid == other


def test_staff_set_the_messaging_service_on_the_settings_page(app, db, clinic):
    from tests.helpers import csrf

    staff = log_in_staff(app.test_client(), db, clinic, "ana")
    page = staff.get("/staff/settings/sending").get_data(as_text=True)
    answer = staff.post("/staff/settings/sending", data={"csrf_token": csrf(page), "messaging_service": SERVICE,
                                                         "photo_retention_days": "400"})
    assert answer.status_code == 302
    db.expire_all()
    assert db.get(Clinic, clinic.id).messaging_service_sid == SERVICE
    assert db.get(Clinic, clinic.id).photo_retention_days == 400
    bad = staff.post("/staff/settings/sending", data={"csrf_token": csrf(page), "messaging_service": "MGnope",
                                                      "photo_retention_days": "400"}, follow_redirects=True)
    assert bad.status_code == 200 and "MG followed by 32" in bad.get_data(as_text=True)


def test_carrier_errors_are_explained_with_what_to_do():
    assert "not registered" in explain(30034) and "Messaging Service" in explain(30034)
    assert "spam" in explain(30007) and "sample messages" in explain(30007)
    assert "landline" in explain(30006) and "Call the client" in explain(30006)
    for code in (30003, 30005):
        assert f"Twilio error {code}" in explain(code) and len(explain(code)) > 60


def test_a_burst_of_carrier_blocks_raises_one_staff_alert(app, client, runtime, db, clinic, clock, fake_twilio):
    rows = []
    for n in range(12):
        person = make_client(db, phone=f"+1212555{n:04d}")
        row = make_message(db, clinic, person, due_at=clock.now())
        row.status, row.provider_sid, row.sent_at = MessageStatus.SENT, "SM" + uuid.uuid4().hex, clock.now()
        rows.append(row)
    db.commit()
    for row in rows:
        response = twilio_post(client, f"/twilio/status?message_id={row.id}",
                               {"MessageSid": row.provider_sid, "MessageStatus": "undelivered", "ErrorCode": "30034"})
        assert response.status_code in (200, 204)
    alerts = db.scalars(select(AuditEvent).where(AuditEvent.action == "carrier_alert")).all()
    notices = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).all()
    assert len(alerts) == 1 and len(notices) == len(clinic.staff_phones) == 1
    assert "30034" in notices[0].body and CLIENT_NUMBER not in notices[0].body
    staff = log_in_staff(app.test_client(), db, clinic, "ana")
    html = staff.get("/staff/queue").get_data(as_text=True)
    assert 'id="carrier-alert"' in html and "Carriers blocked 12" in html
    failed = fresh(db, rows[0])
    assert "A2P 10DLC" in failed.last_error
