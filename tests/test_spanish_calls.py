"""Reminder calls and keypad rebooking for a Spanish-speaking client: es-US from the first word to the booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from glowline.store.models import Channel, MessageKind, MessageStatus, OutboxMessage, Plan, SessionStatus
from tests.helpers import CLINIC_NUMBER, gather_of, make_plan, parse_twiml, said, twilio_post
from tests.test_rebooking import NY, hours  # noqa: F401  (the opening-hours fixture)
from tests.test_spanish_intake import spanish


def spanish_reminder(db, runtime, clinic, clock, sid):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550111", channel=Channel.VOICE, days=9)
    plan.client.language = "es"
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                     OutboxMessage.kind == MessageKind.REMINDER)
                         .order_by(OutboxMessage.due_at)).first()
    message.status, message.provider_sid = MessageStatus.SENT, sid
    db.commit()
    form = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER, "To": message.to_number,
            "CallStatus": "in-progress", "Direction": "outbound-api"}
    return plan, message, form


def all_es_us(root) -> bool:
    return all(s.get("language") == "es-US" and s.get("voice") == "Polly.Lupe" for s in root.iter("Say"))


def test_a_spanish_reminder_call_speaks_and_listens_in_es_us(client, db, runtime, clinic, clock):
    _plan, message, form = spanish_reminder(db, runtime, clinic, clock, "CA" + "8" * 32)
    root = parse_twiml(twilio_post(client, f"/twilio/voice/reminder?message_id={message.id}", form))
    gather = gather_of(root)
    assert all_es_us(root) and gather.get("language") == "es-US" and "confirmar" in gather.get("hints")
    words = spanish(said(root))
    assert "Glow Clinic" in words and "jueves 10 de diciembre" in words
    confirmed = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/gather?message_id={message.id}&attempt=1",
                                        dict(form, SpeechResult="sí, confirmo", Confidence="0.9")))
    assert all_es_us(confirmed) and "Gracias" in spanish(said(confirmed))
    db.expire_all()
    assert db.get(OutboxMessage, message.id).session.status is SessionStatus.CONFIRMED


def test_a_spanish_client_rebooks_by_keypad_in_spanish(client, db, runtime, hours, clock):  # noqa: F811
    plan, message, form = spanish_reminder(db, runtime, hours, clock, "CA" + "9" * 32)
    twilio_post(client, f"/twilio/voice/reminder?message_id={message.id}", form)
    offered = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/gather?message_id={message.id}&attempt=1",
                                      dict(form, Digits="2")))
    words = spanish(said(offered))
    assert all_es_us(offered) and "Marque 2 para el jueves 3 de diciembre" in words
    booked = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/rebook?message_id={message.id}&attempt=1",
                                     dict(form, SpeechResult="la dos", Confidence="0.9")))
    spoken = spanish(said(booked))
    assert all_es_us(booked) and "su cita queda reservada" in spoken.lower() and spoken.endswith("Adiós.")
    assert "Responda R" not in spoken
    db.expire_all()
    assert db.get(Plan, plan.id).sessions[0].starts_at == datetime(2026, 12, 3, 9, tzinfo=NY)
