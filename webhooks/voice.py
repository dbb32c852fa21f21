"""Voice webhooks: incoming calls, each spoken or keyed answer, reminder calls and call statuses.

Every endpoint verifies Twilio's signature first, stores the step once (CallSid plus the
step, so a retried request replays the stored TwiML), answers with TwiML built by
Twilio's own classes, and never answers a caller's bad input with a 5xx.

When the database fails under a step, the caller hears a short apology (en, then es) and
the step goes to the inbound spool where losing it would matter
(glowline/intake/spooled_calls.py says what each kind replays and why): never a 5xx.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from glowline.clinics.service import clinic_for_number
from glowline.compliance.keywords import language_of
from glowline.exceptions import ValidationError
from glowline.intake.engine import KEYED_NUMBER, TurnStatus
from glowline.intake.router import finish_turn, get_or_create_client
from glowline.intake.spooled_calls import ROUTE_ARG, CallSpool, apply_call_status_form
from glowline.transports import callbacks
from glowline.store.models import (Channel, Client, Clinic, HandledAs, InboundMessage, Intake, IntakeStatus, MessageKind, Plan,
                                   PlanStatus, SessionStatus, TreatmentSession)
from glowline.phone import to_e164
from glowline.messages.catalog import text
from glowline.messages.dates import spoken_session_moment
from glowline.voice.twiml import (AnswerVia, SpokenResponse, claim_step, goodbye_twiml, outage_twiml, read_answer,
                                  render_turn, spoken_clinic_phone, step_sid)
from glowline.voice.stop import is_spoken_stop, opt_out_on_call
from glowline.voice.rebook import (answer_on_call, answer_pick, key_of, missed_call_twiml, offer_for_session,
                                  offer_on_call)
from glowline.voice.calls import (MAX_KEYPAD_ATTEMPTS, CallResult, answer_session, apply_choice,
                                  is_machine, keypad_gather, message_for_call, read_choice, record_result,
                                  reminder_twiml, unavailable_twiml)
from glowline.voice.withheld import number_retry_twiml, read_number, withheld_twiml
from webhooks.context import db, runtime
from webhooks.contract import CALL, CALL_GATHER, CALL_NUMBER, CALL_STATUS, REMINDER_CALL, inbound
from webhooks.sms import spool_request
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix=callbacks.VOICE_PREFIX)

_LIVE_SESSION = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED)


def _twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")


# What a step becomes in the spool while the database is down. The reminder call's own TwiML
# fetch is not kept: the status callback that follows it records how the call went.
_SPOOLED = {"voice.status": CallSpool.STATUS, "voice.reminder_gather": CallSpool.REMINDER_ANSWER,
            "voice.incoming": CallSpool.STEP, "voice.gather": CallSpool.STEP, "voice.rebook": CallSpool.STEP,
            "voice.reminder_rebook": CallSpool.STEP, "voice.number": CallSpool.STEP}
# Steps where the caller has just answered a question; at the others nothing was asked yet.
_ANSWERS = frozenset({"voice.gather", "voice.rebook", "voice.reminder_gather", "voice.reminder_rebook", "voice.number"})


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error: SQLAlchemyError):
    """Any call step the database cannot take: spool what must not be lost, apologise, never a 5xx."""
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; teardown discards the session
        db().rollback()
    endpoint = request.endpoint or ""
    kind = _SPOOLED.get(endpoint)
    where = spool_request(kind.value, runtime().clock.now(), **{ROUTE_ARG: endpoint}) if kind else "not kept"
    # No traceback: the driver's message can hold the row's values (scrubbed, but not needed).
    log.warning("database unavailable: call step %s (%s)", endpoint, where)
    if endpoint == "voice.status":
        return Response(status=204)
    return _twiml(outage_twiml("call.outage.answer" if endpoint in _ANSWERS else "call.outage"))


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


def _caller(form) -> tuple[Clinic | None, str | None]:
    """The clinic the caller dialled (``To``) and the caller's E.164 number (None when hidden or invalid)."""
    clinic = clinic_for_number(db(), (form.get("To") or "").strip())
    try:
        phone = to_e164(form.get("From") or "", field="From")
    except ValidationError:
        phone = None
    if phone is None and clinic is not None and form.get("CallSid"):
        # A withheld number: the number the caller keyed in is on the call's first step, if they gave one.
        phone = db().scalar(select(InboundMessage.from_number).where(
            InboundMessage.sid == step_sid(form["CallSid"], "0"), InboundMessage.clinic_id == clinic.id))
    return clinic, phone


