"""RQ jobs: send one outbox row, and the periodic reconcile.

Jobs take integer ids only (no patient data in Redis), re-read the row, and are safe to
run twice: the atomic claim on the row, not RQ, makes a send happen once.

Retries use the row's attempt count and ``enqueue_at``, not RQ's ``Retry``: RQ keeps its
retry count in the job hash, which a Redis flush or restart loses (the reconciler would
then start the count again), while the database count survives and is what staff see.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from glowline.compliance import consent
from glowline.delivery import attempts, outbox, retry
from glowline.delivery.carrier_alerts import check_burst
from glowline.voice import calls as voice_calls
from glowline.store.db import on_commit
from glowline.delivery.dispatch import enqueue_one
from glowline.delivery.reconcile import settle_one
from glowline.plans.opt_out_notice import notify_opt_out
from glowline.exceptions import TransportError
from glowline.store.models import (TERMINAL_STATUSES, Channel, Client, MessageKind, MessageStatus, OutboxMessage,
                             PlanStatus, SessionStatus)
from glowline.messages.templates import MAX_BODY
from glowline.plans.timeline import evening_allows, in_quiet_hours, next_allowed_time
from workers import context

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# RQ's scheduler stores due times in whole seconds, so a job may start up to a second early.
EARLY_TOLERANCE = timedelta(seconds=2)
# Reasons that suppress rather than skip: the row is kept as the record of what the opt-out held back.
SUPPRESS = frozenset({"opted_out", "no_consent"})


def backoff(config, attempts: int, exc: TransportError) -> timedelta:
    """Wait before attempt ``attempts + 1``: Twilio's Retry-After, else full jitter (see ``delivery.retry``)."""
    return retry.delay(attempts, exc.retry_after, base=timedelta(seconds=config.retry_base_seconds),
                       cap=timedelta(seconds=config.retry_cap_seconds))


# Past the job timeout RQ has killed the attempt (the Twilio call's own timeout is at most half
# of it); the margin covers RQ noticing and the commit of an answer that arrived at the last moment.
STUCK_MARGIN = timedelta(seconds=15)


def stuck_after(config) -> timedelta:
    """How long a claimed row may stay in ``sending`` before nobody can still be sending it.

    Job timeout plus a margin: with the reconcile tick (30 s) a dead worker's row is
    settled within about 105 s, inside the 2-minute bound (README, "Recovery bounds").
    """
    return timedelta(seconds=config.job_timeout) + STUCK_MARGIN


def settle_bound(config) -> timedelta:
    """The longest a row left ``sending`` by a dead worker waits to be settled: stuck, then the next tick.

    A reconcile run killed with the same worker holds its lock up to ``LOCK_TTL``; with the
    default settings that ends before the row counts as stuck (45 s < 75 s).
    """
    from glowline.delivery.reconcile import LOCK_TTL

    return max(stuck_after(config), timedelta(seconds=LOCK_TTL)) + timedelta(seconds=config.reconcile_seconds)


def send_message(message_id: int) -> str:
    """Send one outbox row if it is still current and due; returns what happened (for RQ's result)."""
    rt = context.current()
    with rt.sessions() as db:
        outcome = _send(rt, db, int(message_id))
    log.info("outbox %s: %s", message_id, outcome)
    return outcome


def reconcile() -> dict:
    """The periodic job: replay the inbound spool, put what is due into RQ, restore what Redis lost, settle stuck sends."""
    from glowline.delivery.reconcile import reconcile as run

    rt = context.current()
    replayed = _replay_spool(rt)
    report = run(rt, stuck_after=stuck_after(rt.config))
    if report is None:
        return {"skipped": "another reconcile holds the lock", "spool_replayed": replayed}
    # Only the run that got the lock settles plans, so two runs never complete one plan twice.
    return report.as_dict() | {"plans_completed": complete_plans(), "spool_replayed": replayed,
                               **tend_photos()}


def tend_photos() -> dict:
    """Expire photos past their clinic's retention; enqueue again downloads and Twilio deletes that were lost."""
    from glowline.photos.retention import catch_up, expire_photos

    rt = context.current()
    try:
        with rt.sessions() as db:
            expired = expire_photos(db, rt, now=rt.clock.now())
            again = catch_up(db, rt, now=rt.clock.now())
    except Exception:
        log.warning("photo housekeeping stopped; tried again next run", exc_info=True)
        return {"photos_expired": 0, "photos_requeued": 0}
    return {"photos_expired": expired, "photos_requeued": again}


