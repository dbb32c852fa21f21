"""The inbound router's handlers, one per kind of message, each small and asking its own room to act.

Each returns the replies when the message is its own, or ``NOT_MINE``. They never commit.
Their order is the router's (``glowline.intake.router.HANDLERS``): a handler may rely on
every handler above it having passed (e.g. nothing below ``opted_out`` sees an opted-out client).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.compliance import consent as compliance
from glowline.compliance import texts
from glowline.compliance.keywords import (Command, Keyword, command, detect, keyword_language, language_of,
                                          looks_spanish)
from glowline.intake.turns import Turn, TurnEvent
from glowline.intake.intake_row import write_changes
from glowline.intake.inbound import NOT_MINE, HandledAs, Inbound, Outcome
from glowline.intake.notice import notify_staff
from glowline.messages.catalog import text
from glowline.normalize import parse_yes_no, words
from glowline.plans.opt_out_notice import notify_opt_out
from glowline.plans.replies import handle_reply
from glowline.plans.staff_commands import HELP, handle_staff_text
from glowline.store.models import Client, Clinic, Intake, IntakeStatus, Plan, PlanStatus

STAFF_COMMANDS = frozenset({"plan", "move", "done", "noshow", "release"})


def keywords(msg: Inbound) -> Outcome:
    """STOP-type words, HELP, and START from an opted-out client: answered before anything else."""
    keyword = msg.keyword()
    if keyword is None:
        return NOT_MINE
    spoken = keyword_language(msg.body, opted_out=msg.client.opted_out)
    if spoken is not None and msg.client.language is None:
        # ALTO or AYUDA as a first word says which language the client reads.
        msg.client.language = spoken
    locale = spoken or msg.client.locale
    if keyword is Keyword.OPT_OUT:
        changed = compliance.opt_out(msg.db, client=msg.client, clinic=msg.clinic, wording=msg.body or "",
                                     method=f"{msg.channel.value}_keyword", now=msg.now)
        msg.mark(HandledAs.OPT_OUT if changed else HandledAs.OPT_OUT_REPEAT)
        if changed and not _is_staff_phone(msg.clinic, msg.from_number):
            notify_opt_out(msg.db, msg.rt, clinic=msg.clinic, client=msg.client, how=f"by {msg.channel}",
                           now=msg.now)
        return [compliance.opt_out_reply(msg.clinic, locale)] if changed else []
    if keyword is Keyword.HELP:
        # HELP is answered even after STOP: carriers require it and it is not marketing.
        msg.mark(HandledAs.HELP)
        replies = [compliance.help_reply(msg.clinic, locale)]
        intake = None if msg.client.opted_out else msg.engine.open_intake(msg.db, msg.clinic, msg.client)
        if intake is not None:
            # Mid-intake, HELP ends with the open question so the client knows what to answer next.
            replies += msg.engine.current(msg.db, intake=intake, channel=msg.channel).messages
        return replies
    if keyword is Keyword.OPT_IN and msg.client.opted_out:
        return _opt_in(msg)
    return NOT_MINE


def _opt_in(msg: Inbound) -> list[str]:
    compliance.opt_in(msg.db, client=msg.client, clinic=msg.clinic, wording=msg.body or "",
                      method=f"{msg.channel.value}_keyword", now=msg.now)
    msg.mark(HandledAs.OPT_IN)
    replies = [compliance.opt_in_reply(msg.clinic, msg.client.locale)]
    intake = msg.engine.open_intake(msg.db, msg.clinic, msg.client)
    if intake is not None:
        # The intake paused by the opt-out resumes at its open question.
        replies += msg.engine.current(msg.db, intake=intake, channel=msg.channel).messages
    return replies


def opted_out(msg: Inbound) -> Outcome:
    """Nothing but keyword answers may go to an opted-out number; the clinic still sees the text."""
    if not msg.client.opted_out:
        return NOT_MINE
    msg.mark(HandledAs.OPTED_OUT, attention=True)
    return []


def stop_question(msg: Inbound) -> Outcome:
    """A question about stopping is answered; a probable stop gets one confirming question. Neither is an answer."""
    keyword = msg.keyword()
    if keyword is Keyword.STOP_QUESTION:
        msg.mark(HandledAs.STOP_QUESTION)
        return [texts.how_to_stop_reply(msg.clinic), *_current_question(msg)]
    if keyword is Keyword.PROBABLY_OPT_OUT:
        msg.mark(HandledAs.OPT_OUT_QUESTION)
        return [texts.confirm_stop_question(msg.clinic)]
    return NOT_MINE


def consent_answer(msg: Inbound) -> Outcome:
    """A YES/START or NO to a pending consent request, recorded with the request's exact words."""
    keyword = msg.keyword()
    agreed = True if keyword is Keyword.OPT_IN else parse_yes_no(msg.body)
    if agreed is None:
        return NOT_MINE
    reply = compliance.answer_request(msg.db, client=msg.client, clinic=msg.clinic, agreed=agreed,
                                      channel=msg.channel, now=msg.now)
    if reply is None:
        return NOT_MINE
    msg.mark(HandledAs.CONSENT)
    return [reply]