def _upcoming_session(clinic: Clinic, client: Client, now: datetime) -> TreatmentSession | None:
    return db().scalar(
        select(TreatmentSession).join(Plan)
        .where(Plan.clinic_id == clinic.id, Plan.client_id == client.id, Plan.status == PlanStatus.ACTIVE,
               TreatmentSession.status.in_(_LIVE_SESSION), TreatmentSession.starts_at > now)
        .order_by(TreatmentSession.starts_at).limit(1))


def _latest_intake(clinic: Clinic, client: Client) -> Intake | None:
    return db().scalar(select(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id)
                       .order_by(Intake.id.desc()).limit(1))


def _session_twiml(clinic: Clinic, client: Client, session: TreatmentSession, step: int) -> str:
    """Tell a known caller their next appointment and offer confirm / call back."""
    when = spoken_session_moment(session.starts_at, clinic.timezone, clinic.zone_for(client), client.locale)
    confirmed = session.status is SessionStatus.CONFIRMED
    key = "call.next_session.confirmed" if confirmed else "call.next_session"
    locale = client.locale
    menu = text("call.menu.session.confirmed" if confirmed else "call.menu.session", locale)
    response = SpokenResponse(locale)
    response.append(keypad_gather(runtime().callbacks.call_gather(step, session_id=session.id),
                                  text(key, locale, clinic=clinic.name, when=when, menu=menu),
                                  locale))
    response.say(text("call.change_it", locale, phone=spoken_clinic_phone(clinic)))
    response.hangup()
    return str(response)


@bp.post("")
@verify_twilio
@inbound(CALL)
def incoming():
    """An incoming call: an open intake resumes, a client with a session hears it, a new caller starts the intake.

    A client who opted out can still call: the stop covers what the clinic sends, and a
    person who rings the clinic is asking to talk to it.
    """
    form = request.form
    clinic, phone = _caller(form)
    call_sid = form.get("CallSid") or ""
    if clinic is not None and phone is None and call_sid:
        # A withheld or unknown number is a person trying to reach the clinic: never hang up on them.
        # Nothing is stored yet (there is no client to store it against): the clinic's phone takes the
        # call, or the caller keys in a number and the intake starts for it (number()).
        return _twiml(withheld_twiml(clinic, action_url=runtime().callbacks.call_number(1)))
    if clinic is None or phone is None or not call_sid:
        # Nothing stored: we do not know whose call this is.
        return _twiml(unavailable_twiml(clinic.name if clinic is not None else None))
    return _twiml(_greet(clinic, phone, call_sid))


@bp.post(callbacks.VOICE_NUMBER_PATH)
@verify_twilio
@inbound(CALL_NUMBER)
def number():
    """The number a caller who withheld theirs keyed in: valid, the call goes on as if from it; else asked again."""
    form = request.form
    clinic = clinic_for_number(db(), (form.get("To") or "").strip())
    call_sid = form.get("CallSid") or ""
    attempt = _int_arg("attempt") or 1
    if clinic is None or not call_sid:
        return _twiml(unavailable_twiml(clinic.name if clinic is not None else None))
    keyed = read_number(clinic, form.get("Digits"))
    if keyed is None:
        return _twiml(number_retry_twiml(clinic, attempt=attempt,
                                         action_url=runtime().callbacks.call_number(attempt + 1)))
    # The first step of the call is stored against the keyed number, so every later step finds it (_caller).
    return _twiml(_greet(clinic, keyed, call_sid, keyed=True))