def complete_plans() -> int:
    """Mark completed the plans whose last aftercare window has ended; returns how many."""
    from glowline.plans.lifecycle import complete_due_plans

    rt = context.current()
    with rt.sessions() as db:
        done = complete_due_plans(db, catalog=rt.catalog, now=rt.clock.now())
        db.commit()
    return len(done)


def replay_spool() -> dict:
    """Replay texts and status callbacks kept in the inbound spool while the database was down."""
    return {"spool_replayed": _replay_spool(context.current())}


def _replay_spool(rt) -> int:
    from workers.inbound import replay_inbound

    try:
        return replay_inbound(rt)
    except SQLAlchemyError:
        # The database is still down: the rest wait for the next run. The statement is there to debug
        # with; its values are not (the engine's hide_parameters).
        log.warning("inbound spool replay stopped; the remaining entries wait for the next run", exc_info=True)
        return 0
    except Exception as exc:
        # Anything else names its type only, no traceback: an error raised while handling a spooled
        # text may quote the text itself.
        log.warning("inbound spool replay stopped (%s); the remaining entries wait for the next run",
                    type(exc).__name__)
        return 0


def _enqueue_after_commit(rt, db: Session, message: OutboxMessage, *, suffix: str = "") -> None:
    message_id, due_at = message.id, message.due_at
    on_commit(db, lambda: enqueue_one(rt.queue, message_id, due_at, rt.clock.now(), suffix=suffix))


SEND_LOAD = (joinedload(OutboxMessage.plan), joinedload(OutboxMessage.session), joinedload(OutboxMessage.clinic),
             joinedload(OutboxMessage.client))

NOT_AFTER_NO_SHOW = frozenset({MessageKind.REMINDER, MessageKind.AFTERCARE, MessageKind.AFTERCARE_END})


@functools.cache
def _load_statement():
    """The SELECT behind ``_load``, built once: building it cost about as much as running it."""
    # Opt-out belongs to the clinic's client with this number, whoever the row was written for (a staff
    # phone can opt out too); another clinic's opt-out of the same number is another business's.
    opted_out = (select(Client.id).where(Client.clinic_id == OutboxMessage.clinic_id,
                                         Client.phone == OutboxMessage.to_number,
                                         Client.opted_out_at.is_not(None)).exists())
    decision = consent.last_decision(OutboxMessage.client_id, OutboxMessage.clinic_id)
    return (select(OutboxMessage, opted_out, decision).options(*SEND_LOAD)
            .where(OutboxMessage.id == bindparam("message_id")))


def _load(db: Session, message_id: int) -> tuple[OutboxMessage, bool, str | None] | None:
    """The row with its plan, session, clinic and client, whether its number opted out, its client's last consent.

    One SELECT for everything the checks read, instead of the row, an opt-out query and the
    consent record one after the other.
    """
    row = db.execute(_load_statement(), {"message_id": message_id}).first()
    if row is None:
        return None
    message, is_opted_out, last_decision = row
    return message, bool(is_opted_out), last_decision


def _reason_to_skip(message: OutboxMessage, now: datetime, *, opted_out: bool, last_decision: str | None) -> str | None:
    """Why a row must not go out any more, or None when it is still current."""
    plan = message.plan
    if plan is not None:
        if plan.status is not PlanStatus.ACTIVE:
            return f"plan_{plan.status.value}"
        if message.plan_version != plan.version:
            return "stale_plan_version"
    session = message.session
    if session is not None and message.kind is not MessageKind.STAFF_NOTICE:
        if session.status is SessionStatus.CANCELLED:
            return "session_cancelled"
        if session.status is SessionStatus.NO_SHOW and message.kind in NOT_AFTER_NO_SHOW:
            # Aftercare for a treatment that never happened would only confuse.
            return "session_no_show"
        if message.kind is MessageKind.BOOKING_NUDGE and session.status is SessionStatus.CONFIRMED:
            return "already_confirmed"
    if opted_out:
        return "opted_out"
    if plan is not None and message.client is not None and not consent.is_current(last_decision, message.client):
        # A plan started before consent was the gate (or for a client who declined) stays silent.
        return "no_consent"
    if message.not_after is not None and message.not_after < now:
        return "past_useful_time"
    return None


