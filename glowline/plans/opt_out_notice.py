"""Tell staff a client opted out, and which of their upcoming sessions lose their reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.delivery.notices import notify_staff
from glowline.messages.dates import format_moment
from glowline.plans.replies import UPCOMING
from glowline.plans.timeline import zone
from glowline.store.models import Client, Clinic, OutboxMessage, Plan, PlanStatus, TreatmentSession


def upcoming_sessions(db: Session, *, clinic: Clinic, client: Client, now: datetime) -> list[TreatmentSession]:
    """The client's booked sessions at this clinic that have not started, soonest first."""
    return list(db.scalars(
        select(TreatmentSession).join(Plan)
        .where(Plan.clinic_id == clinic.id, Plan.client_id == client.id, Plan.status == PlanStatus.ACTIVE,
               TreatmentSession.status.in_(UPCOMING), TreatmentSession.starts_at > now)
        .order_by(TreatmentSession.starts_at)))


def notify_opt_out(db: Session, rt, *, clinic: Clinic, client: Client, how: str, now: datetime) -> list[OutboxMessage]:
    """Queue a staff notice when an opt-out leaves booked sessions without reminders; which ones, and how."""
    sessions = upcoming_sessions(db, clinic=clinic, client=client, now=now)
    if not sessions:
        # Nothing booked to lose: the opt-out shows on the staff pages; a text would be noise.
        return []
    local = zone(clinic.timezone)
    listed = "; ".join(f"plan {s.plan_id} session {s.number} {format_moment(s.starts_at.astimezone(local))}"
                       for s in sessions[:5])
    more = f" and {len(sessions) - 5} more" if len(sessions) > 5 else ""
    # Minimum necessary: the client's id, never their number or words; the staff page has the rest.
    body = (f"{clinic.name}: client #{client.id} opted out of all messages ({how}). Upcoming sessions without "
            f"reminders: {listed}{more}. Please call them.")
    return notify_staff(db, rt, clinic=clinic, body=body[:1500], now=now)
