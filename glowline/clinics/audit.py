"""The audit log: which staff member or token did what to a plan or message, and when."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from glowline.store.models import AuditEvent, OutboxMessage


class AuditAction(str, enum.Enum):
    """Staff actions recorded in the audit log."""
    PLAN_STARTED = "plan_started"
    SESSION_MOVED = "session_moved"
    SESSION_CANCELLED = "session_cancelled"
    PLAN_CANCELLED = "plan_cancelled"
    MESSAGE_RETRIED = "message_retried"
    MESSAGE_CANCELLED = "message_cancelled"
    CLIENT_VIEWED = "client_viewed"
    SESSION_ATTENDED = "session_attended"
    SESSION_NO_SHOW = "session_no_show"
    SESSION_HELD = "session_held"
    SESSION_RELEASED = "session_released"
    PLAN_COMPLETED = "plan_completed"
    TIMES_OFFERED = "times_offered"
    REBOOK_CALL_BACK = "rebook_call_back"
    STAFF_REPLIED = "staff_replied"
    INBOX_DONE = "inbox_done"
    PHOTO_VIEWED = "photo_viewed"
    CARRIER_ALERT = "carrier_alert"  # a burst of 30034/30007: staff were alerted once


# Words staff read on the plan page for each action.
DESCRIPTIONS = {
    AuditAction.PLAN_STARTED: "started the plan",
    AuditAction.SESSION_MOVED: "moved a session",
    AuditAction.SESSION_CANCELLED: "cancelled a session",
    AuditAction.PLAN_CANCELLED: "cancelled the plan",
    AuditAction.MESSAGE_RETRIED: "retried a message",
    AuditAction.MESSAGE_CANCELLED: "cancelled a message",
    AuditAction.CLIENT_VIEWED: "viewed the client's details",
    AuditAction.SESSION_ATTENDED: "marked a session attended",
    AuditAction.SESSION_NO_SHOW: "marked a session no-show",
    AuditAction.SESSION_HELD: "asked to reschedule (reminders held)",
    AuditAction.SESSION_RELEASED: "released a held session",
    AuditAction.PLAN_COMPLETED: "completed the plan",
    AuditAction.TIMES_OFFERED: "was offered new times",
    AuditAction.REBOOK_CALL_BACK: "asked for a call to rebook",
    AuditAction.STAFF_REPLIED: "texted the client",
    AuditAction.INBOX_DONE: "marked an inbox text done",
    AuditAction.PHOTO_VIEWED: "viewed a client's photo",
    AuditAction.CARRIER_ALERT: "was alerted that carriers are blocking the clinic's texts",
}


def record(db: Session, *, clinic_id: int, actor: str, action: AuditAction | str, now: datetime,
           plan_id: int | None = None, message_id: int | None = None, **details) -> AuditEvent:
    """Add one audit event (ids, numbers and times only in ``details``: no client data). Does not commit."""
    event = AuditEvent(**values(clinic_id=clinic_id, actor=actor, action=action, now=now, plan_id=plan_id,
                                message_id=message_id, **details))
    db.add(event)
    return event


def values(*, clinic_id: int, actor: str, action: AuditAction | str, now: datetime, plan_id: int | None = None,
           message_id: int | None = None, **details) -> dict:
    """The columns of one audit event, for ``record`` and for writers that insert many at once."""
    return dict(clinic_id=clinic_id, actor=actor, action=AuditAction(action).value, plan_id=plan_id,
                message_id=message_id, details=details, created_at=now)


def record_view(db: Session, *, clinic_id: int, actor: str, now: datetime, what: str, ids: list[int],
                plan_id: int | None = None) -> AuditEvent:
    """Record that staff (or an API token) saw clients' details: which page and which rows. Does not commit."""
    return record(db, clinic_id=clinic_id, actor=actor, action=AuditAction.CLIENT_VIEWED, now=now, plan_id=plan_id,
                  what=what, ids=ids[:200])


def record_message_action(db: Session, message: OutboxMessage, *, actor: str, action: AuditAction,
                          now: datetime) -> AuditEvent:
    """Record a staff retry or cancel of one outbox message. Does not commit."""
    return record(db, clinic_id=message.clinic_id, actor=actor, action=action, now=now, plan_id=message.plan_id,
                  message_id=message.id, kind=message.kind.value)


def events_for_plan(db: Session, clinic_id: int, plan_id: int) -> list[AuditEvent]:
    """Every change to one plan, including its messages' retries and cancels, oldest first (views are not changes)."""
    message_ids = select(OutboxMessage.id).where(OutboxMessage.plan_id == plan_id)
    return list(db.scalars(
        select(AuditEvent)
        .where(AuditEvent.clinic_id == clinic_id, AuditEvent.action != AuditAction.CLIENT_VIEWED.value,
               or_(AuditEvent.plan_id == plan_id, AuditEvent.message_id.in_(message_ids)))
        .order_by(AuditEvent.created_at, AuditEvent.id)))


def describe(event: AuditEvent) -> str:
    """One line a person reads: what was done, with the session or message it touched."""
    try:
        text = DESCRIPTIONS[AuditAction(event.action)]
    except ValueError:
        text = event.action.replace("_", " ")
    details = event.details or {}
    if event.action == AuditAction.PLAN_STARTED.value and details.get("sessions"):
        text += f" ({details['sessions']} sessions, every {details.get('interval_weeks')} weeks)"
    elif details.get("session") is not None:
        text = text.replace("a session", f"session {details['session']}")
        if details.get("moved_sessions") and len(details["moved_sessions"]) > 1:
            text += f" and the later ones ({', '.join(str(n) for n in details['moved_sessions'][1:])})"
    elif event.message_id is not None:
        kind = str(details.get("kind", "")).replace("_", " ")
        text = text.replace("a message", f"message {event.message_id}" + (f" ({kind})" if kind else ""))
    return text
