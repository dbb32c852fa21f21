"""Reminder calls: what the call says, what a keypress does, and what a call's status means.

The worker places the call (transports + workers.jobs); this module owns everything after
Twilio fetches the call's TwiML. Spoken text is minimum necessary: the clinic's name, the
day and time, what to press, the call-back number. No condition or treatment names, since
a voicemail or a speakerphone is heard by whoever is near it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from glowline.compliance import consent as compliance
from glowline.compliance.stop_intent import StopIntent, classify
from glowline.delivery import outbox
from glowline.delivery.channels import CALL_KINDS
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.store.models import (Channel, MessageKind, MessageStatus, OutboxMessage, PlanStatus, SessionStatus,
                             TreatmentSession)
from glowline.plans.timeline import next_allowed_time
from glowline.normalize import fold
from glowline.messages.dates import spoken_session_moment
from glowline.voice.twiml import SpokenGather, SpokenResponse, spoken_clinic_phone

log = logging.getLogger(__name__)

# Twilio: 21614 "To number is not a mobile number" (synchronous), 30006 "landline or
# unreachable carrier" (in a status callback). Either means texts will never arrive.
NOT_MOBILE_CODES = frozenset({21614, 30006})
MAX_KEYPAD_ATTEMPTS = 2
SPEECH_HINTS = {"en": "confirm, yes, call back, call me, stop",
                "es": "confirmar, confirmo, sí, uno, dos, llámenme, llamar, cambiar, nueve, alto"}


class CallResult(str, enum.Enum):
    """What became of a reminder call; stored on OutboxMessage.result and TreatmentSession.call_result."""

    CONFIRMED = "confirmed"
    CALLBACK_REQUESTED = "callback_requested"
    OPTED_OUT = "opted_out"
    ANSWERED = "answered"  # a person picked up and chose nothing
    NO_ANSWER = "no_answer"  # no pick-up, or an answering machine (which heard one short message)
    BUSY = "busy"
    FAILED = "failed"


KEYS = {"1": CallResult.CONFIRMED, "2": CallResult.CALLBACK_REQUESTED, "9": CallResult.OPTED_OUT}
# Spoken equivalents of the keys; the keypad is what the call asks for, speech is a courtesy.
_SPOKEN = (
    (("stop", "unsubscribe", "no more", "alto", "nueve"), "9"),
    (("call back", "callback", "call me", "two", "reschedule", "dos", "llamenme", "llameme", "llamar", "cambiar"), "2"),
    (("confirm", "yes", "yeah", "yep", "one", "sure", "confirmo", "confirmar", "si", "uno", "claro"), "1"),
)

# Twilio CallStatus -> outbox status (forward-only, through glowline.delivery.outbox), and the result a
# final status means when no keypress decided one. "canceled" is a call we never connected.
_FINAL_RESULTS = {"completed": CallResult.ANSWERED, "busy": CallResult.BUSY, "no-answer": CallResult.NO_ANSWER,
                  "failed": CallResult.FAILED, "canceled": CallResult.FAILED}
_RESULT_VALUES = frozenset(r.value for r in CallResult)
RETRYABLE_RESULTS = frozenset({CallResult.NO_ANSWER.value, CallResult.BUSY.value})


@dataclass(frozen=True)
class Choice:
    """A reminder-call answer read from keypad digits or speech."""

    key: str | None
    result: CallResult | None
    spoken: str | None = None


def is_machine(answered_by: str | None) -> bool:
    """True when Twilio's answering-machine detection says a machine or fax picked up."""
    return answered_by is not None and (answered_by.startswith("machine") or answered_by == "fax")


def read_choice(digits: str | None, speech: str | None) -> Choice:
    """The key a caller pressed, or the key their words stand for; unknown input has no result."""
    key = (digits or "").strip()[:1]
    if not key and speech and classify(speech) is StopIntent.STOP:
        # "Don't call me again" holds "call me" but is a revocation: the classifier decides first.
        return Choice("9", CallResult.OPTED_OUT, spoken=speech[:200])
    if not key and speech:
        words = fold(" ".join("".join(c if c.isalnum() else " " for c in speech.lower()).split()))
        padded = f" {words} "
        for phrases, mapped in _SPOKEN:
            if any(f" {p} " in padded for p in phrases) or words == mapped:
                key = mapped
                break
    return Choice(key or None, KEYS.get(key))


def locale_for(message: OutboxMessage) -> str:
    """The language a call to the message's client speaks (English for a staff call)."""
    return message.client.locale if message.client is not None else DEFAULT_LOCALE


def _moment(message: OutboxMessage) -> str | None:
    """The session's day and time as a voice says it (the clinic's clock, its zone named when the client's differs)."""
    session = message.session
    if session is None:
        return None
    return spoken_session_moment(session.starts_at, message.clinic.timezone, message.clinic.zone_for(message.client),
                                 locale_for(message))


def _session_words(message: OutboxMessage) -> str:
    """"appointment on Thursday, December 5 at 10 AM" (or "upcoming appointment" without a session)."""
    moment, locale = _moment(message), locale_for(message)
    return text("call.appointment_on", locale, when=moment) if moment else text("call.upcoming_appointment", locale)


