"""Run RQ jobs in-process the way production does, but on the test's ManualClock.

RQ's own scheduler compares due times with the wall clock; here the scheduled jobs that
are due by the test clock are moved into the queue the way ``RQScheduler.enqueue_scheduled_jobs``
does, then a real SimpleWorker drains the queue in burst mode.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from workers import context


def move_due_jobs(rt) -> int:
    """Move scheduled jobs due by ``rt.clock`` into the queue; returns how many moved."""
    registry = ScheduledJobRegistry(queue=rt.queue)
    job_ids = registry.get_jobs_to_schedule(int(rt.clock.now().timestamp()))
    if not job_ids:
        return 0
    jobs = Job.fetch_many(job_ids, connection=rt.redis, serializer=rt.queue.serializer)
    with rt.redis.pipeline() as pipe:
        for job_id, job in zip(job_ids, jobs, strict=False):
            if job is not None:
                rt.queue._enqueue_job(job, pipeline=pipe)
            registry.remove(job_id, pipeline=pipe)
        pipe.execute()
    return len(job_ids)


def next_scheduled_at(rt) -> datetime | None:
    """When the earliest scheduled job is due, or None."""
    entries = rt.redis.zrange(ScheduledJobRegistry(queue=rt.queue).key, 0, 0, withscores=True)
    if not entries:
        return None
    return datetime.fromtimestamp(entries[0][1], tz=timezone.utc)


def work(rt) -> None:
    """Move due jobs and drain the queue until nothing more is due by the clock."""
    context.bind(rt)
    while True:
        moved = move_due_jobs(rt)
        if rt.queue.count == 0 and not moved:
            return
        SimpleWorker([rt.queue], connection=rt.redis, serializer=rt.queue.serializer).work(burst=True, with_scheduler=False,
                                                           logging_level="WARNING")


def run_until(rt, clock, until: datetime, *, reconcile: bool = False) -> None:
    """Advance ``clock`` from one scheduled job to the next until ``until``, working each step."""
    from workers.jobs import reconcile as reconcile_job

    # With the reconciler on, never jump further than half the horizon: rows waiting in the
    # database come into the horizon (and into Redis) on the way, as they do minute by minute.
    step = timedelta(hours=rt.config.schedule_horizon_hours / 2)
    while True:
        if reconcile:
            reconcile_job()
        work(rt)
        upcoming = next_scheduled_at(rt)
        if reconcile and (upcoming is None or upcoming > clock.now() + step) and clock.now() + step < until:
            upcoming = clock.now() + step
        if upcoming is None or upcoming > until:
            clock.set(max(clock.now(), until))
            if reconcile:
                reconcile_job()
            work(rt)
            return
        clock.set(max(clock.now(), upcoming))


def advance(rt, clock, delta: timedelta, **kwargs) -> None:
    """Run everything due in the next ``delta`` of test time."""
    run_until(rt, clock, clock.now() + delta, **kwargs)