def _current_question(msg: Inbound) -> list[str]:
    """The open intake's question again, so a client who asked something else can carry on."""
    open_intake = msg.engine.open_intake(msg.db, msg.clinic, msg.client)
    if open_intake is None:
        return []
    return list(msg.engine.current(msg.db, intake=open_intake, channel=msg.channel).messages)


def language(msg: Inbound) -> Outcome:
    """EN/ES/LANGUAGE/IDIOMA: the client's language from now on; an open intake question is asked again in it."""
    wanted = language_of(msg.body)
    if wanted is None:
        return NOT_MINE
    msg.client.language = wanted
    msg.mark(HandledAs.LANGUAGE)
    open_intake = msg.engine.open_intake(msg.db, msg.clinic, msg.client)
    if open_intake is not None:
        return list(msg.engine.current(msg.db, intake=open_intake, channel=msg.channel).messages)
    return [text("language.set", wanted, clinic=msg.clinic.name)]


def staff(msg: Inbound) -> Outcome:
    """A text from one of the clinic's staff phones: a PLAN, MOVE, DONE, NOSHOW or RELEASE command, or the command list."""
    if not _is_staff_phone(msg.clinic, msg.from_number):
        return NOT_MINE
    msg.mark(HandledAs.STAFF)
    if _is_staff_command(msg.body):
        return [handle_staff_text(msg.db, msg.rt, clinic=msg.clinic, from_number=msg.from_number, body=msg.body,
                                  now=msg.now)]
    # A staff phone is not a client: an intake started for it would only confuse.
    return [HELP]


def photo(msg: Inbound) -> Outcome:
    """A text that carried photos (already attached to the client): its caption is never an answer to a question."""
    if not msg.photos:
        return NOT_MINE
    open_intake = msg.engine.open_intake(msg.db, msg.clinic, msg.client)
    if open_intake is not None:
        msg.mark(HandledAs.PHOTO)
        turn = msg.engine.photo_received(msg.db, intake=open_intake, channel=msg.channel, now=msg.now)
        return finish_turn(msg.db, msg.rt, turn, now=msg.now)
    if _latest_intake(msg.db, msg.clinic, msg.client) is None:
        return NOT_MINE  # a first message: the intake starts, and starting reads no answer from it
    # After the intake (or with a plan): the clinic sees the photo and the caption in the inbox.
    msg.mark(HandledAs.PHOTO, attention=True)
    return [text("photo.received", msg.client.locale, clinic=msg.clinic.name)]


