"""Where a plan is in its life: active until its last session's aftercare window ends, then completed.

A completed or cancelled plan sends nothing more (the send job checks the plan's status).
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from glowline.catalog.protocols import Catalog
from glowline.clinics.audit import AuditAction
from glowline.plans.service import _audit, _cancel, _open_messages
from glowline.plans.timeline import aftercare_ends
from glowline.store.models import (MessageKind, MessageStatus, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)

ACTOR = "glowline"
# At most this many plans are settled per pass; the next pass takes the rest.
BATCH = 200


def finishes_at(plan: Plan, catalog: Catalog) -> datetime | None:
    """When the plan's last live session's aftercare window ends; None when every session is cancelled."""
    live = [s for s in plan.sessions if s.status is not SessionStatus.CANCELLED]
    if not live:
        return None
    last = live[-1]
    end = last.starts_at + timedelta(minutes=last.duration_minutes)
    return aftercare_ends(end, catalog.get(plan.protocol_id).aftercare_hours, plan.clinic.zone_for(plan.client))


def _settled(db: Session, plan: Plan, now: datetime) -> bool:
    """True when nothing the plan still owes the client is waiting: the aftercare-end note went out first."""
    for message in _open_messages(db, plan):
        if message.status is MessageStatus.HELD:
            continue  # held for attendance that was never marked: nobody will release it now
        if message.kind is MessageKind.AFTERCARE_END or message.not_after is None or message.not_after > now:
            return False
    return True


def complete_due_plans(db: Session, *, catalog: Catalog, now: datetime) -> list[int]:
    """Mark completed every active plan whose last aftercare window has ended; returns their ids."""
    # Only plans with no live session still to start can be over; that keeps the pass small.
    upcoming = (select(TreatmentSession.id).where(TreatmentSession.plan_id == Plan.id,
                                                  TreatmentSession.status != SessionStatus.CANCELLED,
                                                  TreatmentSession.starts_at > now).exists())
    candidates = db.scalars(select(Plan).where(Plan.status == PlanStatus.ACTIVE, ~upcoming)
                            .options(selectinload(Plan.sessions)).order_by(Plan.id).limit(BATCH)).all()
    done = []
    for plan in candidates:
        ends = finishes_at(plan, catalog)
        if ends is None or ends > now or not _settled(db, plan, now):
            continue
        for message in _open_messages(db, plan):
            _cancel(message, now)
        plan.status = PlanStatus.COMPLETED
        plan.completed_at = now
        plan.version += 1
        _audit(db, plan, AuditAction.PLAN_COMPLETED, ACTOR, now)
        done.append(plan.id)
    db.flush()
    return done