def _greet(clinic: Clinic, phone: str, call_sid: str, *, keyed: bool = False) -> str:
    """The first step of a call from ``phone``: resume, the next session, the answers are in, or a new intake.

    ``keyed``: the caller withheld their number and typed this one, which may be anybody's. Such a
    caller hears nothing about the number's client (no session, no intake to resume): a person
    calls that number back. A new number gets the intake, whose "yes" waits for a YES by text.
    """
    rt, session = runtime(), db()
    now = rt.clock.now()
    client = get_or_create_client(session, clinic, phone, now)
    row, replay = claim_step(session, sid=step_sid(call_sid, "0"), clinic_id=clinic.id, client_id=client.id,
                             from_number=phone, handled_as=HandledAs.CALL_STARTED.value, now=now)
    if replay is not None:
        return replay
    engine = rt.intake_engine
    intake = engine.open_intake(session, clinic, client)
    upcoming = _upcoming_session(clinic, client, now) if intake is None else None
    latest = _latest_intake(clinic, client) if intake is None and upcoming is None else None
    if keyed and (intake is not None or upcoming is not None or latest is not None):
        row.handled_as = HandledAs.INBOX.value
        row.needs_attention = True
        row.reply = goodbye_twiml(text("call.keyed.known", client.locale, clinic=clinic.name), client.locale)
    elif intake is not None:
        # A call or a text that stopped mid-intake resumes at the open question.
        row.handled_as = HandledAs.INTAKE_RESUMED.value
        row.reply = render_turn(engine.current(session, intake=intake, channel=Channel.VOICE),
                                action_url=runtime().callbacks.call_gather(1))
    elif upcoming is not None:
        row.handled_as = HandledAs.SESSION_LOOKUP.value
        row.reply = _session_twiml(clinic, client, upcoming, 1)
    elif latest is not None and latest.status in (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN,
                                                 IntakeStatus.PLANNED):
        # The answers are in and staff are on it: a second questionnaire would only confuse.
        row.handled_as = HandledAs.INBOX.value
        row.needs_attention = True
        row.reply = goodbye_twiml(text("call.answers_in", client.locale, clinic=clinic.name), client.locale)
    else:
        row.handled_as = HandledAs.INTAKE_STARTED.value
        turn = engine.start(session, clinic=clinic, client=client, channel=Channel.VOICE, now=now,
                            flags=[KEYED_NUMBER] if keyed else [])
        row.reply = render_turn(turn, action_url=runtime().callbacks.call_gather(1))
    session.commit()
    return row.reply


@bp.post(callbacks.VOICE_GATHER_PATH)
@verify_twilio
@inbound(CALL_GATHER)
def gather():
    """One answer on an incoming call: to the session question, or to the open intake question."""
    form = request.form
    clinic, phone = _caller(form)
    call_sid = form.get("CallSid") or ""
    step = _int_arg("step")
    if clinic is None or phone is None or not call_sid or step is None:
        return _twiml(unavailable_twiml(clinic.name if clinic is not None else None))
    rt, session = runtime(), db()
    now = rt.clock.now()
    client = get_or_create_client(session, clinic, phone, now)
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, str(step)), clinic_id=clinic.id,
                             client_id=client.id, from_number=phone, body=answer.reply,
                             confidence=answer.confidence, now=now)
    if replay is not None:
        return _twiml(replay)
    session_id = _int_arg("session_id")
    if session_id is not None:
        row.reply = _answer_session(row, clinic, client, session_id, answer, step, now)
    else:
        row.reply = _answer_intake(row, clinic, client, answer, step, now)
    session.commit()
    return _twiml(row.reply)