# Outbox kinds a call can carry: each is about one appointment the client can confirm.
# Aftercare is a list of instructions to keep, so it stays a text (see channel_for).


def _intro(message: OutboxMessage) -> str:
    clinic, locale = message.clinic.name, locale_for(message)
    if message.kind is MessageKind.PLAN_CONFIRMATION:
        return text("call.intro.plan", locale, clinic=clinic,
                    when=_moment(message) or text("call.upcoming_appointment", locale))
    if message.kind in CALL_KINDS:
        return text("call.intro.reminder", locale, clinic=clinic, what=_session_words(message))
    return text("call.intro.visit", locale, clinic=clinic)


def reminder_twiml(message: OutboxMessage, *, answered_by: str | None, action_url: str) -> str:
    """The TwiML Twilio plays when the reminder call is answered (a machine gets one short message)."""
    locale = locale_for(message)
    response = SpokenResponse(locale)
    intro = _intro(message)
    phone = spoken_clinic_phone(message.clinic)
    if is_machine(answered_by) or message.kind not in CALL_KINDS:
        response.say(text("call.machine", locale, intro=intro, phone=phone))
        response.hangup()
        return str(response)
    response.append(keypad_gather(action_url, f"{intro} {text('call.menu', locale)}", locale))
    response.say(text("call.no_choice", locale, phone=phone))
    response.hangup()
    return str(response)


def keypad_gather(action_url: str, said: str, locale: str | None = DEFAULT_LOCALE) -> Gather:
    """A one-key Gather (speech accepted too) that says ``said`` while it listens, in the caller's language."""
    gather = SpokenGather(locale, input="speech dtmf", num_digits=1, speech_timeout="auto", action=action_url,
                          hints=SPEECH_HINTS.get(locale or DEFAULT_LOCALE, SPEECH_HINTS[DEFAULT_LOCALE]), timeout=6)
    gather.say(said)
    return gather


def unavailable_twiml(clinic_name: str | None = None) -> str:
    """A short apology and hang-up, for a call we cannot serve (unknown number or message)."""
    response = VoiceResponse()
    response.say(text("call.unavailable.clinic", clinic=clinic_name) if clinic_name else text("call.unavailable"))
    response.hangup()
    return str(response)


def apply_choice(db: Session, message: OutboxMessage, choice: Choice, *, now: datetime, attempt: int,
                 retry_url: str) -> tuple[str, CallResult | None]:
    """Act on a reminder-call answer (confirm, call back, stop) and return (TwiML, result).

    The session keeps what the client chose; a wrong key is asked once more, then the call
    ends politely and the reminder counts as answered without a choice.
    """
    phone = spoken_clinic_phone(message.clinic)
    locale = locale_for(message)
    if choice.result is None:
        response = SpokenResponse(locale)
        if attempt < MAX_KEYPAD_ATTEMPTS:
            response.append(keypad_gather(retry_url, text("call.not_a_choice", locale, menu=text("call.menu", locale)),
                                          locale))
        response.say(text("call.change_appointment", locale, phone=phone))
        response.hangup()
        return str(response), None
    if choice.result is CallResult.OPTED_OUT:
        _opt_out(db, message, now, spoken=choice.spoken)
        response = SpokenResponse(locale)
        response.say(text("call.opted_out", locale, clinic=message.clinic.name, phone=phone))
        response.hangup()
        result = CallResult.OPTED_OUT
    else:
        twiml, result = answer_session(message.session, choice.result, now=now, words=_session_words(message),
                                       phone=phone, locale=locale)
        response = twiml
    record_result(message, result, now)
    return str(response), result


def answer_session(session: TreatmentSession | None, wanted: CallResult, *, now: datetime, words: str,
                   phone: str, locale: str = DEFAULT_LOCALE) -> tuple[VoiceResponse, CallResult]:
    """Confirm a session or ask for a call back, as a reminder call or an incoming call chose.

    A session that is no longer booked cannot be confirmed: the caller is told to call and
    the clinic sees a call-back request.
    """
    response = SpokenResponse(locale)
    live = session is not None and session.status is not SessionStatus.CANCELLED and (
        session.plan is None or session.plan.status is PlanStatus.ACTIVE)
    if not live:
        response.say(text("call.no_longer_booked", locale, phone=phone))
        result = CallResult.CALLBACK_REQUESTED
    elif wanted is CallResult.CONFIRMED:
        assert session is not None  # live implies a session
        session.status = SessionStatus.CONFIRMED
        session.confirmed_at = now
        response.say(text("call.confirmed", locale, what=words))
        result = CallResult.CONFIRMED
    else:
        assert session is not None
        session.status = SessionStatus.CALLBACK_REQUESTED
        session.callback_requested_at = now
        response.say(text("call.callback", locale))
        result = CallResult.CALLBACK_REQUESTED
    response.hangup()
    return response, result


