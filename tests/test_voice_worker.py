"""Reminder calls placed by a real RQ worker through the real Twilio SDK against the local Twilio server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from glowline.delivery.channels import channel_for
from glowline.store.models import Channel, MessageKind, MessageStatus, OutboxMessage, SessionStatus
from glowline.voice.calls import fallback_call
from tests.helpers import CLINIC_NUMBER, PUBLIC_BASE_URL, gather_of, make_plan, parse_twiml, said, twilio_post
from tests.twilio_server import Scripted
from tests.worker_helpers import run_until

CALLER = "+12125550111"


def rows(db, plan, kind: MessageKind) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id, OutboxMessage.kind == kind)
                           .order_by(OutboxMessage.due_at)))


def test_reminder_call_is_placed_once_with_our_twiml_and_status_callback(runtime, db, clinic, clock, fake_twilio,
                                                                        client):
    plan = make_plan(db, runtime, clinic, clock, phone=CALLER, channel=Channel.VOICE, schedule=True)
    reminder = rows(db, plan, MessageKind.REMINDER)[0]
    assert reminder.channel is Channel.VOICE
    run_until(runtime, clock, reminder.due_at + timedelta(minutes=1), reconcile=True)

    reminder = rows(db, plan, MessageKind.REMINDER)[0]
    url = f"{PUBLIC_BASE_URL}/twilio/voice/reminder?message_id={reminder.id}"
    calls = [c for c in fake_twilio.sent("Calls") if c.form.get("Url") == url]
    assert len(calls) == 1
    placed = calls[0]
    assert placed.auth_ok and placed.form["To"] == CALLER and placed.form["From"] == CLINIC_NUMBER
    assert placed.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/voice/status?message_id={reminder.id}"
    assert reminder.status is MessageStatus.SENT and reminder.provider_sid == placed.sid
    assert not [m for m in fake_twilio.sent("Messages") if m.form["To"] == CALLER and "reminder" in m.form["Body"]]

    # A duplicate job, a reconcile pass, a later worker: never a second call.
    from workers.jobs import send_message

    send_message(reminder.id)
    run_until(runtime, clock, clock.now() + timedelta(hours=1), reconcile=True)
    assert len([c for c in fake_twilio.attempts("Calls") if c.form.get("Url") == url]) == 1

    # Twilio fetches the TwiML from that Url when the client answers, then posts the key.
    form = {"CallSid": placed.sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER, "To": CALLER,
            "CallStatus": "in-progress"}
    root = parse_twiml(twilio_post(client, url.removeprefix(PUBLIC_BASE_URL), form))
    assert "Glow Clinic" in said(root) and "Tuesday, December 8 at 10 AM" in said(root)
    action = gather_of(root).get("action").removeprefix(PUBLIC_BASE_URL)
    parse_twiml(twilio_post(client, action, {**form, "Digits": "1"}))
    twilio_post(client, placed.form["StatusCallback"].removeprefix(PUBLIC_BASE_URL),
                {**form, "CallStatus": "completed", "CallDuration": "21"})
    reminder = rows(db, plan, MessageKind.REMINDER)[0]
    assert (reminder.status, reminder.result) == (MessageStatus.DELIVERED, "confirmed")
    assert reminder.session.status is SessionStatus.CONFIRMED  # the confirmation lands on the plan


def _sms_plan(runtime, db, clinic, clock):
    clinic.voice_fallback = True
    return make_plan(db, runtime, clinic, clock, phone=CALLER, schedule=True)


def _calls_for(fake_twilio, row) -> list:
    url = f"{PUBLIC_BASE_URL}/twilio/voice/reminder?message_id={row.id}"
    return [c for c in fake_twilio.sent("Calls") if c.form.get("Url") == url]


def test_a_reminder_text_to_a_landline_becomes_one_call_when_the_clinic_allows(runtime, db, clinic, clock,
                                                                              fake_twilio):
    plan = _sms_plan(runtime, db, clinic, clock)
    text = rows(db, plan, MessageKind.REMINDER)[0]
    run_until(runtime, clock, text.due_at - timedelta(minutes=1), reconcile=True)
    fake_twilio.script("Messages", Scripted(400, 21614, "To number is not a mobile number"))
    run_until(runtime, clock, text.due_at + timedelta(minutes=1), reconcile=True)
    text = rows(db, plan, MessageKind.REMINDER)[0]
    assert (text.status, text.error_code) == (MessageStatus.FAILED, 21614)

    # The send job itself scheduled the follow-up call; running everything again adds none.
    run_until(runtime, clock, text.due_at + timedelta(minutes=5), reconcile=True)
    calls = [r for r in rows(db, plan, MessageKind.REMINDER) if r.channel is Channel.VOICE]
    assert len(calls) == 1 and calls[0].retry_of_id == text.id
    placed = _calls_for(fake_twilio, calls[0])
    assert len(placed) == 1 and placed[0].form["To"] == CALLER
    with runtime.sessions() as session:
        assert fallback_call(session, session.get(OutboxMessage, text.id), now=clock.now()) is None


def test_an_undelivered_text_to_a_landline_becomes_one_call(runtime, db, clinic, clock, fake_twilio, client):
    plan = _sms_plan(runtime, db, clinic, clock)
    text = rows(db, plan, MessageKind.REMINDER)[0]
    run_until(runtime, clock, text.due_at + timedelta(minutes=1), reconcile=True)
    text = rows(db, plan, MessageKind.REMINDER)[0]
    assert text.status is MessageStatus.SENT
    for _ in range(2):  # a duplicate callback must not add a second call
        response = twilio_post(client, "/twilio/status", {"MessageSid": text.provider_sid,
                                                          "MessageStatus": "undelivered", "ErrorCode": "30006"})
        assert response.status_code == 200
    run_until(runtime, clock, clock.now() + timedelta(minutes=1), reconcile=True)
    calls = [r for r in rows(db, plan, MessageKind.REMINDER) if r.channel is Channel.VOICE]
    assert len(calls) == 1
    assert len(_calls_for(fake_twilio, calls[0])) == 1


def test_aftercare_stays_a_text_for_a_voice_preferring_client():
    assert channel_for(MessageKind.REMINDER, Channel.VOICE) is Channel.VOICE
    assert channel_for(MessageKind.PLAN_CONFIRMATION, Channel.VOICE) is Channel.VOICE
    assert channel_for(MessageKind.AFTERCARE, Channel.VOICE) is Channel.SMS
    assert channel_for(MessageKind.AFTERCARE_END, Channel.VOICE) is Channel.SMS
    assert channel_for(MessageKind.REMINDER, Channel.SMS) is Channel.SMS


def test_a_landline_text_of_a_clinic_with_no_number_to_call_from_makes_no_call(runtime, db, clinic, clock):
    from tests.helpers import make_client, make_message

    clinic.voice_fallback, clinic.messaging_service_sid = True, "MG" + "ab" * 16
    for number in list(clinic.numbers):
        db.delete(number)
    db.commit()
    db.expire_all()  # as the send job sees it, in a session of its own
    text = make_message(db, clinic, make_client(db), due_at=clock.now(), kind=MessageKind.REMINDER)
    text.status, text.error_code = MessageStatus.FAILED, 21614
    assert text.clinic.sending_number == ""
    # The call could only go out as a text again (and fail again): none.
    assert fallback_call(db, text, now=clock.now()) is None
