"""The outbox state machine: claim a row, record what the provider said, reopen or cancel it.

    pending -> queued -> sending -> sent -> delivered | undelivered | failed
    pending/queued -> cancelled | skipped | suppressed;  sending -> failed (Twilio refused, or outcome unknown)
    sending -> suppressed (Twilio said the recipient opted out: 21610)

Every transition is a conditional UPDATE (``WHERE status IN (...)``) so two workers, two
callbacks or a worker and a staff member racing on one row cannot move it backwards.
Nothing here commits: the caller owns the transaction. What staff may do and when is
``staff_actions``; what the queue holds is ``report``; notices to staff are ``notices``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from glowline.transports import errors as twilio_errors
from glowline.store.models import (TERMINAL_STATUSES, UNSENT_STATUSES, Channel, Client, MessageEvent, MessageStatus,
                                   OutboxMessage)

log = logging.getLogger(__name__)

S = MessageStatus
RANK = {S.PENDING: 0, S.HELD: 0, S.QUEUED: 1, S.SENDING: 2, S.SENT: 3,
        S.DELIVERED: 4, S.UNDELIVERED: 4, S.FAILED: 4, S.CANCELLED: 4, S.SKIPPED: 4, S.SUPPRESSED: 4}
CLAIMABLE = (S.PENDING, S.QUEUED)
RETRYABLE_BY_STAFF = (S.FAILED, S.UNDELIVERED, S.SKIPPED)

# Twilio MessageStatus -> our status. "read" is WhatsApp's delivered; "canceled" only
# happens to messages Twilio itself scheduled, which for us means it never went out.
SMS_STATUSES: dict[str, MessageStatus] = {
    "accepted": S.QUEUED, "scheduled": S.QUEUED, "queued": S.QUEUED, "sending": S.SENDING, "sent": S.SENT,
    "delivered": S.DELIVERED, "read": S.DELIVERED, "undelivered": S.UNDELIVERED, "failed": S.FAILED,
    "canceled": S.UNDELIVERED,
}

# A call is "sent" while it rings or talks; a person answering is its delivery.
CALL_STATUSES: dict[str, MessageStatus] = {
    "queued": S.SENT, "initiated": S.SENT, "ringing": S.SENT, "in-progress": S.SENT,
    "completed": S.DELIVERED, "busy": S.UNDELIVERED, "no-answer": S.UNDELIVERED, "failed": S.FAILED,
    "canceled": S.FAILED,
}

# Why a row was suppressed, in the words staff read on the queue and plan pages.
SUPPRESSION_REASONS = {
    "opted_out": "not sent: the client had opted out when it came due",
    "no_consent": "not sent: the client has no current consent for this clinic",
    "carrier_opted_out": "not sent: the carrier says the recipient opted out (Twilio error 21610)",
}

OUTCOME_UNKNOWN = "outcome_unknown"
OUTCOME_UNKNOWN_ERROR = ("outcome unknown: check Twilio (the send was attempted but not confirmed; "
                         "it may have gone out) before retrying")


def _lower_than(status: MessageStatus) -> list[MessageStatus]:
    return [s for s, rank in RANK.items() if rank < RANK[status]]


def _set(db: Session, message_id: int, allowed, *, count_attempt: bool = False, **values) -> bool:
    """UPDATE one row only if its status is still in ``allowed``; True when it changed.

    ``RETURNING`` hands the updated row straight back into the session (``populate_existing``),
    so later reads see the new values without the SELECT a refresh would cost on every claim
    and every outcome (SQLite >= 3.35 and PostgreSQL both support it).
    """
    stmt = _set_statement(tuple(allowed), tuple(sorted(values)), count_attempt)
    params = {"row_id": message_id} | {f"new_{name}": value for name, value in values.items()}
    return db.execute(stmt, params).scalar_one_or_none() is not None


@functools.cache
def _set_statement(allowed: tuple, columns: tuple, count_attempt: bool):
    """The conditional UPDATE for one transition, built once: building it cost as much as running it."""
    values: dict = {name: bindparam(f"new_{name}") for name in columns}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    return (update(OutboxMessage).where(OutboxMessage.id == bindparam("row_id"), OutboxMessage.status.in_(allowed))
            .values(**values).returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True))


def claim(db: Session, message_id: int, now: datetime) -> bool:
    """Atomically move a pending/queued row to sending and count the attempt; False if someone else has it."""
    return _set(db, message_id, CLAIMABLE, count_attempt=True, status=S.SENDING, claimed_at=now, updated_at=now)


def mark_sent(db: Session, message: OutboxMessage, *, sid: str, simulated: bool, now: datetime) -> None:
    """Record the provider's id after it accepted the message, then apply any status that beat us here."""
    _set(db, message.id, (S.SENDING,), status=S.SENT, provider_sid=sid, simulated=simulated, sent_at=now,
         last_error=None, error_code=None, updated_at=now)
    _apply_early_events(db, message, sid=sid, now=now)


