"""The day view: every session on one local day, who it is for, and whether they confirmed."""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from glowline.clinics.clients import first_names
from glowline.phone import clinic_region, for_people
from glowline.plans.timeline import localize, zone
from glowline.store.models import (Clinic, MessageKind, MessageStatus, OutboxMessage, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)

_SAID = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED,
         MessageStatus.SENDING)
_ABOUT_SESSION = (MessageKind.REMINDER, MessageKind.PLAN_CONFIRMATION, MessageKind.BOOKING_NUDGE,
                  MessageKind.CLIENT_NOTICE)


class Confirmation(str, enum.Enum):
    """Where a session's booking stands, in the desk's words."""

    CONFIRMED = "confirmed"
    WAITING = "waiting"
    RESCHEDULE = "asked to reschedule"
    CALLBACK = "call-back requested"
    OPTED_OUT = "opted out"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Reminder:
    """A message about the session that already went out."""

    kind: str
    status: str
    at: datetime


@dataclass(frozen=True)
class DayRow:
    """One session on the day."""

    plan_id: int
    client_id: int
    client_name: str | None
    client_phone: str
    number: int
    total: int
    starts_at: datetime
    protocol: str
    confirmation: Confirmation
    reminders: list[Reminder] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """True when nothing is left to chase for this session."""
        return self.confirmation in (Confirmation.CONFIRMED, Confirmation.CANCELLED)

    def as_dict(self) -> dict:
        """The row as the API returns it."""
        return {"plan_id": self.plan_id, "client_id": self.client_id, "client_name": self.client_name,
                "client_phone": self.client_phone, "session": self.number, "sessions": self.total,
                "starts_at": self.starts_at.isoformat(), "protocol": self.protocol,
                "confirmation": self.confirmation.value,
                "reminders": [{"kind": r.kind, "status": r.status, "at": r.at.isoformat()} for r in self.reminders]}


def confirmation_of(session: TreatmentSession) -> Confirmation:
    """The desk's word for a session's state."""
    if session.status is SessionStatus.CANCELLED:
        return Confirmation.CANCELLED
    if session.plan.client.opted_out:
        return Confirmation.OPTED_OUT
    if session.status is SessionStatus.CONFIRMED:
        return Confirmation.CONFIRMED
    if session.status is SessionStatus.CALLBACK_REQUESTED:
        # A key press on a reminder call records its result; a text "R" does not.
        return Confirmation.CALLBACK if session.call_result == "callback_requested" else Confirmation.RESCHEDULE
    return Confirmation.WAITING


def day_bounds(clinic: Clinic, day: date) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends in the clinic's zone (DST days are 23 or 25 hours)."""
    return (localize(datetime.combine(day, time(0)), clinic.timezone),
            localize(datetime.combine(day + timedelta(days=1), time(0)), clinic.timezone))


def local_today(clinic: Clinic, now: datetime) -> date:
    """Today's date in the clinic's zone."""
    return now.astimezone(zone(clinic.timezone)).date()


def day(db: Session, clinic: Clinic, on: date, *, not_confirmed: bool = False) -> list[DayRow]:
    """Every session of the clinic's plans on the local day ``on``, in time order."""
    start, end = day_bounds(clinic, on)
    sessions = list(db.scalars(
        select(TreatmentSession).join(Plan)
        .where(Plan.clinic_id == clinic.id, Plan.status != PlanStatus.CANCELLED,
               TreatmentSession.starts_at >= start, TreatmentSession.starts_at < end)
        .options(selectinload(TreatmentSession.plan).selectinload(Plan.client))
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)))
    names = first_names(db, clinic.id, {s.plan.client_id for s in sessions})
    region = clinic_region(clinic)
    said: dict[int, list[Reminder]] = {}
    if sessions:
        for message in db.scalars(select(OutboxMessage).where(
                OutboxMessage.session_id.in_([s.id for s in sessions]), OutboxMessage.kind.in_(_ABOUT_SESSION),
                OutboxMessage.status.in_(_SAID)).order_by(OutboxMessage.due_at)):
            said.setdefault(message.session_id or 0, []).append(
                Reminder(kind=message.kind.value, status=message.status.value, at=message.sent_at or message.due_at))
    rows = [DayRow(plan_id=s.plan_id, client_id=s.plan.client_id, client_name=names.get(s.plan.client_id),
                   client_phone=for_people(s.plan.client.phone, region), number=s.number, total=s.plan.session_count,
                   starts_at=s.starts_at, protocol=s.plan.protocol_id, confirmation=confirmation_of(s),
                   reminders=said.get(s.id, [])) for s in sessions]
    return [r for r in rows if not r.confirmed] if not_confirmed else rows


def as_csv(rows: list[DayRow], clinic: Clinic) -> str:
    """The day as CSV for a spreadsheet or a printout: local times, one session per line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "client", "phone", "session", "protocol", "confirmation", "reminders sent"])
    tz = zone(clinic.timezone)
    for r in rows:
        writer.writerow([f"{r.starts_at.astimezone(tz):%Y-%m-%d %H:%M}", _safe(r.client_name or ""), r.client_phone,
                         f"{r.number} of {r.total}", r.protocol, r.confirmation.value,
                         "; ".join(f"{m.kind.replace('_', ' ')} {m.status}" for m in r.reminders)])
    return out.getvalue()


def _safe(cell: str) -> str:
    # A name typed as "=HYPERLINK(...)" must not become a formula in the clinic's spreadsheet.
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
