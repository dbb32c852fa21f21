"""The staff notice an intake produces: one short SMS per staff phone, through the outbox."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.orm import Session

from glowline.catalog.protocols import Protocol
from glowline.delivery import notices
from glowline.exceptions import NotFound, ValidationError
from glowline.plans.rebooking import calendar_for
from glowline.plans.slots import Calendar, find_slots
from glowline.plans.start import protocol_for_intake
from glowline.plans.timeline import localize
from glowline.store.models import Intake, IntakeStatus, OutboxMessage

log = logging.getLogger(__name__)

# How far ahead the example's first visit is: a week gives the client time to prepare,
# and the search stops after three so a clinic open one day a month still gets an example.
EXAMPLE_AFTER = timedelta(days=7)
EXAMPLE_WITHIN = timedelta(days=21)
EXAMPLE_HOUR = time(10, 0)


def plan_example(now: datetime, tz: str, protocol: Protocol | None = None,
                 calendar: Calendar | None = None) -> str:
    """A PLAN tail staff can send back as it is: a first visit about a week ahead and the protocol's defaults.

    "dec 9 10am x4 every 6w": month-name date and am/pm time, which the PLAN parser reads in
    any locale; the visit is inside opening hours when the clinic has them, else 10am clinic time.
    The sessions and weeks are the protocol's defaults, so the reply starts a valid plan.
    """
    start = _example_start(now, tz, calendar)
    local = start.astimezone(ZoneInfo(tz))
    clock = f"{local.hour % 12 or 12}{f':{local.minute:02d}' if local.minute else ''}{'am' if local.hour < 12 else 'pm'}"
    # The PLAN reply is read by the English PLAN-text parser, so the example is English whatever the client's locale.
    example = f"{format_date(local, 'MMM d', locale='en').lower()} {clock}"
    if protocol is not None:
        example += f" x{protocol.sessions.default} every {protocol.interval_weeks.default}w"
    return example


def _example_start(now: datetime, tz: str, calendar: Calendar | None) -> datetime:
    """The example's first visit: the first open time a week on when hours are set, else 10am a week on."""
    if calendar is not None and calendar.hours:
        # Capacity is not the point of an example (staff check the day), only that the clinic is open.
        open_calendar = replace(calendar, capacity=max(calendar.capacity, 1), booked=())
        found = find_slots(open_calendar, length=timedelta(hours=1), earliest=now + EXAMPLE_AFTER,
                           latest=now + EXAMPLE_WITHIN, now=now, count=1)
        if found:
            return found[0]
    day = (now + EXAMPLE_AFTER).astimezone(ZoneInfo(tz)).date()
    return localize(datetime.combine(day, EXAMPLE_HOUR), tz)


def _protocol_of(rt, intake: Intake) -> Protocol | None:
    """The protocol the intake's concern points to, or None (the example then omits sessions and weeks)."""
    try:
        return protocol_for_intake(rt.catalog, intake)
    except (ValidationError, NotFound):
        return None


def staff_notice_text(intake: Intake, now: datetime, *, protocol: Protocol | None = None,
                      calendar: Calendar | None = None) -> str:
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
            f"To book, reply: PLAN {intake.id} {plan_example(now, intake.clinic.timezone, protocol, calendar)}")


def notify_staff(db: Session, rt, *, intake: Intake, now: datetime) -> list[OutboxMessage]:
    """Queue the intake notice to each of the clinic's staff phones, due now."""
    clinic = intake.clinic
    calendar = calendar_for(db, clinic, start=now + EXAMPLE_AFTER, end=now + EXAMPLE_WITHIN)
    body = staff_notice_text(intake, now, protocol=_protocol_of(rt, intake), calendar=calendar)
    rows = notices.notify_staff(db, rt, clinic=clinic, body=body, now=now)
    log.info("intake %s: %d staff notices queued", intake.id, len(rows))
    return rows
