"""Voice webhooks: incoming calls and each spoken or keyed answer (reminder calls: ``webhooks.voice_reminders``).

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

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from glowline.compliance.keywords import language_of
from glowline.exceptions import ValidationError
from glowline.intake.turns import KEYED_NUMBER, TurnStatus
from glowline.intake.router import finish_turn, get_or_create_client
from glowline.intake.spooled_calls import ROUTE_ARG, CallSpool
from glowline.transports import callbacks
from glowline.store.models import (Channel, Client, Clinic, HandledAs, InboundMessage, Intake, IntakeStatus, Plan,
                                   PlanStatus, SessionStatus, TreatmentSession)
from glowline.phone import to_e164
from glowline.messages.catalog import text
from glowline.messages.dates import spoken_session_moment
from glowline.voice.twiml import (AnswerVia, SpokenResponse, claim_step, goodbye_twiml, outage_twiml, read_answer,
                                  render_turn, spoken_clinic_phone, step_sid)
from glowline.voice.stop import is_spoken_stop, opt_out_on_call
from glowline.voice.rebook import answer_pick, key_of, offer_for_session
from glowline.voice.calls import (MAX_KEYPAD_ATTEMPTS, CallResult, answer_session, keypad_gather, read_choice,
                                  unavailable_twiml)
from glowline.voice.withheld import number_retry_twiml, read_number, withheld_twiml
from webhooks.context import db, runtime
from webhooks.contract import CALL, CALL_GATHER, CALL_NUMBER, inbound
from webhooks.sms import spool_request
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix=callbacks.VOICE_PREFIX)

_LIVE_SESSION = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED)


def twiml_response(xml: str) -> Response:
    """TwiML as Twilio wants it: 200, text/xml."""
    return Response(xml, status=200, mimetype="text/xml")


def spooled(kind: CallSpool, *, answered: bool = False):
    """Mark a call step: what it becomes in the spool if the database fails under it, and whether it is an answer.

    Placed right under ``@bp.post`` so the registered view carries the marks, which the outage
    handler reads; a step without the mark (the reminder call's own TwiML fetch, whose status
    callback records how the call went) is not kept.
    """
    def mark(view):
        view.spool_kind, view.spool_answered = kind, answered
        return view
    return mark


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error: SQLAlchemyError):
    """Any call step the database cannot take: spool what must not be lost, apologise, never a 5xx."""
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; teardown discards the session
        db().rollback()
    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint)
    kind: CallSpool | None = getattr(view, "spool_kind", None)
    where = spool_request(kind.value, runtime().clock.now(), **{ROUTE_ARG: endpoint}) if kind else "not kept"
    # No traceback: the driver's message can hold the row's values (scrubbed, but not needed).
    log.warning("database unavailable: call step %s (%s)", endpoint, where)
    if kind is CallSpool.STATUS:
        return Response(status=204)  # a status callback wants no TwiML
    # A caller who just answered a question hears that the clinic will see it; otherwise, to call again.
    return twiml_response(outage_twiml("call.outage.answer" if getattr(view, "spool_answered", False)
                                       else "call.outage"))


def int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


def _caller(form) -> tuple[Clinic | None, str | None]:
    """The clinic the caller dialled (``To``) and the caller's E.164 number (None when hidden or invalid)."""
    clinic = runtime().clinics.by_number(db(), (form.get("To") or "").strip())
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
@spooled(CallSpool.STEP)
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
        return twiml_response(withheld_twiml(clinic, action_url=runtime().callbacks.call_number(1)))
    if clinic is None or phone is None or not call_sid:
        # Nothing stored: we do not know whose call this is.
        return twiml_response(unavailable_twiml(clinic.name if clinic is not None else None))
    return twiml_response(_greet(clinic, phone, call_sid))


@bp.post(callbacks.VOICE_NUMBER_PATH)
@spooled(CallSpool.STEP, answered=True)
@verify_twilio
@inbound(CALL_NUMBER)
def number():
    """The number a caller who withheld theirs keyed in: valid, the call goes on as if from it; else asked again."""
    form = request.form
    clinic = runtime().clinics.by_number(db(), (form.get("To") or "").strip())
    call_sid = form.get("CallSid") or ""
    attempt = int_arg("attempt") or 1
    if clinic is None or not call_sid:
        return twiml_response(unavailable_twiml(clinic.name if clinic is not None else None))
    keyed = read_number(clinic, form.get("Digits"))
    if keyed is None:
        return twiml_response(number_retry_twiml(clinic, attempt=attempt,
                                         action_url=runtime().callbacks.call_number(attempt + 1)))
    # The first step of the call is stored against the keyed number, so every later step finds it (_caller).
    return twiml_response(_greet(clinic, keyed, call_sid, keyed=True))


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
@spooled(CallSpool.STEP, answered=True)
@verify_twilio
@inbound(CALL_GATHER)
def gather():
    """One answer on an incoming call: to the session question, or to the open intake question."""
    form = request.form
    clinic, phone = _caller(form)
    call_sid = form.get("CallSid") or ""
    step = int_arg("step")
    if clinic is None or phone is None or not call_sid or step is None:
        return twiml_response(unavailable_twiml(clinic.name if clinic is not None else None))
    rt, session = runtime(), db()
    now = rt.clock.now()
    client = get_or_create_client(session, clinic, phone, now)
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, str(step)), clinic_id=clinic.id,
                             client_id=client.id, from_number=phone, body=answer.reply,
                             confidence=answer.confidence, now=now)
    if replay is not None:
        return twiml_response(replay)
    session_id = int_arg("session_id")
    if session_id is not None:
        row.reply = _answer_session(row, clinic, client, session_id, answer, step, now)
    else:
        row.reply = _answer_intake(row, clinic, client, answer, step, now)
    session.commit()
    return twiml_response(row.reply)


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
@spooled(CallSpool.STEP, answered=True)
@verify_twilio
@inbound(CALL_GATHER)
def rebook():
    """The key a caller pressed for a time offered on a call they made: 1-3 books it (checked again), 0 a call."""
    form = request.form
    clinic, phone = _caller(form)
    call_sid = form.get("CallSid") or ""
    step, session_id = int_arg("step"), int_arg("session_id")
    if clinic is None or phone is None or not call_sid or step is None or session_id is None:
        return twiml_response(unavailable_twiml(clinic.name if clinic is not None else None))
    rt, session = runtime(), db()
    now = rt.clock.now()
    client = get_or_create_client(session, clinic, phone, now)
    answer = read_answer(form)
    row, replay = claim_step(session, sid=step_sid(call_sid, f"rebook:{step}"), clinic_id=clinic.id,
                             client_id=client.id, from_number=phone, body=answer.reply, confidence=answer.confidence,
                             handled_as=HandledAs.REBOOK_PICK.value, now=now)
    if replay is not None:
        return twiml_response(replay)
    if is_spoken_stop(answer):
        row.handled_as = HandledAs.OPT_OUT.value
        row.reply = opt_out_on_call(session, rt, clinic=clinic, client=client, said=answer.reply, now=now)
    else:
        row.reply = answer_pick(session, rt, clinic, client, key_of(answer.reply, answer.via), now=now,
                                action_url=rt.callbacks.call_rebook(step + 1, session_id))
    session.commit()
    return twiml_response(row.reply)


# The reminder calls' routes are on this blueprint too (same prefix, same outage handler).
from webhooks import voice_reminders  # noqa: E402,F401