def _quiet_until(message: OutboxMessage, now: datetime) -> datetime | None:
    """When the row may go out if not now: the end of quiet hours (clients) or the start of staff hours."""
    clinic = message.clinic
    if message.kind is MessageKind.STAFF_NOTICE:
        # Held, never dropped: outside staff hours (clinic time) a notice waits for the window to open.
        closed = (clinic.staff_hours_end or time(20, 0), clinic.staff_hours_start or time(8, 0))
        if not in_quiet_hours(now, clinic.timezone, *closed):
            return None
        return next_allowed_time(now, clinic.timezone, *closed)
    tz = clinic.zone_for(message.client)
    if not in_quiet_hours(now, tz, clinic.quiet_start, clinic.quiet_end):
        return None
    if message.kind is MessageKind.AFTERCARE and evening_allows(
            now, tz, clinic.quiet_start, clinic.aftercare_evening_until or time(21, 0)):
        return None
    return next_allowed_time(now, tz, clinic.quiet_start, clinic.quiet_end)


def _send(rt, db: Session, message_id: int) -> str:
    now = rt.clock.now()
    loaded = _load(db, message_id)
    if loaded is None:
        return "missing"
    message, opted_out, last_decision = loaded
    if message.status in TERMINAL_STATUSES or message.status is MessageStatus.SENT:
        return f"already_{message.status.value}"
    if message.status is MessageStatus.HELD:
        # Waiting for staff (attendance) or a rebooking; releasing it schedules it again.
        return "held"
    if message.status is MessageStatus.SENDING:
        # Claimed by an attempt that has not recorded its outcome: still running, or it died
        # between Twilio's answer and the commit. Never resend blindly.
        if message.claimed_at is not None and now - message.claimed_at < stuck_after(rt.config):
            return "in_flight"
        settled = settle_one(rt, db, message, now)
        db.commit()
        return settled or "settled_elsewhere"
    if message.due_at - now > EARLY_TOLERANCE:
        # Ran early (a manual enqueue, clock skew): come back at the due time under another id,
        # since this job's own id is the one for that due time.
        _enqueue_after_commit(rt, db, message, suffix="-early")
        db.commit()
        return "early"
    reason = _reason_to_skip(message, now, opted_out=opted_out, last_decision=last_decision)
    if reason in SUPPRESS:
        outbox.mark_suppressed(db, message, reason, now=now)
        db.commit()
        return f"suppressed_{reason}"
    if reason is not None:
        outbox.mark_skipped(db, message, reason, now=now)
        db.commit()
        return f"skipped_{reason}"
    quiet_end = _quiet_until(message, now)
    if quiet_end is not None:
        if message.not_after is not None and quiet_end > message.not_after:
            outbox.mark_skipped(db, message, "quiet_hours_until_too_late", now=now)
            db.commit()
            return "skipped_quiet_hours"
        return _defer(rt, db, message, quiet_end, now, reason=None)
    if message.channel is Channel.VOICE and not message.from_number:
        _text_when_no_number_to_call_from(message)
    if message.channel is Channel.SMS and len(message.body) > MAX_BODY:
        outbox.mark_failed(db, message, f"body is {len(message.body)} characters; Twilio's limit is {MAX_BODY}",
                           now=now, code=21617, result="body_too_long")
        db.commit()
        return "failed_body_too_long"
    if not outbox.claim(db, message.id, now):
        db.rollback()
        return "claimed_elsewhere"
    # The "not yet sent" marker goes in before the claim commits: a worker killed between the
    # two leaves a row ``sending`` with no marker, which can only be settled "outcome unknown"
    # although Twilio was never called. Killed after the marker and before the commit, the claim
    # rolls back (the row stays queued) and the orphan marker names an attempt that the next
    # claim, taking the same number, marks and clears again. The UPDATE holds the row lock until
    # the commit, so no other claim can be marking or clearing that attempt meanwhile.
    attempts.mark_unsent(rt.redis, message.id, message.attempts)
    db.commit()
    return _deliver(rt, db, message, now)


def _text_when_no_number_to_call_from(message: OutboxMessage) -> None:
    """A call row written when its clinic had no number of its own: call from the one it has now, else text.

    A clinic that texts only through a Messaging Service has no number to call from. Its
    voice-preferring clients still get every reminder, as a text through the service (a call
    row's body is the text form already), rather than a call Twilio would refuse.
    """
    message.from_number = message.clinic.sending_number
    if not message.from_number:
        message.channel = Channel.SMS
        log.info("outbox %s: the clinic has no number to call from; sent as a text", message.id)


