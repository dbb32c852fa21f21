"""What the outbox holds, for staff: counts by status, what is overdue, and the rows the queue page lists.

Read-only: nothing here changes a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.store.models import OPEN_STATUSES, MessageStatus, OutboxMessage

S = MessageStatus
FAILED = (S.FAILED, S.UNDELIVERED)


def queue_summary(db: Session, clinic_id: int, now: datetime, *, with_failures: bool = True) -> dict:
    """Counts by status, the next due time, overdue open rows and (unless told not to) recent failures."""
    counts = {s.value: 0 for s in S}
    for status, count in db.execute(select(OutboxMessage.status, func.count()).where(
            OutboxMessage.clinic_id == clinic_id).group_by(OutboxMessage.status)):
        counts[MessageStatus(status).value] = count
    open_rows = (OutboxMessage.clinic_id == clinic_id, OutboxMessage.status.in_(list(OPEN_STATUSES)))
    next_due = db.scalar(select(func.min(OutboxMessage.due_at)).where(*open_rows))
    overdue = db.scalar(select(func.count()).select_from(OutboxMessage).where(*open_rows,
                                                                              OutboxMessage.due_at < now))
    failures = db.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == clinic_id, OutboxMessage.status.in_(list(FAILED)))
        .order_by(OutboxMessage.updated_at.desc()).limit(20)).all() if with_failures else []
    return {
        "counts": counts,
        "next_due_at": next_due.isoformat() if next_due else None,
        "overdue": overdue or 0,
        "stuck_sending": counts[S.SENDING.value],
        "failures": [{"id": m.id, "kind": m.kind.value, "status": m.status.value, "attempts": m.attempts,
                      "error_code": m.error_code, "reason": m.last_error, "result": m.result,
                      "due_at": m.due_at.isoformat()} for m in failures],
    }


@dataclass(frozen=True)
class QueueListing:
    """The rows the staff queue page shows, each list capped at ``LISTED`` rows."""

    due_soon: list[OutboxMessage]
    sending: list[OutboxMessage]
    done_today: list[OutboxMessage]
    failed: list[OutboxMessage]


LISTED = 50


def queue_listing(db: Session, clinic_id: int, now: datetime, *, hours: int, day_start: datetime) -> QueueListing:
    """Open rows due within ``hours``, rows sending, rows sent or delivered since ``day_start``, failed rows."""

    def rows(*conditions, order=OutboxMessage.due_at) -> list[OutboxMessage]:
        return list(db.scalars(select(OutboxMessage).where(OutboxMessage.clinic_id == clinic_id, *conditions)
                               .order_by(order, OutboxMessage.id).limit(LISTED)))

    return QueueListing(
        due_soon=rows(OutboxMessage.status.in_(list(OPEN_STATUSES)), OutboxMessage.due_at <= now + timedelta(hours=hours)),
        sending=rows(OutboxMessage.status == S.SENDING),
        done_today=rows(OutboxMessage.status.in_([S.SENT, S.DELIVERED]), OutboxMessage.updated_at >= day_start,
                        order=OutboxMessage.updated_at.desc()),
        failed=rows(OutboxMessage.status.in_(list(FAILED)), order=OutboxMessage.updated_at.desc()),
    )
