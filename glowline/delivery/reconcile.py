"""The reconciler: the database says what is due, Redis only holds work in flight.

Every tick (30 s by default) it (1) schedules pending rows that came inside the horizon, (2) re-enqueues
queued rows whose job Redis no longer has (flushed, restarted, evicted, or a job that
died), (3) settles rows stuck in ``sending`` after a crash, and (4) applies status callbacks
that arrived while their row's SID was still being committed. One run at a time, by a
non-blocking Redis lock: a second run that finds the lock taken simply does nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from glowline.delivery import attempts, outbox
from glowline.delivery.dispatch import enqueue_one, job_id
from glowline.store.db import on_commit
from glowline.store.models import MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

BATCH = 500
# Seconds; longer than a run, short enough that a run killed with its worker frees it well
# before a stuck row's settling is due (job timeout + 15 s), so it cannot push that past 2 minutes.
LOCK_TTL = 45
# A job in one of these states will still run; any other state (finished, failed, stopped,
# canceled) or no job at all means the row would wait forever.
LIVE = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED})
# A worker moves the job it popped (RQ's BLMOVE into the queue's intermediate list) into the started
# registry within milliseconds; one seen there, still "queued", by runs this far apart lost its worker.
DEQUEUE_GRACE = timedelta(seconds=5)
SIGHTING_TTL = 3600  # seconds; a sighting only needs to outlive the next few runs
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass
class ReconcileReport:
    """What one run did, in counts."""

    scheduled: int = 0
    restored: int = 0
    settled: int = 0
    requeued_unsent: int = 0
    late_statuses: int = 0

    def as_dict(self) -> dict:
        """JSON-ready counts."""
        return asdict(self)


def lock_key(queue_name: str) -> str:
    """The Redis key that keeps two reconcile runs from overlapping."""
    return f"glowline:reconcile:lock:{queue_name}"


def reconcile(rt, *, stuck_after: timedelta) -> ReconcileReport | None:
    """Run once under the lock; None when another run holds it."""
    token = uuid.uuid4().hex
    key = lock_key(rt.config.queue_name)
    if not rt.redis.set(key, token, nx=True, ex=LOCK_TTL):
        log.info("reconcile skipped: another run holds the lock")
        return None
    try:
        report = ReconcileReport()
        now = rt.clock.now()
        report.scheduled = schedule_pending(rt, now)
        report.restored = restore_missing(rt, now, stuck_after)
        report.settled, report.requeued_unsent = settle_stuck(rt, now, stuck_after)
        with rt.transaction() as db:
            report.late_statuses = outbox.attach_orphan_events(db, now=now)
        if any(report.as_dict().values()):
            log.info("reconcile: %s", report.as_dict())
        return report
    finally:
        rt.redis.eval(_RELEASE, 1, key, token)


def schedule_pending(rt, now: datetime) -> int:
    """Move pending rows due within the horizon into RQ (queued, enqueued after commit)."""
    cutoff = now + rt.dispatcher.horizon
    total = 0
    while True:
        with rt.transaction() as db:
            rows = db.scalars(select(OutboxMessage)
                              .where(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.due_at <= cutoff)
                              .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(BATCH)).all()
            rt.dispatcher.schedule(db, rows)
        total += len(rows)
        if len(rows) < BATCH:
            return total


def sighting_key(queue_name: str, job: str) -> str:
    """When a reconcile run first saw job ``job`` popped by a worker but not yet started."""
    return f"glowline:reconcile:dequeued:{queue_name}:{job}"


def _lost_after_dequeue(rt, job: str, now: datetime) -> bool:
    """A job popped into RQ's intermediate list but never started: True once a worker cannot still be starting it.

    RQ's own cleanup of that list runs in its 10-minute maintenance and needs two passes a minute
    apart, so a worker killed between popping a job and starting it left the row ``queued``, and
    counted as live, for 10-20 minutes. The first run to see it notes the time; a run at least
    ``DEQUEUE_GRACE`` later counts it lost and takes it off the list, so RQ's cleanup never fails
    the job that replaces it.
    """
    key = sighting_key(rt.config.queue_name, job)
    if rt.redis.set(key, now.timestamp(), nx=True, ex=SIGHTING_TTL):
        return False
    first = rt.redis.get(key)
    if first is None or now - datetime.fromtimestamp(float(first), tz=timezone.utc) < DEQUEUE_GRACE:
        return False
    rt.redis.lrem(rt.queue.intermediate_queue_key, 0, job)
    rt.redis.delete(key)
    log.info("reconcile: job %s was popped by a worker that never started it; queued again", job)
    return True


def _live_jobs(rt, rows: list[tuple[int, datetime]], stuck_after: timedelta, now: datetime) -> set[int]:
    """The row ids whose send job is in Redis and will still run."""
    ids = [job_id(message_id, due_at) for message_id, due_at in rows]
    jobs = Job.fetch_many(ids, connection=rt.redis, serializer=JSONSerializer)
    popped = {raw.decode() for raw in rt.redis.lrange(rt.queue.intermediate_queue_key, 0, -1)}
    # RQ stamps started_at with the wall clock, so it is compared with the wall clock.
    started_before = datetime.now(timezone.utc) - stuck_after
    live = set()
    for (message_id, _), jid, job in zip(rows, ids, jobs, strict=False):
        if job is None:
            continue
        status = job.get_status(refresh=False)
        if status is JobStatus.STARTED and job.started_at is not None and job.started_at < started_before:
            # A send claims its row within moments of starting; a job "started" that long ago on a
            # row still queued belongs to a worker killed before the claim. RQ would mark it
            # abandoned only at its 10-minute maintenance, so it counts as lost here.
            continue
        if status is JobStatus.QUEUED and jid in popped and _lost_after_dequeue(rt, jid, now):
            continue
        if status in LIVE:
            live.add(message_id)
    return live


def restore_missing(rt, now: datetime, stuck_after: timedelta) -> int:
    """Re-enqueue queued rows due within the horizon whose job Redis lost (or whose worker died before the claim).

    A worker can die at three points before the claim: after popping the job (still "queued", in RQ's
    intermediate list), after RQ recorded the execution, or after RQ marked it started; each leaves
    the row ``queued`` with a job that will never run, and each is counted lost here.
    """
    cutoff = now + rt.dispatcher.horizon
    restored = 0
    last_id = 0
    while True:
        with rt.transaction() as db:
            rows = db.execute(select(OutboxMessage.id, OutboxMessage.due_at)
                              .where(OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.due_at <= cutoff,
                                     OutboxMessage.id > last_id)
                              .order_by(OutboxMessage.id).limit(BATCH)).all()
        if not rows:
            return restored
        last_id = rows[-1][0]
        live = _live_jobs(rt, [(r[0], r[1]) for r in rows], stuck_after, now)
        for message_id, due_at in rows:
            if message_id not in live:
                enqueue_one(rt.queue, message_id, due_at, now)
                restored += 1
        if len(rows) < BATCH:
            return restored


REQUEUED = "requeued_unsent"
OUTCOME_UNKNOWN = outbox.OUTCOME_UNKNOWN


def settle_one(rt, db, row: OutboxMessage, now: datetime) -> str | None:
    """Settle one row left ``sending`` past any live attempt (the caller commits); what it became, None if it moved on.

    The reconciler and a send job that meets such a row both come here, so neither turns a row
    whose marker proves Twilio was never called into "outcome unknown".
    """
    if attempts.never_called(rt.redis, row.id, row.attempts):
        if not outbox.requeue(db, row, due_at=now, now=now, reason="a worker stopped before sending; sent again"):
            return None
        row_id = row.id
        on_commit(db, lambda: enqueue_one(rt.queue, row_id, now, now))
        return REQUEUED
    return OUTCOME_UNKNOWN if outbox.mark_outcome_unknown(db, row, now=now) else None


def settle_stuck(rt, now: datetime, stuck_after: timedelta) -> tuple[int, int]:
    """Rows claimed longer ago than any live attempt can take: (outcome unknown for staff, re-queued).

    A row whose "not yet sent" marker still stands never reached Twilio (``delivery.attempts``)
    and goes back in the queue, due now; any other is outcome unknown, for staff, until a
    status callback naming its row settles it.
    """
    unknown = requeued = 0
    with rt.transaction() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.SENDING,
                                                      OutboxMessage.claimed_at < now - stuck_after)).all()
        for row in rows:
            outcome = settle_one(rt, db, row, now)
            requeued += outcome == REQUEUED
            unknown += outcome == OUTCOME_UNKNOWN
    if requeued:
        log.info("reconcile: %s rows left sending by a stopped worker never reached Twilio; queued again", requeued)
    return unknown, requeued