def statuses_for(message: OutboxMessage) -> dict[str, MessageStatus]:
    """How the provider's status words map onto the outbox for this row's channel."""
    return CALL_STATUSES if message.channel is Channel.VOICE else SMS_STATUSES


@functools.cache
def _early_events_statement():
    return (select(MessageEvent).where(MessageEvent.provider_sid == bindparam("sid"), MessageEvent.message_id.is_(None))
            .order_by(MessageEvent.id))


def _apply_early_events(db: Session, message: OutboxMessage, *, sid: str, now: datetime) -> int:
    early = db.scalars(_early_events_statement(), {"sid": sid}).all()
    for event in early:
        event.message_id = message.id
        mapped = statuses_for(message).get(event.status)
        if mapped is not None:
            _advance(db, message.id, mapped, event.error_code, now)
    return len(early)


def attach_orphan_events(db: Session, *, now: datetime) -> int:
    """Apply status callbacks stored before their row had its SID (a race with ``mark_sent``)."""
    orphans = db.execute(select(OutboxMessage, MessageEvent.provider_sid)
                         .join(MessageEvent, MessageEvent.provider_sid == OutboxMessage.provider_sid)
                         .where(MessageEvent.message_id.is_(None)).distinct().limit(500)).all()
    return sum(_apply_early_events(db, message, sid=sid, now=now) for message, sid in orphans)


def mark_failed(db: Session, message: OutboxMessage, reason: str, *, now: datetime, code: int | None = None,
                result: str = "failed") -> None:
    """Fail a row for good (from sending, or from pending/queued when it can never be sent)."""
    _set(db, message.id, (S.PENDING, S.QUEUED, S.SENDING), status=S.FAILED, last_error=reason, error_code=code,
         result=result, finished_at=now, updated_at=now)


def mark_skipped(db: Session, message: OutboxMessage, reason: str, *, now: datetime) -> None:
    """Skip a row that should no longer go out (stale plan, past its useful time, opted out...)."""
    _set(db, message.id, (S.PENDING, S.QUEUED, S.SENDING), status=S.SKIPPED, result=reason, finished_at=now,
         updated_at=now)


def mark_suppressed(db: Session, message: OutboxMessage, reason: str, *, now: datetime,
                    code: int | None = None) -> bool:
    """Came due for a client who opted out (or has no consent): record why, send nothing, never send late."""
    return _set(db, message.id, (S.PENDING, S.QUEUED, S.SENDING), status=S.SUPPRESSED, result=reason,
                last_error=SUPPRESSION_REASONS.get(reason, reason), error_code=code, finished_at=now,
                updated_at=now)


def requeue(db: Session, message: OutboxMessage, *, due_at: datetime, now: datetime, reason: str | None = None,
            code: int | None = None) -> bool:
    """Put a row back in the queue for ``due_at`` (deferral or retry); the caller enqueues after commit."""
    values: dict = dict(status=S.QUEUED, due_at=due_at, enqueued_at=now, updated_at=now)
    if reason is not None:
        values.update(last_error=reason, error_code=code)
    return _set(db, message.id, (S.PENDING, S.QUEUED, S.SENDING), **values)


def mark_outcome_unknown(db: Session, message: OutboxMessage, *, now: datetime, code: int | None = None) -> bool:
    """A send was attempted but never confirmed: stop, and ask staff to look in Twilio before retrying.

    Sending again could text the client twice; not sending could lose a reminder. A person
    with the Twilio console can tell which, so the row is failed with a clear reason.
    """
    changed = _set(db, message.id, (S.SENDING,), status=S.FAILED, last_error=OUTCOME_UNKNOWN_ERROR,
                   error_code=code, result=OUTCOME_UNKNOWN, finished_at=now, updated_at=now)
    if changed:
        log.warning("outbox %s: outcome unknown after attempt %s; left for staff", message.id, message.attempts)
    return changed


def opt_out_by_carrier(db: Session, message: OutboxMessage, *, now: datetime) -> Client | None:
    """Twilio said 21610: suppress this row and opt the client out as a STOP would; the client when newly out."""
    from glowline.compliance import consent as compliance

    mark_suppressed(db, message, "carrier_opted_out", now=now, code=21610)
    client = db.get(Client, message.client_id) if message.client_id else None
    if client is None:
        client = db.scalar(select(Client).where(Client.clinic_id == message.clinic_id,
                                                Client.phone == message.to_number))
    if client is None:
        return None
    changed = compliance.opt_out(db, client=client, clinic=message.clinic,
                                 wording="carrier reported the recipient unsubscribed (Twilio error 21610)",
                                 method="carrier_21610", now=now)
    return client if changed else None


@dataclass(frozen=True)
class StatusUpdate:
    """What a provider status callback did: whether it was new, which row, and whether that row moved."""

    duplicate: bool
    message_id: int | None
    changed: bool