def _answer_session(row, clinic: Clinic, client: Client, session_id: int, answer, step: int, now: datetime) -> str:
    target = db().get(TreatmentSession, session_id)
    if target is None or target.plan.client_id != client.id or target.plan.clinic_id != clinic.id:
        row.handled_as = HandledAs.UNKNOWN_SESSION.value
        return unavailable_twiml(clinic.name)
    choice = read_choice(answer.reply if answer.via is AnswerVia.DTMF else None,
                         answer.reply if answer.via is AnswerVia.SPEECH else None)
    if choice.result is CallResult.OPTED_OUT:
        # "Stop" (or the reminder calls' stop key, 9) on the session menu is a revocation, not a wrong key.
        row.handled_as = HandledAs.OPT_OUT.value
        return opt_out_on_call(db(), runtime(), clinic=clinic, client=client, said=answer.reply, now=now)
    phone = spoken_clinic_phone(clinic)
    locale = client.locale
    if choice.result not in (CallResult.CONFIRMED, CallResult.CALLBACK_REQUESTED):
        row.handled_as = HandledAs.SESSION_REASK.value
        if step >= MAX_KEYPAD_ATTEMPTS:
            return goodbye_twiml(text("call.change_your_appointment", locale, phone=phone), locale)
        response = SpokenResponse(locale)
        response.append(keypad_gather(runtime().callbacks.call_gather(step + 1, session_id=target.id),
                                      text("call.not_a_choice", locale, menu=text("call.menu.session", locale)),
                                      locale))
        response.hangup()
        return str(response)
    if choice.result is CallResult.CALLBACK_REQUESTED:
        # "Press 2" holds the session like a text R and, with opening hours set, offers open times by keypad.
        offered = offer_for_session(db(), runtime(), target, now=now,
                                    action_url=runtime().callbacks.call_rebook(1, target.id))
        if offered is not None:
            row.handled_as = HandledAs.REBOOK_OFFER.value
            row.needs_attention = True
            return offered
    when = spoken_session_moment(target.starts_at, clinic.timezone, clinic.zone_for(client), locale)
    response, result = answer_session(target, choice.result, now=now,
                                      words=text("call.appointment_on", locale, when=when),
                                      phone=phone, locale=locale)
    row.handled_as = result.value
    row.needs_attention = result is CallResult.CALLBACK_REQUESTED
    return str(response)


def _answer_intake(row, clinic: Clinic, client: Client, answer, step: int, now: datetime) -> str:
    rt, session = runtime(), db()
    engine = rt.intake_engine
    intake = engine.open_intake(session, clinic, client)
    if intake is None:
        row.handled_as = HandledAs.NO_OPEN_INTAKE.value
        return goodbye_twiml(text("call.thanks", client.locale, clinic=clinic.name), client.locale)
    if is_spoken_stop(answer):
        # Never an answer to the open question: the intake stays where it was (opt-out pauses, never destroys).
        row.handled_as = HandledAs.OPT_OUT.value
        return opt_out_on_call(session, rt, clinic=clinic, client=client, said=answer.reply, now=now)
    wanted = language_of(answer.reply)
    if wanted is not None:
        # "Español" / "English" on a call, as EN/ES by text: the open question again in that language.
        client.language = wanted
        row.handled_as = HandledAs.LANGUAGE.value
        return render_turn(engine.current(session, intake=intake, channel=Channel.VOICE),
                           action_url=runtime().callbacks.call_gather(step + 1))
    turn = engine.answer(session, intake=intake, reply=answer.reply, channel=Channel.VOICE, now=now,
                         confidence=answer.confidence)
    finish_turn(session, rt, turn, now=now)  # a finished intake notifies staff, as by text
    row.handled_as = HandledAs.INTAKE.value
    row.needs_attention = turn.status is TurnStatus.NEEDS_HUMAN
    return render_turn(turn, action_url=runtime().callbacks.call_gather(step + 1))


@bp.post(callbacks.VOICE_REBOOK_PATH)
@verify_twilio
@inbound(CALL_GATHER)
def rebook():
    """The key a caller pressed for a time offered on a call they made: 1-3 books it (checked again), 0 a call."""
    form = request.form
    clinic, phone = _caller(form)
    call_sid = form.get("CallSid") or ""
    step, session_id = _int_arg("step"), _int_arg("session_id")
    if clinic is None or phone is None or not call_sid or step is None or session_id is None:
        return _twiml(unavailable_twiml(clinic.name if clinic is not None else None))
    rt, session = runtime(), db()
    now = rt.clock.now()
    client = get_or_create_client(session, clinic, phone, now)
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"rebook:{step}"), clinic_id=clinic.id,
                             client_id=client.id, from_number=phone, body=answer.reply, confidence=answer.confidence,
                             handled_as=HandledAs.REBOOK_PICK.value, now=now)
    if replay is not None:
        return _twiml(replay)
    if is_spoken_stop(answer):
        row.handled_as = HandledAs.OPT_OUT.value
        row.reply = opt_out_on_call(session, rt, clinic=clinic, client=client, said=answer.reply, now=now)
    else:
        row.reply = answer_pick(session, rt, clinic, client, key_of(answer.reply, answer.via), now=now,
                                action_url=rt.callbacks.call_rebook(step + 1, session_id))
    session.commit()
    return _twiml(row.reply)


