"""Voice webhooks for the calls the clinic makes: a reminder call's TwiML, its keypad answers, call statuses.

They share ``webhooks.voice``'s blueprint, so the same prefix and the same outage handler
(a spoken apology, the step spooled where losing it would matter) cover them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request

from glowline.intake.spooled_calls import CallSpool, apply_call_status_form
from glowline.store.models import HandledAs, InboundMessage, MessageKind, OutboxMessage
from glowline.transports import callbacks
from glowline.voice.calls import (CallResult, apply_choice, is_machine, message_for_call, read_choice, record_result,
                                  reminder_twiml, unavailable_twiml)
from glowline.voice.rebook import answer_on_call, key_of, missed_call_twiml, offer_on_call
from glowline.voice.stop import is_spoken_stop, opt_out_on_call
from glowline.voice.twiml import AnswerVia, VoiceAnswer, claim_step, read_answer, step_sid
from webhooks.context import db, runtime
from webhooks.contract import CALL_STATUS, REMINDER_CALL, inbound
from webhooks.twilio_auth import verify_twilio
from webhooks.voice import bp, int_arg, spooled, twiml_response

log = logging.getLogger(__name__)


def _reminder_call(session):
    """The reminder call's CallSid and its outbox row (``?message_id=N``), or None when they do not match."""
    call_sid = request.form.get("CallSid") or ""
    message_id = int_arg("message_id")
    message = message_for_call(session, call_sid, message_id) if call_sid and message_id else None
    if message is not None:
        # From the clinic directory: every step reads the clinic (name, phone, settings), and its
        # lazy ``message.clinic`` then finds this copy in the session instead of querying.
        runtime().clinics.by_id(session, message.clinic_id)
    return call_sid, message


@dataclass
class _Answer:
    """One keypad or spoken answer on a reminder call, stored once against its call and attempt."""

    message: OutboxMessage
    row: InboundMessage
    answer: VoiceAnswer
    attempt: int
    now: datetime


def _claim_answer(step: str, handled_as: str | None = None) -> _Answer | Response:
    """This answer and its reminder call's row; or what to say at once (a call that is not ours, a replay)."""
    attempt = int_arg("attempt") or 1
    session = db()
    call_sid, message = _reminder_call(session)
    if message is None:
        return twiml_response(unavailable_twiml())
    now = runtime().clock.now()
    answer = read_answer(request.form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"{step}:{attempt}"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number, body=answer.reply,
                             confidence=answer.confidence, handled_as=handled_as, now=now)
    if replay is not None:
        return twiml_response(replay)
    assert row is not None  # claim_step gives the new row whenever it is not a replay
    return _Answer(message, row, answer, attempt, now)


@bp.post(callbacks.REMINDER_PATH)  # not spooled: the status callback that follows records how the call went
@verify_twilio
@inbound(REMINDER_CALL)
def reminder():
    """The TwiML of an outbound reminder call (``?message_id=N``), fetched when it is answered."""
    form = request.form
    session = db()
    call_sid, message = _reminder_call(session)
    if message is None:
        return twiml_response(unavailable_twiml())
    now = runtime().clock.now()
    row, replay = claim_step(session, sid=step_sid(call_sid, "reminder"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number,
                             handled_as=HandledAs.REMINDER_CALL.value, now=now)
    if replay is not None:
        return twiml_response(replay)
    answered_by = form.get("AnsweredBy")
    if is_machine(answered_by):
        row.handled_as = HandledAs.REMINDER_MACHINE.value
        record_result(message, CallResult.NO_ANSWER, now)
    if message.kind is MessageKind.MISSED_SESSION:
        row.reply = missed_call_twiml(session, message, answered_by_machine=is_machine(answered_by),
                                      action_url=runtime().callbacks.reminder_rebook(message.id, 1))
        session.commit()
        return twiml_response(row.reply)
    row.reply = reminder_twiml(message, answered_by=answered_by,
                               action_url=runtime().callbacks.reminder_gather(message.id, 1))
    session.commit()
    return twiml_response(row.reply)


@bp.post(callbacks.REMINDER_GATHER_PATH)
@spooled(CallSpool.REMINDER_ANSWER, answered=True)
@verify_twilio
@inbound(REMINDER_CALL)
def reminder_gather():
    """The keypad (or spoken) answer to a reminder call: 1 confirm, 2 call back, 9 stop."""
    claimed = _claim_answer("reminder")
    if isinstance(claimed, Response):
        return claimed
    session, message, row, answer, attempt, now = db(), claimed.message, claimed.row, claimed.answer, \
        claimed.attempt, claimed.now
    choice = read_choice(answer.reply if answer.via is AnswerVia.DTMF else None,
                         answer.reply if answer.via is AnswerVia.SPEECH else None)
    if choice.result is CallResult.CALLBACK_REQUESTED:
        # With opening hours set, "press 2" offers open times by keypad instead of a call back.
        offered = offer_on_call(session, runtime(), message, now=now,
                                action_url=runtime().callbacks.reminder_rebook(message.id, 1))
        if offered is not None:
            record_result(message, CallResult.CALLBACK_REQUESTED, now)
            row.handled_as = HandledAs.REBOOK_OFFER.value
            row.reply = offered
            session.commit()
            return twiml_response(offered)
    twiml, result = apply_choice(session, message, choice, now=now, attempt=attempt,
                                 retry_url=runtime().callbacks.reminder_gather(message.id, attempt + 1))
    row.handled_as = result.value if result is not None else HandledAs.REMINDER_REASK.value
    row.needs_attention = result is CallResult.CALLBACK_REQUESTED
    row.reply = twiml
    session.commit()
    return twiml_response(twiml)


@bp.post(callbacks.REMINDER_REBOOK_PATH)
@spooled(CallSpool.STEP, answered=True)
@verify_twilio
@inbound(REMINDER_CALL)
def reminder_rebook():
    """The key pressed for an offered time on a reminder call: 1-3 books it (checked again), 0 asks for a call."""
    claimed = _claim_answer("rebook", HandledAs.REBOOK_PICK.value)
    if isinstance(claimed, Response):
        return claimed
    session, message, row, answer, attempt, now = db(), claimed.message, claimed.row, claimed.answer, \
        claimed.attempt, claimed.now
    if is_spoken_stop(answer) and message.client is not None:
        row.handled_as = HandledAs.OPT_OUT.value
        twiml = opt_out_on_call(session, runtime(), clinic=message.clinic, client=message.client,
                                said=answer.reply, now=now)
        record_result(message, CallResult.OPTED_OUT, now)
    else:
        twiml = answer_on_call(session, runtime(), message, key_of(answer.reply, answer.via), now=now,
                               action_url=runtime().callbacks.reminder_rebook(message.id, attempt + 1))
    row.reply = twiml
    session.commit()
    return twiml_response(twiml)


@bp.post(callbacks.CALL_STATUS_PATH)
@spooled(CallSpool.STATUS)
@verify_twilio
@inbound(CALL_STATUS)
def status():
    """A call status callback: the outbox row moves forward, the result lands, one retry may be owed."""
    rt = runtime()
    if not apply_call_status_form(db(), rt, request.form, request.args, now=rt.clock.now()):
        # Not one of our reminder calls (an incoming call's status, or a stale one): nothing to record.
        log.info("call status for a call with no outbox row; ignored")
    return Response(status=204)
