"""Recovery in minutes: stuck sends settled by the next tick, dead workers' jobs restored, bounds inside the issue's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

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


class Killed(BaseException):
    """A SIGKILL landing at one exact point: nothing after it in the job runs (not even ``except Exception``)."""


def test_a_worker_killed_the_moment_its_claim_commits_never_reached_twilio_and_is_sent_again(
        runtime, db, clinic, clock, fake_twilio, monkeypatch):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from workers import context, jobs

    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    context.bind(runtime)

    def kill_after_the_claim(session):
        if session.info.get("claims_seen") is None and fresh_status(runtime, row.id) is MessageStatus.SENDING:
            session.info["claims_seen"] = True
            raise Killed

    event.listen(Session, "after_commit", kill_after_the_claim)
    try:
        with pytest.raises(Killed):
            jobs.send_message(row.id)
    finally:
        event.remove(Session, "after_commit", kill_after_the_claim)
    assert fresh(db, row).status is MessageStatus.SENDING and fake_twilio.attempts() == []
    # The marker was written before the claim committed, so the reconciler knows Twilio was never called.
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).requeued_unsent == 1
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.attempts, len(fake_twilio.sent())) == (MessageStatus.SENT, 2, 1)


def fresh_status(runtime, row_id: int) -> MessageStatus:
    """The row's committed status, read on a connection of its own."""
    from glowline.store.models import OutboxMessage

    with runtime.sessions() as other:
        return other.get(OutboxMessage, row_id).status


def test_a_worker_killed_between_marking_and_committing_its_claim_leaves_the_row_queued_and_sent_once(
        runtime, db, clinic, clock, fake_twilio, monkeypatch):
    from workers import context, jobs

    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    context.bind(runtime)
    mark = attempts.mark_unsent

    def mark_then_die(redis, message_id, attempt):
        mark(redis, message_id, attempt)
        raise Killed

    monkeypatch.setattr(attempts, "mark_unsent", mark_then_die)
    with pytest.raises(Killed):
        jobs.send_message(row.id)
    monkeypatch.undo()
    assert fresh(db, row).status is MessageStatus.QUEUED  # the claim rolled back with the dead connection
    # The orphan marker names attempt 1, which the next claim takes, marks and clears again.
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.attempts, len(fake_twilio.sent())) == (MessageStatus.SENT, 1, 1)
    assert runtime.redis.exists(attempts.key(row.id, 1)) == 0


STAGES = ("popped", "execution-recorded", "started")


def left_by_a_dead_worker(runtime, stage: str) -> Job:
    """What a worker killed at ``stage`` of RQ's bookkeeping leaves behind, before the send job's claim.

    popped: RQ's BLMOVE put the id in the intermediate list, the job still says "queued";
    execution-recorded: RQ has also put the execution in the started registry;
    started: RQ has marked the job started and taken it off the intermediate list.
    """
    from rq import SimpleWorker

    queue = runtime.queue
    popped = runtime.redis.lmove(queue.key, queue.intermediate_queue_key)
    assert popped is not None
    job = queue.fetch_job(popped.decode())
    worker = SimpleWorker([queue], connection=runtime.redis, serializer=queue.serializer)
    if stage != "popped":
        worker.prepare_execution(job)
    if stage == "started":
        worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
    return job


@pytest.mark.parametrize("stage", STAGES[:2])
def test_a_job_popped_by_a_worker_killed_before_starting_it_is_restored_within_the_bound(
        runtime, db, clinic, clock, fake_twilio, stage):
    from glowline.delivery.reconcile import DEQUEUE_GRACE

    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    left_by_a_dead_worker(runtime, stage)
    work(runtime)
    assert fresh(db, row).status is MessageStatus.QUEUED and fake_twilio.attempts() == []
    # The first run cannot tell a dead worker from one about to start the job; a run past the grace can.
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).restored == 0
    clock.advance(DEQUEUE_GRACE)
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).restored == 1
    assert runtime.redis.llen(runtime.queue.intermediate_queue_key) == 0
    work(runtime)
    assert fresh(db, row).status is MessageStatus.SENT and len(fake_twilio.sent()) == 1
    # Off the intermediate list, so RQ's own cleanup of it, when it comes, cannot fail the new job.
    job = Job.fetch(job_id(row.id, row.due_at), connection=runtime.redis, serializer=runtime.queue.serializer)
    assert job.get_status() is JobStatus.FINISHED


def test_a_job_a_live_worker_has_just_popped_is_not_restored(runtime, db, clinic, clock, fake_twilio):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    left_by_a_dead_worker(runtime, "popped")
    assert reconcile(runtime, stuck_after=stuck_after(runtime.config)).restored == 0
    assert runtime.queue.count == 0  # no second copy pushed


@pytest.mark.parametrize("claimed_first", [False, True], ids=["before-the-claim", "after-the-claim"])
def test_rq_failing_a_killed_job_as_abandoned_fails_no_row(runtime, db, clinic, clock, fake_twilio, claimed_first):
    from rq.registry import StartedJobRegistry

    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    job = left_by_a_dead_worker(runtime, "started")
    if claimed_first:  # the send job got as far as its claim and marker, then the kill
        assert claim(db, row.id, clock.now())
        attempts.mark_unsent(runtime.redis, row.id, 1)
        db.commit()
    # The dead worker's execution expires and RQ's maintenance fails the job as abandoned.
    StartedJobRegistry(queue=runtime.queue).cleanup(timestamp=datetime.now(timezone.utc).timestamp() + 3600)
    assert job.get_status() is JobStatus.FAILED
    assert fresh(db, row).status is (MessageStatus.SENDING if claimed_first else MessageStatus.QUEUED)
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    report = reconcile(runtime, stuck_after=stuck_after(runtime.config))
    assert (report.restored, report.requeued_unsent, report.settled) == ((0, 1, 0) if claimed_first else (1, 0, 0))
    work(runtime)
    row = fresh(db, row)
    assert (row.status, len(fake_twilio.sent())) == (MessageStatus.SENT, 1)


def test_a_send_job_that_meets_a_row_its_dead_worker_never_sent_queues_it_again(runtime, db, clinic, clock,
                                                                                  fake_twilio):
    from workers import context, jobs

    row = claimed(db, runtime, clinic, clock, called=False)
    clock.advance(stuck_after(runtime.config) + timedelta(seconds=1))
    context.bind(runtime)
    assert jobs.send_message(row.id) == "requeued_unsent"  # not "outcome unknown": the marker proves it
    work(runtime)
    row = fresh(db, row)
    assert (row.status, row.attempts, len(fake_twilio.sent())) == (MessageStatus.SENT, 2, 1)