def _reminder_call(session):
    """The reminder call's CallSid and its outbox row (``?message_id=N``), or None when they do not match."""
    call_sid = request.form.get("CallSid") or ""
    message_id = _int_arg("message_id")
    return call_sid, (message_for_call(session, call_sid, message_id) if call_sid and message_id else None)


@bp.post(callbacks.REMINDER_PATH)
@verify_twilio
@inbound(REMINDER_CALL)
def reminder():
    """The TwiML of an outbound reminder call (``?message_id=N``), fetched when it is answered."""
    form = request.form
    session = db()
    call_sid, message = _reminder_call(session)
    if message is None:
        return _twiml(unavailable_twiml())
    now = runtime().clock.now()
    row, replay = claim_step(session, sid=step_sid(call_sid, "reminder"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number,
                             handled_as=HandledAs.REMINDER_CALL.value, now=now)
    if replay is not None:
        return _twiml(replay)
    answered_by = form.get("AnsweredBy")
    if is_machine(answered_by):
        row.handled_as = HandledAs.REMINDER_MACHINE.value
        record_result(message, CallResult.NO_ANSWER, now)
    if message.kind is MessageKind.MISSED_SESSION:
        row.reply = missed_call_twiml(session, message, answered_by_machine=is_machine(answered_by),
                                      action_url=runtime().callbacks.reminder_rebook(message.id, 1))
        session.commit()
        return _twiml(row.reply)
    row.reply = reminder_twiml(message, answered_by=answered_by,
                               action_url=runtime().callbacks.reminder_gather(message.id, 1))
    session.commit()
    return _twiml(row.reply)


@bp.post(callbacks.REMINDER_GATHER_PATH)
@verify_twilio
@inbound(REMINDER_CALL)
def reminder_gather():
    """The keypad (or spoken) answer to a reminder call: 1 confirm, 2 call back, 9 stop."""
    form = request.form
    attempt = _int_arg("attempt") or 1
    session = db()
    call_sid, message = _reminder_call(session)
    if message is None:
        return _twiml(unavailable_twiml())
    now = runtime().clock.now()
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"reminder:{attempt}"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number, body=answer.reply,
                             confidence=answer.confidence, now=now)
    if replay is not None:
        return _twiml(replay)
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
            return _twiml(offered)
    twiml, result = apply_choice(session, message, choice, now=now, attempt=attempt,
                                 retry_url=runtime().callbacks.reminder_gather(message.id, attempt + 1))
    row.handled_as = result.value if result is not None else HandledAs.REMINDER_REASK.value
    row.needs_attention = result is CallResult.CALLBACK_REQUESTED
    row.reply = twiml
    session.commit()
    return _twiml(twiml)


@bp.post(callbacks.REMINDER_REBOOK_PATH)
@verify_twilio
@inbound(REMINDER_CALL)
def reminder_rebook():
    """The key pressed for an offered time on a reminder call: 1-3 books it (checked again), 0 asks for a call."""
    form = request.form
    attempt = _int_arg("attempt") or 1
    session = db()
    call_sid, message = _reminder_call(session)
    if message is None:
        return _twiml(unavailable_twiml())
    now = runtime().clock.now()
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"rebook:{attempt}"), clinic_id=message.clinic_id,
                             client_id=message.client_id, from_number=message.to_number, body=answer.reply,
                             confidence=answer.confidence, handled_as=HandledAs.REBOOK_PICK.value, now=now)
    if replay is not None:
        return _twiml(replay)
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
    return _twiml(twiml)


@bp.post(callbacks.CALL_STATUS_PATH)
@verify_twilio
@inbound(CALL_STATUS)
def status():
    """A call status callback: the outbox row moves forward, the result lands, one retry may be owed."""
    rt = runtime()
    if not apply_call_status_form(db(), rt, request.form, request.args, now=rt.clock.now()):
        # Not one of our reminder calls (an incoming call's status, or a stale one): nothing to record.
        log.info("call status for a call with no outbox row; ignored")
    return Response(status=204)