def intake(msg: Inbound) -> Outcome:
    """An answer to the open intake question (a text-less message is re-asked)."""
    open_intake = msg.engine.open_intake(msg.db, msg.clinic, msg.client)
    if open_intake is None:
        return NOT_MINE
    msg.mark(HandledAs.INTAKE)
    if not (msg.body or "").strip():
        turn = msg.engine.current(msg.db, intake=open_intake, channel=msg.channel)
        return [text("intake.text_only", msg.client.locale), *turn.messages]
    turn = msg.engine.answer(msg.db, intake=open_intake, reply=msg.body, channel=msg.channel, now=msg.now)
    write_changes(msg.db, open_intake)
    return finish_turn(msg.db, msg.rt, turn, now=msg.now)


def plan_reply(msg: Inbound) -> Outcome:
    """A reply from a client with an active plan: confirm, reschedule, or for the clinic inbox."""
    if not _has_active_plan(msg.db, msg.clinic, msg.client):
        return NOT_MINE
    msg.mark(HandledAs.PLAN_REPLY)
    answer = handle_reply(msg.db, msg.rt, clinic=msg.clinic, client=msg.client, body=msg.body, now=msg.now,
                          inbound=msg.record)
    if answer is None:
        msg.mark(HandledAs.INBOX, attention=True)
        if detect(msg.body) is Keyword.APPOINTMENT_CANCEL:
            # Staff were notified by handle_reply; the client learns how to cancel now.
            return [texts.appointment_cancel_reply(msg.clinic, msg.client.locale)]
        return [text("inbox.received", msg.client.locale, clinic=msg.clinic.name)]
    return list(answer)


def inbox(msg: Inbound) -> Outcome:
    """A client whose answers are in and with staff: the text waits in the inbox (RESTART starts over)."""
    waiting = _latest_intake(msg.db, msg.clinic, msg.client)
    if (waiting is None or waiting.status not in (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN)
            or command(msg.body) is Command.RESTART):
        return NOT_MINE
    # Answers are in and staff are on it: a new questionnaire would only confuse.
    msg.mark(HandledAs.INBOX, attention=True)
    return [text("inbox.received.restart", msg.client.locale, clinic=msg.clinic.name)]


def start(msg: Inbound) -> Outcome:
    """Anyone else starts the intake; the last handler, so it always handles."""
    msg.mark(HandledAs.INTAKE_START)
    if msg.client.language is None and looks_spanish(msg.body):
        msg.client.language = "es"
    turn = msg.engine.start(msg.db, clinic=msg.clinic, client=msg.client, channel=msg.channel, now=msg.now)
    return finish_turn(msg.db, msg.rt, turn, now=msg.now)


def finish_turn(db: Session, rt, turn: Turn, *, now: datetime) -> list[str]:
    """The turn's texts; an intake that just completed or needs a person also notifies staff."""
    if turn.intake is not None and TurnEvent.CONFIRM_BY_TEXT in turn.events:
        intake = turn.intake
        request = compliance.confirm_by_text(db, client=intake.client, clinic=intake.clinic, now=now)
        if request is not None:
            rt.dispatcher.schedule(db, [request])
            turn.messages.insert(0, text("call.keyed.confirm_by_text", intake.client.locale))
    if turn.intake is not None and ({TurnEvent.COMPLETE, TurnEvent.NEEDS_HUMAN} & set(turn.events)):
        notify_staff(db, rt, intake=turn.intake, now=now)
    return list(turn.messages)


def _is_staff_command(body: str) -> bool:
    said = words(body).split()
    return bool(said) and said[0] in STAFF_COMMANDS


def _is_staff_phone(clinic: Clinic, from_number: str) -> bool:
    # The clinic's staff phones come loaded with it from the clinic directory (a few rows, cached).
    return any(phone.number == from_number for phone in clinic.staff_phones)


def _has_active_plan(db: Session, clinic: Clinic, client: Client) -> bool:
    return db.scalar(select(Plan.id).where(Plan.clinic_id == clinic.id, Plan.client_id == client.id,
                                           Plan.status == PlanStatus.ACTIVE).limit(1)) is not None


def _latest_intake(db: Session, clinic: Clinic, client: Client) -> Intake | None:
    return db.scalar(select(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id)
                     .order_by(Intake.id.desc()).limit(1))