def _defer(rt, db: Session, message: OutboxMessage, due_at: datetime, now: datetime, *, reason: str | None,
           code: int | None = None) -> str:
    """Back to the queue for ``due_at``; past the horizon it waits in the database for the reconciler."""
    outbox.requeue(db, message, due_at=due_at, now=now, reason=reason, code=code)
    horizon = timedelta(hours=rt.config.schedule_horizon_hours)
    if due_at > now + horizon:
        message.status = MessageStatus.PENDING
        message.enqueued_at = None
    else:
        _enqueue_after_commit(rt, db, message)
    db.commit()
    return "deferred" if reason is None else "retry_scheduled"


def _deliver(rt, db: Session, message: OutboxMessage, now: datetime) -> str:
    """Hand the claimed row to the transport and record the answer."""
    urls = rt.callbacks.for_message(message.id, message.channel)
    if not attempts.mark_calling(rt.redis, message.id, message.attempts):
        # The "not yet sent" marker may still stand, and a settling reconciler would then resend.
        return _defer(rt, db, message, now + timedelta(seconds=rt.config.retry_base_seconds), now,
                      reason="Redis unavailable just before sending; not sent")
    try:
        # Texts of a clinic with a Messaging Service go through it (A2P 10DLC); calls still use a number.
        service = message.clinic.messaging_service_sid if message.channel is Channel.SMS else None
        result = rt.transport.send(message.channel, to=message.to_number, from_=message.from_number,
                                   body=message.body, urls=urls, messaging_service=service)
    except TransportError as exc:
        return _handle_error(rt, db, message, exc)
    except Exception:
        # Whatever broke may have broken after Twilio accepted: treat it like a crash.
        log.exception("outbox %s: unexpected error while sending", message.id)
        outbox.mark_outcome_unknown(db, message, now=rt.clock.now())
        db.commit()
        raise
    outbox.mark_sent(db, message, sid=result.sid, simulated=result.simulated, now=rt.clock.now())
    db.commit()
    return "simulated" if result.simulated else "sent"


def _handle_error(rt, db: Session, message: OutboxMessage, exc: TransportError) -> str:
    now = rt.clock.now()
    log.warning("outbox %s (%s): send attempt %s failed: code=%s status=%s retryable=%s", message.id,
                message.kind.value, message.attempts, exc.code, exc.status, exc.retryable)
    if exc.opted_out:
        client = outbox.opt_out_by_carrier(db, message, now=now)
        if client is not None and message.kind is not MessageKind.STAFF_NOTICE:
            notify_opt_out(db, rt, clinic=message.clinic, client=client, how="the carrier reported error 21610",
                           now=now)
        db.commit()
        return "opted_out"
    if exc.ambiguous:
        outbox.mark_outcome_unknown(db, message, now=now, code=exc.code)
        db.commit()
        return "outcome_unknown"
    if not exc.retryable:
        outbox.mark_failed(db, message, str(exc), now=now, code=exc.code)
        follow_up = voice_calls.fallback_call(db, message, now=now)  # a landline: call instead, if allowed
        if follow_up is not None:
            rt.dispatcher.schedule(db, [follow_up])
        check_burst(db, rt, clinic=message.clinic, code=exc.code, now=now)
        db.commit()
        return "failed"
    retry_at = now + backoff(rt.config, message.attempts, exc)
    if message.attempts >= MAX_ATTEMPTS:
        if message.not_after is None:
            outbox.mark_failed(db, message, f"gave up after {message.attempts} attempts: {exc}", now=now,
                               code=exc.code)
            db.commit()
            return "failed_after_retries"
        # An outage (connect failures, 5xx, 429) fails nothing that can still arrive in time: a
        # 48-hour reminder keeps trying, every few minutes, until its useful time has passed.
        if retry_at > message.not_after:
            outbox.mark_skipped(db, message, "past_useful_time", now=now)
            db.commit()
            log.warning("outbox %s: Twilio unavailable until past the message's useful time; skipped", message.id)
            return "skipped_past_useful_time"
        return _defer(rt, db, message, retry_at, now, reason=f"waiting for Twilio: {exc}", code=exc.code)
    return _defer(rt, db, message, retry_at, now, reason=str(exc), code=exc.code)