def _insert_event(db: Session, *, sid: str, status: str, error_code: int | None, message_id: int | None,
                  now: datetime) -> bool:
    """Insert (sid, status) once; False when it was already there. Atomic: no check-then-insert."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(MessageEvent)
            .values(provider_sid=sid, status=status, error_code=error_code, message_id=message_id, received_at=now)
            .on_conflict_do_nothing(index_elements=["provider_sid", "status"])
            .returning(MessageEvent.id))
    # RETURNING, not rowcount: psycopg reports no usable rowcount for an ORM insert that did nothing.
    return db.execute(stmt).scalar() is not None


def _advance(db: Session, message_id: int, status: MessageStatus, error_code: int | None, now: datetime) -> bool:
    """Forward-only: move the row to ``status`` only from a lower rank; terminal rows never move."""
    values: dict = dict(status=status, updated_at=now)
    if status in TERMINAL_STATUSES:
        values["finished_at"] = now
    if status in (S.UNDELIVERED, S.FAILED):
        values.update(error_code=error_code, result=status.value,
                      last_error=f"carrier reported {status.value}"
                      + (f": {twilio_errors.explain(error_code)}" if error_code else ""))
    elif status is S.DELIVERED:
        values["result"] = "delivered"
    return _set(db, message_id, _lower_than(status), **values)


def _adopt_sid(db: Session, message_id: int, sid: str, now: datetime) -> int | None:
    """Give row ``message_id`` the SID a callback names, when the worker never recorded it.

    The SMS status callback URL carries the row id, so a callback that beats the commit of
    the SID, or follows a crash that lost it, still finds its row: a row still ``sending``,
    or one failed as "outcome unknown", is one Twilio did accept. Conditional on the row
    having no SID yet, so a worker committing the SID at the same moment wins cleanly.
    """
    row = db.get(OutboxMessage, message_id)
    if row is None or row.channel is not Channel.SMS or row.provider_sid is not None:
        return None
    unknown = (OutboxMessage.status == S.FAILED) & (OutboxMessage.result == OUTCOME_UNKNOWN)
    stmt = (update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.provider_sid.is_(None),
                   (OutboxMessage.status == S.SENDING) | unknown)
            .values(status=S.SENT, provider_sid=sid, sent_at=func.coalesce(OutboxMessage.sent_at, now),
                    last_error=None, error_code=None, result=None, finished_at=None, updated_at=now)
            .execution_options(synchronize_session=False))
    if getattr(db.execute(stmt), "rowcount", 0) != 1:
        return None
    db.refresh(row)
    log.info("outbox %s: status callback found its row by id; Twilio accepted it", message_id)
    return message_id


def record_provider_status(db: Session, *, sid: str, status: str, error_code: int | None, now: datetime,
                           statuses: dict[str, MessageStatus] = SMS_STATUSES,
                           message_id_hint: int | None = None) -> StatusUpdate:
    """Apply one status callback: dedupe on (sid, status), then move the row forward if that is forward.

    An unknown SID is kept as an event with no row: the callback can beat the commit of the
    SID after Twilio's answer, and ``mark_sent`` applies it then. With ``message_id_hint``
    (the row id in the callback URL) such a callback settles its row at once.
    """
    status = (status or "").strip().lower()
    message_id = db.scalar(select(OutboxMessage.id).where(OutboxMessage.provider_sid == sid))
    if message_id is None and message_id_hint is not None and status in statuses:
        # A worker's commit of this SID can land between the SELECT above and the adoption, which
        # then finds a SID and changes nothing; read again rather than leave the callback an orphan
        # that only the reconciler, a tick or more later, would apply.
        message_id = (_adopt_sid(db, message_id_hint, sid, now)
                      or db.scalar(select(OutboxMessage.id).where(OutboxMessage.provider_sid == sid)))
    if not _insert_event(db, sid=sid, status=status, error_code=error_code, message_id=message_id, now=now):
        return StatusUpdate(duplicate=True, message_id=message_id, changed=False)
    mapped = statuses.get(status)
    if message_id is None or mapped is None:
        if mapped is None:
            log.info("provider status %r for %s is not one we track; recorded only", status, sid)
        return StatusUpdate(duplicate=False, message_id=message_id, changed=False)
    changed = _advance(db, message_id, mapped, error_code, now)
    return StatusUpdate(duplicate=False, message_id=message_id, changed=changed)


def reopen(db: Session, message: OutboxMessage, *, now: datetime) -> bool:
    """Move a failed, undelivered or skipped row back to pending, due now; False if it is no longer one."""
    # A reopened row gets a fresh attempt budget, and forgets the SID of the undelivered try
    # so a late callback for that try cannot touch the new one.
    return _set(db, message.id, RETRYABLE_BY_STAFF, status=S.PENDING, due_at=now, attempts=0, provider_sid=None,
                result=None, finished_at=None, claimed_at=None, sent_at=None, updated_at=now)


def cancel(db: Session, message: OutboxMessage, *, now: datetime, result: str = "cancelled_by_staff") -> bool:
    """Cancel a pending, queued or held row; False when it has already left (a queued job then finds nothing to do)."""
    return _set(db, message.id, UNSENT_STATUSES, status=S.CANCELLED, result=result, finished_at=now, updated_at=now)
