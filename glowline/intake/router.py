"""The channel-neutral inbound router: keywords, staff commands, intake, plan replies, new clients."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from glowline.compliance import consent as compliance
from glowline.intake.engine import IntakeEngine, Turn
from glowline.intake.notice import notify_staff
from glowline.compliance.keywords import Command, Keyword, command, detect
from glowline.store.models import (Channel, Client, Clinic, InboundMessage, Intake, IntakeStatus, Plan, PlanStatus,
                             StaffPhone)
from glowline.normalize import words

log = logging.getLogger(__name__)

STAFF_COMMANDS = frozenset({"plan"})
MAX_PHONE = 20


class HandledAs:
    """What an inbound message turned out to be (stored on InboundMessage.handled_as)."""

    OPT_OUT = "opt_out"
    OPT_OUT_REPEAT = "opt_out_repeat"
    OPT_IN = "opt_in"
    HELP = "help"
    OPTED_OUT = "ignored_opted_out"
    STAFF = "staff_command"
    INTAKE = "intake"
    PLAN_REPLY = "plan_reply"
    INBOX = "inbox"
    INTAKE_START = "intake_start"


def get_or_create_client(db: Session, phone: str, now: datetime) -> Client:
    """The client for a number, created atomically on first contact and locked for this transaction."""
    phone = phone[:MAX_PHONE]
    dialect = db.get_bind().dialect.name
    # INSERT .. ON CONFLICT DO NOTHING: two first texts at once must not fail on the unique phone.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(insert(Client).values(phone=phone, preferred_channel=Channel.SMS, created_at=now)
               .on_conflict_do_nothing(index_elements=["phone"]))
    # FOR UPDATE serialises concurrent messages from one client on PostgreSQL; SQLite
    # already serialises writers.
    return db.scalars(select(Client).where(Client.phone == phone).with_for_update()
                      .execution_options(populate_existing=True)).one()


def handle_text(db: Session, rt, *, clinic: Clinic, from_number: str, body: str, channel: str = "sms",
                now: datetime, record: InboundMessage | None = None,
                engine: IntakeEngine | None = None) -> list[str]:
    """Route one inbound text and return the reply texts; never commits.

    ``record`` (the stored inbound row) gets the client, what the text was and
    whether the clinic inbox should show it.
    """
    engine = engine or rt.intake_engine
    client = get_or_create_client(db, from_number, now)
    note = _Note(record, client)

    keyword = detect(body, opted_out=client.opted_out)
    if keyword is Keyword.OPT_OUT:
        changed = compliance.opt_out(db, client=client, clinic=clinic, wording=body or "", method=f"{channel}_keyword",
                                     now=now)
        note.mark(HandledAs.OPT_OUT if changed else HandledAs.OPT_OUT_REPEAT)
        return [compliance.opt_out_reply(clinic)] if changed else []
    if keyword is Keyword.HELP:
        # HELP is answered even after STOP: carriers require it and it is not marketing.
        note.mark(HandledAs.HELP)
        return [compliance.help_reply(clinic)]
    if keyword is Keyword.OPT_IN and client.opted_out:
        compliance.opt_in(db, client=client, clinic=clinic, wording=body or "", method=f"{channel}_keyword", now=now)
        note.mark(HandledAs.OPT_IN)
        replies = [compliance.opt_in_reply(clinic)]
        intake = engine.open_intake(db, clinic, client)
        if intake is not None:
            replies += engine.current(db, intake=intake, channel=channel).messages
        return replies
    if client.opted_out:
        # Nothing but keyword answers may go to an opted-out number; the clinic still sees the text.
        note.mark(HandledAs.OPTED_OUT, attention=True)
        return []

    if _is_staff_phone(db, clinic, from_number):
        from glowline.plans.requests import USAGE
        from glowline.plans.staff_commands import handle_staff_text

        note.mark(HandledAs.STAFF)
        if _is_staff_command(body):
            return [handle_staff_text(db, rt, clinic=clinic, from_number=from_number, body=body, now=now)]
        # A staff phone is not a client: an intake started for it would only confuse.
        return [f"Staff commands: {USAGE}"]

    intake = engine.open_intake(db, clinic, client)
    if intake is not None:
        note.mark(HandledAs.INTAKE)
        if not (body or "").strip():
            turn = engine.current(db, intake=intake, channel=channel)
            return ["Sorry, we can only read text here.", *turn.messages]
        turn = engine.answer(db, intake=intake, reply=body, channel=channel, now=now)
        return finish_turn(db, rt, turn, now=now)

    if _has_active_plan(db, clinic, client):
        from glowline.plans.replies import handle_reply

        note.mark(HandledAs.PLAN_REPLY)
        answer = handle_reply(db, rt, clinic=clinic, client=client, body=body, now=now, inbound=record)
        if answer is None:
            note.mark(HandledAs.INBOX, attention=True)
            return [f"Thanks, we got your message. {clinic.name} will get back to you soon."]
        return list(answer)

    waiting = _latest_intake(db, clinic, client)
    if (waiting is not None and waiting.status in (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN)
            and command(body) is not Command.RESTART):
        # Answers are in and staff are on it: a new questionnaire would only confuse.
        note.mark(HandledAs.INBOX, attention=True)
        return [f"Thanks, we got your message. {clinic.name} will get back to you soon. "
                f"Reply RESTART to answer the questions again."]

    note.mark(HandledAs.INTAKE_START)
    turn = engine.start(db, clinic=clinic, client=client, channel=channel, now=now)
    return finish_turn(db, rt, turn, now=now)


def finish_turn(db: Session, rt, turn: Turn, *, now: datetime) -> list[str]:
    """The turn's texts; an intake that just completed or needs a person also notifies staff."""
    if turn.intake is not None and ({"complete", "needs_human"} & set(turn.events)):
        notify_staff(db, rt, intake=turn.intake, now=now)
    return list(turn.messages)


class _Note:
    """Writes what a message was onto its stored row, when there is one."""

    def __init__(self, record: InboundMessage | None, client: Client):
        self.record = record
        if record is not None:
            record.client_id = client.id

    def mark(self, handled_as: str, *, attention: bool = False) -> None:
        if self.record is not None:
            self.record.handled_as = handled_as
            self.record.needs_attention = attention


def _is_staff_command(body: str) -> bool:
    said = words(body).split()
    return bool(said) and said[0] in STAFF_COMMANDS


def _is_staff_phone(db: Session, clinic: Clinic, from_number: str) -> bool:
    return db.scalar(select(StaffPhone.id).where(StaffPhone.clinic_id == clinic.id,
                                                 StaffPhone.number == from_number)) is not None


def _has_active_plan(db: Session, clinic: Clinic, client: Client) -> bool:
    return db.scalar(select(Plan.id).where(Plan.clinic_id == clinic.id, Plan.client_id == client.id,
                                           Plan.status == PlanStatus.ACTIVE).limit(1)) is not None


def _latest_intake(db: Session, clinic: Clinic, client: Client) -> Intake | None:
    return db.scalar(select(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id)
                     .order_by(Intake.id.desc()).limit(1))
