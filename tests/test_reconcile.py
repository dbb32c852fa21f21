"""The reconciler: a flushed Redis loses nothing, far-future rows stay in the database, one run at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from glowline.store.models import MessageStatus, OutboxMessage
from glowline.delivery.outbox import OUTCOME_UNKNOWN, claim
from glowline.delivery.reconcile import lock_key, reconcile
from tests.helpers import fresh, make_client, make_message, schedule
from tests.worker_helpers import advance, work
from workers.jobs import stuck_after
from workers.main import request_reconcile


def scheduled_count(runtime) -> int:
    return ScheduledJobRegistry(queue=runtime.queue).count


def test_flushed_redis_with_100_rows_loses_nothing(runtime, db, clinic, clock, fake_twilio, redis_conn):
    clients = [make_client(db, phone=f"+1212555{n:04d}") for n in range(2000, 2100)]
    # Half inside the 24 h horizon (queued, in Redis), half beyond it (pending, only in the database).
    rows = [make_message(db, clinic, person, due_at=clock.now() + timedelta(minutes=10 + 15 * n))
            for n, person in enumerate(clients[:50])]
    rows += [make_message(db, clinic, person, due_at=clock.now() + timedelta(hours=30, minutes=10 * n))
             for n, person in enumerate(clients[50:])]
    schedule(runtime, db, rows)
    assert scheduled_count(runtime) == 50
    assert {fresh(db, r).status for r in rows[50:]} == {MessageStatus.PENDING}

    redis_conn.flushall()
    assert scheduled_count(runtime) == 0

    # The periodic job, as a worker's tick enqueues it, restores every row due within the horizon
    # (the tick gets the queue as `rq worker-pool` builds it: with RQ's default serializer).
    assert request_reconcile(runtime.redis, [Queue(runtime.queue.name, connection=runtime.redis)])
    work(runtime)
    assert scheduled_count(runtime) == 50

    # Two days later (the reconciler running along the way), each row went out exactly once.
    advance(runtime, clock, timedelta(hours=48), reconcile=True)
    db.expire_all()
    assert {r.status for r in db.scalars(select(OutboxMessage))} == {MessageStatus.SENT}
    sent_to = sorted(r.form["To"] for r in fake_twilio.sent())
    assert sent_to == sorted(c.phone for c in clients)


def test_job_that_failed_in_rq_is_re_enqueued(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now() + timedelta(minutes=5))
    schedule(runtime, db, [row])
    # A job RQ gave up on (e.g. its worker died) leaves the row queued with no live job.
    from glowline.delivery.dispatch import job_id
    from rq.job import Job

    job = Job.fetch(job_id(row.id, row.due_at), connection=runtime.redis, serializer=runtime.queue.serializer)
    job.delete()
    report = reconcile(runtime, stuck_after=stuck_after(runtime.config))
    assert report.restored == 1
    advance(runtime, clock, timedelta(minutes=6))
    assert fresh(db, row).status is MessageStatus.SENT and len(fake_twilio.sent()) == 1


def test_live_jobs_are_not_enqueued_twice(runtime, db, clinic, clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now() + timedelta(minutes=5))
    schedule(runtime, db, [row])
    report = reconcile(runtime, stuck_after=stuck_after(runtime.config))
    assert (report.scheduled, report.restored) == (0, 0)
    assert scheduled_count(runtime) == 1


def test_second_run_while_one_holds_the_lock_does_nothing(runtime, db, clinic, clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now() + timedelta(minutes=5))
    runtime.redis.set(lock_key(runtime.config.queue_name), "someone-else", ex=60)
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)) is None
    assert fresh(db, row).status is MessageStatus.PENDING
    runtime.redis.delete(lock_key(runtime.config.queue_name))
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).scheduled == 1
    # The lock is released after the run.
    assert runtime.redis.get(lock_key(runtime.config.queue_name)) is None


def test_tick_enqueues_reconcile_once_a_minute_fleet_wide(runtime):
    assert request_reconcile(runtime.redis, [runtime.queue])
    assert not request_reconcile(runtime.redis, [runtime.queue])
    assert runtime.queue.count == 1


def test_row_stuck_in_sending_is_left_for_staff_after_the_timeout(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    assert claim(db, row.id, clock.now())  # a worker claimed it, then died before recording anything
    db.commit()
    limit = stuck_after(runtime.config)
    clock.advance(limit - timedelta(seconds=1))
    assert reconcile(runtime, stuck_after=limit).settled == 0
    assert fresh(db, row).status is MessageStatus.SENDING
    clock.advance(timedelta(seconds=2))
    assert reconcile(runtime, stuck_after=limit).settled == 1
    row = fresh(db, row)
    assert (row.status, row.result, row.attempts) == (MessageStatus.FAILED, OUTCOME_UNKNOWN, 1)
    assert row.last_error.startswith("outcome unknown: check Twilio")
    assert fake_twilio.attempts() == []


def test_a_stop_that_lands_while_the_reconcile_tick_talks_to_redis_still_stops_the_worker(runtime, monkeypatch):
    from rq.exceptions import StopRequested

    def stop_arrives(*_args, **_kwargs):
        raise StopRequested()  # what RQ's SIGTERM handler raises inside an idle worker's Redis call

    monkeypatch.setattr(runtime.redis, "set", stop_arrives)
    with pytest.raises(StopRequested):
        request_reconcile(runtime.redis, [runtime.queue])
