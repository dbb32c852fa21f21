"""The reconciler: the database says what is due, Redis only holds work in flight.

Every minute it (1) schedules pending rows that came inside the horizon, (2) re-enqueues
queued rows whose job Redis no longer has (flushed, restarted, evicted, or a job that
died), (3) settles rows stuck in ``sending`` after a crash, and (4) applies status callbacks
that arrived while their row's SID was still being committed. One run at a time, by a
non-blocking Redis lock: a second run that finds the lock taken simply does nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from glowline.delivery import outbox
from glowline.delivery.dispatch import enqueue_one, job_id
from glowline.store.models import MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

BATCH = 500
LOCK_TTL = 120  # seconds; longer than a run, short enough that a crashed run frees it soon
# A job in one of these states will still run; any other state (finished, failed, stopped,
# canceled) or no job at all means the row would wait forever.
LIVE = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED})
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass
class ReconcileReport:
    """What one run did, in counts."""

    scheduled: int = 0
    restored: int = 0
    settled: int = 0
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
        report.restored = restore_missing(rt, now)
        report.settled = settle_stuck(rt, now, stuck_after)
        with rt.transaction() as db:
            report.late_statuses = outbox.attach_orphan_events(db, now=now)
        if report.scheduled or report.restored or report.settled or report.late_statuses:
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


def _live_jobs(rt, rows: list[tuple[int, datetime]]) -> set[int]:
    """The row ids whose send job is in Redis and will still run."""
    ids = [job_id(message_id, due_at) for message_id, due_at in rows]
    jobs = Job.fetch_many(ids, connection=rt.redis, serializer=JSONSerializer)
    live = set()
    for (message_id, _), job in zip(rows, jobs, strict=False):
        if job is not None and job.get_status(refresh=False) in LIVE:
            live.add(message_id)
    return live


def restore_missing(rt, now: datetime) -> int:
    """Re-enqueue queued rows due within the horizon whose job Redis lost."""
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
        live = _live_jobs(rt, [(r[0], r[1]) for r in rows])
        for message_id, due_at in rows:
            if message_id not in live:
                enqueue_one(rt.queue, message_id, due_at, now)
                restored += 1
        if len(rows) < BATCH:
            return restored


def settle_stuck(rt, now: datetime, stuck_after: timedelta) -> int:
    """Rows claimed longer ago than any live attempt can take: outcome unknown, for staff."""
    with rt.transaction() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.SENDING,
                                                      OutboxMessage.claimed_at < now - stuck_after)).all()
        settled = sum(1 for row in rows if outbox.mark_outcome_unknown(db, row, now=now))
    return settled
