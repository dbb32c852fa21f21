"""The staff notice an intake produces: one short SMS per staff phone, through the outbox."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from glowline.models import Channel, Intake, IntakeStatus, MessageKind, MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def plan_example(now: datetime, tz: str) -> str:
    """A ready-to-edit first visit for the PLAN reply: a week from now, 10am clinic time ("dec 8 10am")."""
    day = (now + timedelta(days=7)).astimezone(ZoneInfo(tz))
    return f"{_MONTHS[day.month - 1]} {day.day} 10am"


def staff_notice_text(intake: Intake, now: datetime) -> str:
    """The notice body: intake id, concern, screening flags and the exact reply that starts a plan.

    Minimum necessary: no name, phone or free text. The SMS crosses carriers and
    stays on personal phones; the intake id finds the rest on the staff pages.
    """
    answers = intake.answers or {}
    clinic = intake.clinic.name
    screening = [f.removeprefix("screening: ") for f in intake.flags or [] if f.startswith("screening: ")]
    flags = f" Flags: {'; '.join(screening)}." if screening else " No screening flags."
    if intake.status is IntakeStatus.NEEDS_HUMAN:
        reason = next((f for f in reversed(intake.flags or []) if not f.startswith("screening: ")), "needs a person")
        return f"{clinic}: intake #{intake.id} needs a call ({reason}). Details on the staff page."
    area = answers.get("area") or []
    where = f" ({', '.join(area)})" if area else ""
    return (f"{clinic}: new intake #{intake.id}. Concern: {answers.get('concern', '?')}{where}.{flags} "
            f"To book, reply: PLAN {intake.id} {plan_example(now, intake.clinic.timezone)} (optional: x5 every 6w)")


def notify_staff(db: Session, rt, *, intake: Intake, now: datetime) -> list[OutboxMessage]:
    """Queue the notice to each of the clinic's staff phones, from the clinic's number, due now."""
    clinic = intake.clinic
    if not clinic.staff_phones or not clinic.numbers:
        log.warning("intake %s: clinic %s has no staff phone or number to notify", intake.id, clinic.id)
        return []
    body = staff_notice_text(intake, now)
    rows = [OutboxMessage(clinic_id=clinic.id, client_id=None, kind=MessageKind.STAFF_NOTICE, channel=Channel.SMS,
                          to_number=phone.number, from_number=clinic.numbers[0].number, body=body, due_at=now,
                          status=MessageStatus.PENDING, created_at=now, updated_at=now)
            for phone in clinic.staff_phones]
    db.add_all(rows)
    db.flush()
    rt.dispatcher.schedule(db, rows)
    log.info("intake %s: %d staff notices queued", intake.id, len(rows))
    return rows
