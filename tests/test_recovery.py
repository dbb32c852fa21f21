"""Recovery in minutes: stuck sends settled by the next tick, dead workers' jobs restored, bounds inside the issue's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq.job import Job, JobStatus

from glowline.config import Config
from glowline.delivery import attempts
from glowline.delivery.dispatch import job_id
from glowline.delivery.outbox import OUTCOME_UNKNOWN, claim
from glowline.delivery.reconcile import reconcile
from glowline.store.models import MessageStatus
from tests.helpers import fresh, make_client, make_message, schedule
from tests.worker_helpers import work
from workers.jobs import settle_bound, stuck_after
from workers.main import GlowlineWorker, refill_bound, takeover_bound


def claimed(db, runtime, clinic, clock, *, called: bool):
    """A row a worker claimed and then died on: before calling Twilio, or during the call."""
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    assert claim(db, row.id, clock.now())
    db.commit()
    attempts.mark_unsent(runtime.redis, row.id, 1)
    if called:
        assert attempts.mark_calling(runtime.redis, row.id, 1)
    return row


def test_a_row_whose_worker_died_before_calling_twilio_is_sent_again_once(runtime, db, clinic, clock,
                                                                          fake_twilio):
    row = claimed(db, runtime, clinic, clock, called=False)
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    report = reconcile(runtime, stuck_after=stuck_after(runtime.config))
    assert (report.settled, report.requeued_unsent) == (0, 1)
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.attempts, len(fake_twilio.sent())) == (MessageStatus.SENT, 2, 1)
    # A second reconciler finds nothing more to do with it.
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).requeued_unsent == 0


def test_a_row_whose_worker_died_during_the_call_is_left_for_staff_not_resent(runtime, db, clinic, clock,
                                                                            fake_twilio):
    row = claimed(db, runtime, clinic, clock, called=True)
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    report = reconcile(runtime, stuck_after=stuck_after(runtime.config))
    assert (report.settled, report.requeued_unsent) == (1, 0)
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.result) == (MessageStatus.FAILED, OUTCOME_UNKNOWN) and fake_twilio.attempts() == []


def test_a_flushed_redis_never_turns_a_maybe_sent_row_into_a_resend(runtime, db, clinic, clock, fake_twilio,
                                                                  redis_conn):
    row = claimed(db, runtime, clinic, clock, called=False)
    redis_conn.flushall()  # the marker is gone with everything else: "maybe sent" is the safe reading
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).settled == 1
    assert fresh(db, row).result == OUTCOME_UNKNOWN and fake_twilio.attempts() == []


def test_the_send_job_leaves_no_marker_behind(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    work(runtime)
    assert fresh(db, row).status is MessageStatus.SENT
    assert runtime.redis.exists(attempts.key(row.id, 1)) == 0


def started_by_a_worker(runtime, row, started_at: datetime) -> None:
    """The row's job as a worker left it when it died: started, never finished."""
    job = Job.fetch(job_id(row.id, row.due_at), connection=runtime.redis, serializer=runtime.queue.serializer)
    job.set_status(JobStatus.STARTED)
    job.started_at = started_at
    job.save()
    runtime.queue.remove(job)


def test_a_queued_row_whose_job_a_dead_worker_started_is_restored_by_the_next_tick(runtime, db, clinic, clock,
                                                                                   fake_twilio):
    dead = make_message(db, clinic, make_client(db), due_at=clock.now())
    live = make_message(db, clinic, make_client(db, phone="+12125554321"), due_at=clock.now())
    schedule(runtime, db, [dead, live])
    wall = datetime.now(timezone.utc)
    started_by_a_worker(runtime, dead, wall - stuck_after(runtime.config) - timedelta(seconds=1))
    started_by_a_worker(runtime, live, wall)  # a worker that is still on it: left alone
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).restored == 1
    work(runtime)
    assert fresh(db, dead).status is MessageStatus.SENT and fresh(db, live).status is MessageStatus.QUEUED
    assert len(fake_twilio.sent()) == 1


def test_the_default_settings_keep_every_recovery_inside_the_issues_bounds():
    config = Config()
    assert settle_bound(config) <= timedelta(minutes=2)
    assert takeover_bound(config) <= timedelta(minutes=2)
    assert refill_bound(config) <= timedelta(minutes=1)


def test_an_idle_worker_wakes_for_every_tick(runtime):
    worker = GlowlineWorker([runtime.queue], connection=runtime.redis, reconcile_every=runtime.config.reconcile_seconds)
    assert worker.dequeue_timeout <= runtime.config.reconcile_seconds
