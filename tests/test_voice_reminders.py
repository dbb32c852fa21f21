"""Reminder calls walked through the real voice endpoints with signed requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from glowline.store.models import (Channel, ConsentEvent, InboundMessage, MessageEvent, MessageKind, MessageStatus,
                             OutboxMessage, SessionStatus)
from tests.helpers import CLINIC_NUMBER, PUBLIC_BASE_URL, gather_of, make_plan, parse_twiml, said, twilio_post

CALLER = "+12125550111"
CALL_SID = "CA" + "1" * 32


@pytest.fixture
def voice_plan(db, clinic, runtime, clock):
    """A voice-preferring client's plan, its first session a week away (Tue Dec 8, 10 AM New York)."""
    return make_plan(db, runtime, clinic, clock, phone=CALLER, channel=Channel.VOICE)


def placed_reminder(db, plan, sid: str = CALL_SID) -> OutboxMessage:
    """The first session's first reminder, as the send job leaves it after calls.create."""
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                     OutboxMessage.kind == MessageKind.REMINDER)
                         .order_by(OutboxMessage.due_at)).first()
    message.status = MessageStatus.SENT
    message.provider_sid = sid
    db.commit()
    return message


def call_form(message, **extra) -> dict:
    # An outbound call: From is the clinic, To is the client.
    return {"CallSid": message.provider_sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER,
            "To": message.to_number, "CallStatus": "in-progress", "Direction": "outbound-api", **extra}


def answer_call(client, message, **extra):
    return twilio_post(client, f"/twilio/voice/reminder?message_id={message.id}", call_form(message, **extra))


def press(client, message, digits: str = "", attempt: int = 1, **extra):
    return twilio_post(client, f"/twilio/voice/reminder/gather?message_id={message.id}&attempt={attempt}",
                       call_form(message, Digits=digits, **extra))


def status_callback(client, message, call_status: str, **extra):
    return twilio_post(client, "/twilio/voice/status", call_form(message, CallStatus=call_status, **extra))


def follow_ups(db, message) -> int:
    return db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.retry_of_id == message.id))


def fresh(db, row):
    db.expire_all()
    return db.get(type(row), row.id)


def test_voice_preferring_client_gets_reminder_calls_not_texts(db, voice_plan):
    reminders = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == voice_plan.id,
                                                       OutboxMessage.kind == MessageKind.REMINDER)).all()
    assert reminders and {m.channel for m in reminders} == {Channel.VOICE}


def test_reminder_call_says_clinic_day_time_and_keys_and_nothing_clinical(client, db, voice_plan, runtime):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(answer_call(client, message))
    gather = gather_of(root)
    assert gather.get("input") == "speech dtmf" and gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/reminder/gather?message_id={message.id}&attempt=1"
    text = said(root)
    assert "Glow Clinic" in text and "Tuesday, December 8 at 10 AM" in text
    assert "Press 1 to confirm" in text and "Press 2" in text and "Press 9 to stop reminders" in text
    protocol = runtime.catalog.get("acne-scarring")
    for word in ["acne", "scar", protocol.name.lower(), "laser", "microneedling"]:
        assert word not in text.lower()
    assert root[-1].tag == "Hangup"


def test_confirm_with_1_lands_on_the_session_and_the_message(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    parse_twiml(answer_call(client, message))
    root = parse_twiml(press(client, message, "1"))
    assert "confirmed" in said(root) and gather_of(root) is None and root[-1].tag == "Hangup"
    message = fresh(db, message)
    assert message.result == "confirmed"
    assert message.session.status is SessionStatus.CONFIRMED and message.session.confirmed_at is not None
    assert message.session.call_result == "confirmed"
    # The call then completes: delivered, and the keypress stays the result.
    assert status_callback(client, message, "completed").status_code == 204
    message = fresh(db, message)
    assert message.status is MessageStatus.DELIVERED and message.result == "confirmed"


def test_callback_request_with_2_reaches_the_clinic_inbox(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(press(client, message, "2"))
    assert "call you back" in said(root)
    message = fresh(db, message)
    assert message.result == "callback_requested"
    assert message.session.status is SessionStatus.CALLBACK_REQUESTED
    inbox = db.scalars(select(InboundMessage).where(InboundMessage.needs_attention.is_(True))).all()
    assert [(m.handled_as, m.client_id) for m in inbox] == [("callback_requested", message.client_id)]


def test_opt_out_with_9_pauses_every_later_message_without_destroying_it(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(press(client, message, "9"))
    assert "no more calls or texts" in said(root)
    message = fresh(db, message)
    assert message.result == "opted_out"
    assert message.client.opted_out
    assert message.session.status is SessionStatus.SCHEDULED
    # Suppress, never destroy: the later rows wait; the send job suppresses each one that comes due
    # while the client is opted out, and a START resumes the rest.
    still_open = db.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.client_id == message.client_id, OutboxMessage.id != message.id,
        OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.QUEUED])))
    assert still_open > 0


