"""A session the client asked to move (R): its remaining reminders wait until it is rebooked or released.

"See you on Tuesday" after the client said they cannot come on Tuesday contradicts them, so
the reminders are held, not sent; moving the session (staff, or the client's own pick)
replaces them, and staff may release them when the client keeps the time after all.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from glowline.clinics.audit import AuditAction
from glowline.exceptions import Conflict
from glowline.plans.attendance import release_held
from glowline.plans.service import Dispatcher, _audit, _open_messages, _require_active, _schedule, _session
from glowline.store.models import MessageKind, MessageStatus, OPEN_STATUSES, Plan, SessionStatus, TreatmentSession

# What a rebooking makes wrong: reminders of the old time and the nudge asking to confirm it.
HELD_KINDS = frozenset({MessageKind.REMINDER, MessageKind.BOOKING_NUDGE})


def hold_session(db: Session, session: TreatmentSession, *, actor: str, now: datetime) -> int:
    """Mark a call-back request and hold the session's unsent reminders; returns how many were held."""
    plan = session.plan
    session.status = SessionStatus.CALLBACK_REQUESTED
    session.callback_requested_at = now
    session.confirmed_at = None
    held = 0
    for message in _open_messages(db, plan):
        if message.session_id == session.id and message.kind in HELD_KINDS and message.status in OPEN_STATUSES:
            # A job already in Redis for a queued row finds it held and does nothing.
            message.status = MessageStatus.HELD
            message.enqueued_at = None
            message.updated_at = now
            held += 1
    _audit(db, plan, AuditAction.SESSION_HELD, actor, now, session=session.number, held=held)
    return held


def release_session(db: Session, plan: Plan, number: int, *, actor: str, now: datetime,
                    dispatcher: Dispatcher | None = None) -> TreatmentSession:
    """Staff keep the session's time after all: its held reminders go out again (those still useful)."""
    _require_active(plan)
    row = _session(plan, number)
    if row.status is not SessionStatus.CALLBACK_REQUESTED:
        raise Conflict(f"session {number} is {row.status.value.replace('_', ' ')}, not waiting for a call-back")
    row.status = SessionStatus.SCHEDULED
    row.callback_requested_at = None
    held = [m for m in _open_messages(db, plan) if m.session_id == row.id and m.status is MessageStatus.HELD
            and m.kind in HELD_KINDS]
    released = release_held(db, held, plan=plan, now=now)
    _audit(db, plan, AuditAction.SESSION_RELEASED, actor, now, session=number, released=len(released))
    _schedule(db, dispatcher, released)
    return row
