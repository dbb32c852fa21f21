"""What staff may do to one outbox row: retry it or cancel it, checked, audited and scheduled.

The outbox (``glowline.delivery.outbox``) makes the move; this module decides whether staff
may make it now, and records who did. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from glowline.clinics.audit import AuditAction, record_message_action
from glowline.delivery import outbox
from glowline.delivery.outbox import RETRYABLE_BY_STAFF
from glowline.exceptions import Conflict
from glowline.store.models import MessageStatus, OutboxMessage
from glowline.transports import errors as twilio_errors

# Twilio's word that this message can never reach this number: a retry would only fail again
# (or, for 21610, text someone who said STOP).
PERMANENT_ERRORS = frozenset({21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006})


def retry_refusal(message: OutboxMessage, now: datetime) -> str | None:
    """Why staff may not retry this row now, or None when they may."""
    if message.status is MessageStatus.SUPPRESSED:
        # What came due while the client had opted out is not sent late, even after a START.
        return "it came due while the client had opted out (or had no consent); it is not sent late"
    if message.status not in RETRYABLE_BY_STAFF:
        return (f"only a failed, undelivered or skipped message can be retried; this one is "
                f"{message.status.value}")
    if message.client is not None and message.client.opted_out:
        return "the client has opted out of messages; they must text START before anything is sent"
    if message.error_code in PERMANENT_ERRORS:
        return f"Twilio said it can never be delivered: {twilio_errors.describe(message.error_code)}"
    if message.not_after is not None and message.not_after <= now:
        # A reminder after its session, or aftercare after its window, is worse than none.
        return "too late to send: what it announces has already passed"
    return None


def retry_message(db: Session, rt, message: OutboxMessage, *, actor: str, now: datetime) -> OutboxMessage:
    """Staff retry: a failed, undelivered or skipped row goes back to pending, due now, and is scheduled."""
    refusal = retry_refusal(message, now)
    if refusal is not None:
        raise Conflict(refusal)
    outbox.reopen(db, message, now=now)
    record_message_action(db, message, actor=actor, action=AuditAction.MESSAGE_RETRIED, now=now)
    rt.dispatcher.schedule(db, [message])
    return message


def cancel_message(db: Session, message: OutboxMessage, *, actor: str, now: datetime) -> OutboxMessage:
    """Staff cancel: a pending or queued row is cancelled; a queued job then finds nothing to do."""
    if not outbox.cancel(db, message, now=now):
        raise Conflict(f"only a pending, queued or held message can be cancelled; this one is {message.status.value}")
    record_message_action(db, message, actor=actor, action=AuditAction.MESSAGE_CANCELLED, now=now)
    return message