@pytest.mark.parametrize("speech", ["Don't call me again.", "please stop calling me", "take me off your list"])
def test_saying_stop_on_a_reminder_call_opts_out_of_calls_and_texts(client, db, voice_plan, speech):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(press(client, message, "", SpeechResult=speech))
    assert "no more calls or texts" in said(root)
    message = fresh(db, message)
    assert message.result == "opted_out" and message.client.opted_out
    assert message.session.status is SessionStatus.SCHEDULED  # not a call-back request
    event = db.scalars(select(ConsentEvent).where(ConsentEvent.action == "opt_out")).one()
    assert (event.method, event.wording) == ("voice_speech", speech)


def test_wrong_key_is_asked_again_once_then_the_call_ends(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    first = parse_twiml(press(client, message, "5"))
    assert "not one of the choices" in said(first)
    assert gather_of(first).get("action").endswith(f"message_id={message.id}&attempt=2")
    second = parse_twiml(press(client, message, "7", attempt=2))
    assert gather_of(second) is None and second[-1].tag == "Hangup"
    message = fresh(db, message)
    assert message.result is None and message.session.status is SessionStatus.SCHEDULED


def test_a_retried_keypress_replays_the_same_twiml_and_acts_once(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    first = press(client, message, "2")
    again = press(client, message, "2")
    assert again.get_data() == first.get_data()
    rows = db.scalars(select(InboundMessage).where(InboundMessage.sid == f"{CALL_SID}:reminder:1")).all()
    assert len(rows) == 1


def test_a_machine_hears_one_short_message_and_no_menu(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(answer_call(client, message, AnsweredBy="machine_end_beep"))
    assert gather_of(root) is None and root[-1].tag == "Hangup"
    text = said(root)
    assert "Glow Clinic" in text and "Tuesday, December 8 at 10 AM" in text and "2 1 2, 5 5 5, 0 1 2 3" in text
    status_callback(client, message, "completed", AnsweredBy="machine_end_beep")
    message = fresh(db, message)
    assert message.result == "no_answer" and message.session.call_result == "no_answer"
    assert follow_ups(db, message) == 0


@pytest.mark.parametrize("call_status, result", [("no-answer", "no_answer"), ("busy", "busy"), ("failed", "failed")])
def test_unanswered_calls_land_their_result_and_do_not_retry_by_default(client, db, voice_plan, call_status, result):
    message = placed_reminder(db, voice_plan)
    assert status_callback(client, message, call_status).status_code == 204
    assert status_callback(client, message, call_status).status_code == 204  # Twilio sent it twice
    message = fresh(db, message)
    assert message.result == result and message.session.call_result == result
    assert message.status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED) and message.finished_at is not None
    assert message.session.status is SessionStatus.SCHEDULED
    events = db.scalars(select(MessageEvent).where(MessageEvent.provider_sid == CALL_SID)).all()
    assert [e.status for e in events] == [call_status]
    assert follow_ups(db, message) == 0


def test_clinic_retry_setting_owes_exactly_one_later_call(client, db, voice_plan, clinic, clock):
    clinic.voice_retry_minutes = 30
    db.commit()
    message = placed_reminder(db, voice_plan)
    status_callback(client, message, "ringing")
    status_callback(client, message, "no-answer")
    status_callback(client, message, "no-answer")
    retries = db.scalars(select(OutboxMessage).where(OutboxMessage.retry_of_id == message.id)).all()
    assert len(retries) == 1
    retry = retries[0]
    assert retry.channel is Channel.VOICE and retry.session_id == message.session_id
    assert retry.due_at == clock.now() + timedelta(minutes=30) and retry.status is MessageStatus.QUEUED
    # The retry goes unanswered too: no third call.
    retry.status, retry.provider_sid = MessageStatus.SENT, "CA" + "2" * 32
    db.commit()
    status_callback(client, retry, "busy")
    assert follow_ups(db, retry) == 0
    assert fresh(db, retry).result == "busy"


def test_status_never_goes_backwards(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    status_callback(client, message, "completed")
    status_callback(client, message, "ringing")  # late and out of order
    message = fresh(db, message)
    assert message.status is MessageStatus.DELIVERED and message.result == "answered"


def test_unsigned_or_forged_requests_are_refused_and_change_nothing(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    forged = twilio_post(client, f"/twilio/voice/reminder/gather?message_id={message.id}&attempt=1",
                         call_form(message, Digits="1"), token="wrong-token")
    unsigned = client.post("/twilio/voice/status", data=call_form(message, CallStatus="busy"))
    assert forged.status_code == 403 and unsigned.status_code == 403
    message = fresh(db, message)
    assert message.result is None and message.session.status is SessionStatus.SCHEDULED
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_a_call_for_an_unknown_or_text_message_gets_an_apology(client, db, voice_plan):
    message = placed_reminder(db, voice_plan)
    root = parse_twiml(twilio_post(client, "/twilio/voice/reminder?message_id=999999", call_form(message)))
    assert "Sorry" in said(root) and gather_of(root) is None
    other = parse_twiml(twilio_post(client, f"/twilio/voice/reminder?message_id={message.id}",
                                    call_form(message, CallSid="CA" + "9" * 32)))
    assert "Sorry" in said(other)
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0
