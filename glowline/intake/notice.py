"""The staff notice an intake produces: one short SMS per staff phone, through the outbox."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.orm import Session

from glowline.delivery import notices
from glowline.store.models import Intake, IntakeStatus, OutboxMessage

log = logging.getLogger(__name__)

def plan_example(now: datetime, tz: str) -> str:
    """A ready-to-edit first visit for the PLAN reply: a week from now, 10am clinic time ("dec 8 10am")."""
    day = (now + timedelta(days=7)).astimezone(ZoneInfo(tz))
    # The PLAN reply is read by the English PLAN-text parser, so the example is English whatever the client's locale.
    return f"{format_date(day, 'MMM d', locale='en').lower()} 10am"


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
    """Queue the intake notice to each of the clinic's staff phones, due now."""
    rows = notices.notify_staff(db, rt, clinic=intake.clinic, body=staff_notice_text(intake, now), now=now)
    log.info("intake %s: %d staff notices queued", intake.id, len(rows))
    return rows
