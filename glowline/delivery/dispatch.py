"""From outbox rows to RQ jobs: enqueue after commit, only within the horizon."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable

from sqlalchemy.orm import Session

from glowline.store.db import on_commit
from glowline.store.models import MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

SEND_JOB = "workers.jobs.send_message"


def job_id(message_id: int, due_at: datetime | None = None) -> str:
    """The RQ job id of an outbox row due at ``due_at``: enqueueing the same row and time again overwrites.

    The due time is part of the id because a send job that defers or retries its row
    schedules the next job while its own is still running; under the same id RQ would
    save the finishing job (status finished, result TTL) over the new one.
    """
    if due_at is None:
        return f"outbox-{message_id}"
    return f"outbox-{message_id}-{int(due_at.timestamp())}"


class Dispatcher:
    """Schedules outbox rows as RQ jobs once the rows are committed."""

    def __init__(self, runtime):
        self.runtime = runtime

    @property
    def horizon(self) -> timedelta:
        """How far ahead rows are put into Redis; later ones wait in the database."""
        return timedelta(hours=self.runtime.config.schedule_horizon_hours)

    def horizon_end(self) -> datetime:
        """Rows due by this time go to Redis now; later ones wait in the database for the reconciler."""
        return self.runtime.clock.now() + self.horizon

    def schedule(self, db: Session, messages: Iterable[OutboxMessage]) -> None:
        """Mark rows inside the horizon queued and enqueue them after ``db`` commits."""
        cutoff = self.horizon_end()
        picked: list[OutboxMessage] = []
        for message in messages:
            if message.status is MessageStatus.PENDING and message.due_at <= cutoff:
                message.status = MessageStatus.QUEUED
                message.enqueued_at = self.runtime.clock.now()
                picked.append(message)
        if not picked:
            return
        db.flush()
        self.enqueue_after_commit(db, [(m.id, m.due_at) for m in picked])

    def enqueue_after_commit(self, db: Session, items: list[tuple[int, datetime]]) -> None:
        """Enqueue (row id, due time) pairs, already written ``queued``, once ``db`` commits; never on rollback.

        Plans started in bulk write their rows with Core inserts, already marked queued when
        due by ``horizon_end()``, and hand over only the ids.
        """
        if items:
            on_commit(db, lambda: self.enqueue(items))

    def enqueue(self, items: Iterable[tuple[int, datetime]]) -> None:
        """Put (row id, due time) pairs into RQ; a Redis failure is left to the reconciler."""
        try:
            items = list(items)
            if len(items) == 1:
                enqueue_one(self.runtime.queue, *items[0], self.runtime.clock.now())
            else:
                enqueue_batch(self.runtime.queue, items, self.runtime.clock.now())
        except Exception:
            log.exception("could not enqueue outbox rows; the reconciler will retry them")


def enqueue_batch(queue, items: list[tuple[int, datetime]], now: datetime) -> None:
    """Enqueue many rows in one Redis round trip: those due now with ``enqueue_many``, the rest scheduled.

    A batch of plans puts thousands of rows in at once; one ``enqueue`` each is a round trip each.
    """
    with queue.connection.pipeline() as pipe:
        due_now = []
        for message_id, due_at in items:
            if due_at.tzinfo is None:
                raise ValueError("due_at must be timezone-aware")
            kwargs = _job_kwargs(message_id, due_at)
            if due_at > now:
                queue.enqueue_at(due_at.astimezone(timezone.utc), SEND_JOB, message_id, pipeline=pipe, **kwargs)
            else:
                due_now.append(queue.prepare_data(SEND_JOB, (message_id,), **kwargs))
        if due_now:
            queue.enqueue_many(due_now, pipeline=pipe)
        pipe.execute()


def _job_kwargs(message_id: int, due_at: datetime, suffix: str = "") -> dict:
    return dict(job_id=job_id(message_id, due_at) + suffix, result_ttl=3600, failure_ttl=7 * 24 * 3600)


def enqueue_one(queue, message_id: int, due_at: datetime, now: datetime, *, suffix: str = "") -> None:
    """Enqueue one row's send job: at its due time, or now when it is already due."""
    # A row already in Redis may be enqueued again (reconciler, retry button); the
    # send job's atomic claim on the row, not RQ, makes the send happen once.
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    kwargs = _job_kwargs(message_id, due_at, suffix)
    if due_at > now:
        queue.enqueue_at(due_at.astimezone(timezone.utc), SEND_JOB, message_id, **kwargs)
    else:
        queue.enqueue(SEND_JOB, message_id, **kwargs)