def _opt_out(db: Session, message: OutboxMessage, now: datetime, *, spoken: str | None = None) -> None:
    """Opt the client out of this clinic's calls and texts, through the same path as an SMS STOP."""
    if message.client is not None:
        wording, method = ((spoken, "voice_speech") if spoken else
                           (text("call.opt_out_record", menu=text("call.menu")), "voice_keypad"))
        compliance.opt_out(db, client=message.client, clinic=message.clinic, wording=wording, method=method,
                           now=now)


def record_result(message: OutboxMessage, result: CallResult, now: datetime) -> None:
    """Write a call's outcome on the outbox row and on its session."""
    message.result = result.value
    message.updated_at = now
    if message.session is not None:
        message.session.call_result = result.value
        message.session.call_result_at = now


def message_for_call(db: Session, call_sid: str, message_id: int | None = None) -> OutboxMessage | None:
    """The voice outbox row a Twilio call belongs to: by its id when given, else by the call SID."""
    if message_id is not None:
        message = db.get(OutboxMessage, message_id)
        if message is None or message.channel is not Channel.VOICE:
            return None
        # A stored SID that differs means this id is not the call Twilio is talking about.
        if message.provider_sid not in (None, call_sid):
            return None
        return message
    return db.scalar(select(OutboxMessage).where(OutboxMessage.provider_sid == call_sid,
                                                 OutboxMessage.channel == Channel.VOICE))


def apply_call_status(db: Session, message: OutboxMessage, *, call_sid: str, call_status: str,
                      answered_by: str | None, error_code: int | None, now: datetime,
                      retry_minutes: int | None) -> OutboxMessage | None:
    """Record one call status callback (once per status) and return a follow-up call row if one is owed.

    A final status only fills in the result when the call itself did not: what the caller
    pressed, or the machine the TwiML already met, outranks the "completed" that follows.
    """
    prior = message.result
    update = outbox.record_provider_status(db, sid=call_sid, status=call_status, error_code=error_code, now=now,
                                           statuses=outbox.CALL_STATUSES)
    final = _FINAL_RESULTS.get(call_status)
    if update.duplicate or update.message_id != message.id or final is None:
        return None
    db.refresh(message)
    if final is CallResult.ANSWERED and is_machine(answered_by):
        final = CallResult.NO_ANSWER
    record_result(message, CallResult(prior) if prior in _RESULT_VALUES else final, now)
    if message.result in RETRYABLE_RESULTS and retry_minutes:
        return follow_up_call(db, message, due=now + timedelta(minutes=retry_minutes), now=now)
    return None


def _still_wanted(message: OutboxMessage) -> bool:
    """A follow-up only makes sense for a live, unconfirmed session of the current plan version."""
    client = message.client
    if client is None or client.opted_out:
        return False
    if message.plan is not None and (message.plan.status is not PlanStatus.ACTIVE
                                     or message.plan_version != message.plan.version):
        return False
    session: TreatmentSession | None = message.session
    return session is None or session.status is SessionStatus.SCHEDULED


def follow_up_call(db: Session, message: OutboxMessage, *, due: datetime, now: datetime) -> OutboxMessage | None:
    """Owe one more voice call for ``message`` at ``due`` (out of quiet hours), at most once, never late.

    A row that is itself a follow-up gets none: one retry, never a loop. The unique
    ``retry_of_id`` makes a racing duplicate callback harmless. Does not commit.
    """
    if message.retry_of_id is not None or not _still_wanted(message):
        return None
    clinic = message.clinic
    tz = clinic.zone_for(message.client)
    due = next_allowed_time(due, tz, clinic.quiet_start, clinic.quiet_end)
    if message.not_after is not None and due >= message.not_after:
        return None
    row = OutboxMessage(clinic_id=message.clinic_id, client_id=message.client_id, plan_id=message.plan_id,
                        session_id=message.session_id, plan_version=message.plan_version, kind=message.kind,
                        channel=Channel.VOICE, to_number=message.to_number, from_number=message.from_number,
                        body=message.body, due_at=due, not_after=message.not_after,
                        status=MessageStatus.PENDING, retry_of_id=message.id, created_at=now, updated_at=now)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        return None
    log.info("outbox %s: one more call owed as outbox %s", message.id, row.id)
    return row


def fallback_call(db: Session, message: OutboxMessage, *, now: datetime) -> OutboxMessage | None:
    """One voice call instead of an SMS that can never arrive (not a mobile), when the clinic allows it.

    For the send job and the SMS status callback: call it when an SMS reminder fails
    permanently with a code in NOT_MOBILE_CODES. Only reminders fall back; aftercare is a
    list to read, not something to say on a call. Returns the new row (PENDING, for the
    dispatcher) or None. Does not commit.
    """
    if (message.channel is not Channel.SMS or message.error_code not in NOT_MOBILE_CODES
            or not message.clinic.voice_fallback or message.kind is not MessageKind.REMINDER
            or not message.clinic.sending_number):
        # No number to call from (a Messaging Service only): the call would only go out as a text again.
        return None
    return follow_up_call(db, message, due=now, now=now)
