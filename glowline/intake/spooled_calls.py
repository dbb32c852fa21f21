"""Call steps kept in the inbound spool while the database was down, replayed once it answers.

What each kind replays, and why (the caller has hung up by then, so nothing is spoken):

- ``call_status``: a reminder call's status callback, applied exactly as the webhook would
  (Twilio never resends it; losing it would leave the row "outcome unknown").
- ``reminder_answer``: the key or words given to a reminder call (1 confirm, 2 call back,
  9 or a spoken stop: opt out). Applied as if just given, once (the same CallSid + step
  key as the live webhook), because an opt-out must never be lost; the caller was told
  the clinic would be in touch, so the row is flagged for staff too.
- ``call_step``: any other step (an incoming call, a mid-intake answer, a rebooking key).
  Replaying it into the conversation would move an intake the caller has left, so it is
  stored for staff as a call to return (``call_outage``), and a spoken stop is applied.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.compliance import consent
from glowline.compliance.stop_intent import StopIntent, classify
from glowline.exceptions import ValidationError
from glowline.intake.router import get_or_create_client
from glowline.phone import to_e164
from glowline.store.models import Client, Clinic, HandledAs
from glowline.voice.calls import (MAX_KEYPAD_ATTEMPTS, apply_call_status, apply_choice,
                                  message_for_call, read_choice)
from glowline.voice.twiml import AnswerVia, claim_step, read_answer, step_sid

log = logging.getLogger(__name__)

# The spool entry's query key naming the route a ``call_step`` came to (part of its dedupe key).
ROUTE_ARG = "_route"


class CallSpool(str, enum.Enum):
    """The kinds of spool entry a call step becomes while the database is down."""

    STATUS = "call_status"
    REMINDER_ANSWER = "reminder_answer"
    STEP = "call_step"


def _int(raw: str | None) -> int | None:
    try:
        return int(raw or "")
    except ValueError:
        return None


def _call_message(session: Session, rt, call_sid: str, raw_id: str | None):
    """The outbox row of a reminder call, its clinic attached from the clinic directory (no query per step)."""
    message = message_for_call(session, call_sid, _int(raw_id)) if call_sid else None
    if message is not None:
        rt.clinics.by_id(session, message.clinic_id)  # the lazy message.clinic finds it in the session
    return message


def apply_call_status_form(session: Session, rt, form: Mapping[str, str], args: Mapping[str, str], *,
                           now: datetime) -> bool:
    """Apply one call status callback (committed); False when it is no reminder call of ours."""
    call_sid = form.get("CallSid") or ""
    call_status = (form.get("CallStatus") or "").strip().lower()
    message = _call_message(session, rt, call_sid, args.get("message_id"))
    if message is None or not call_status:
        return False
    follow_up = apply_call_status(session, message, call_sid=call_sid, call_status=call_status,
                                  answered_by=form.get("AnsweredBy"), error_code=_int(form.get("ErrorCode")),
                                  now=now, retry_minutes=message.clinic.voice_retry_minutes)
    if follow_up is not None:
        rt.dispatcher.schedule(session, [follow_up])
    session.commit()
    return True


def _replay_reminder_answer(session: Session, rt, form: Mapping[str, str], args: Mapping[str, str],
                            now: datetime) -> None:
    call_sid = form.get("CallSid") or ""
    message = _call_message(session, rt, call_sid, args.get("message_id"))
    if message is None:
        return
    attempt = _int(args.get("attempt")) or 1
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"reminder:{attempt}"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number, body=answer.reply,
                             confidence=answer.confidence, now=now)
    if replay is not None or row is None:
        return  # the live webhook (or an earlier replay) already took this answer
    choice = read_choice(answer.reply if answer.via is AnswerVia.DTMF else None,
                         answer.reply if answer.via is AnswerVia.SPEECH else None)
    # No retry: the call is over. The TwiML is kept as the step's record, never played.
    twiml, result = apply_choice(session, message, choice, now=now, attempt=MAX_KEYPAD_ATTEMPTS, retry_url="")
    row.handled_as = result.value if result is not None else HandledAs.CALL_OUTAGE.value
    row.needs_attention = True
    row.reply = twiml


def _replay_step(session: Session, rt, form: Mapping[str, str], args: Mapping[str, str], now: datetime) -> None:
    call_sid = form.get("CallSid") or ""
    message = _call_message(session, rt, call_sid, args.get("message_id")) if "message_id" in args else None
    clinic: Clinic | None
    client: Client | None
    phone: str | None
    if message is not None:
        clinic, client, phone = message.clinic, message.client, message.to_number
    else:
        clinic = rt.clinics.by_number(session, (form.get("To") or "").strip())
        try:
            phone = to_e164(form.get("From") or "", field="From")
        except ValidationError:
            phone = None
        client = get_or_create_client(session, clinic, phone, now) if clinic is not None and phone else None
    if clinic is None or phone is None or not call_sid:
        return  # nobody to call back: nothing to keep
    answer = read_answer(form)
    label = f"outage:{args.get(ROUTE_ARG, '')}:{args.get('step') or args.get('attempt') or 0}"
    row, replay = claim_step(session, sid=step_sid(call_sid, label)[:80], clinic_id=clinic.id,
                             client_id=client.id if client is not None else None, from_number=phone,
                             body=answer.reply, confidence=answer.confidence,
                             handled_as=HandledAs.CALL_OUTAGE.value, now=now)
    if replay is not None or row is None:
        return
    row.needs_attention = True
    row.reply = ""
    if client is not None and answer.via is AnswerVia.SPEECH and classify(answer.reply) is StopIntent.STOP:
        # A spoken stop is a revocation wherever in the call it was said.
        consent.opt_out(session, client=client, clinic=clinic, wording=answer.reply, method="voice_speech", now=now)


def replay_call(session: Session, rt, kind: str, form: Mapping[str, str], args: Mapping[str, str], *,
                now: datetime) -> None:
    """Handle one spooled call step of ``kind`` with the time it arrived, and commit."""
    if kind == CallSpool.STATUS.value:
        apply_call_status_form(session, rt, form, args, now=now)
        return
    if kind == CallSpool.REMINDER_ANSWER.value:
        _replay_reminder_answer(session, rt, form, args, now)
    else:
        _replay_step(session, rt, form, args, now)
    session.commit()
