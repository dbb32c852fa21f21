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


def worker_env(config, **extra: str) -> dict:
    """The environment of a real ``glowline worker`` process on the test's database, Redis and Twilio double."""
    import os

    from glowline.config import ROOT
    from tests.helpers import ACCOUNT_SID, AUTH_TOKEN

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_", "REDIS_"))}
    env.update(DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, RQ_QUEUE=config.queue_name,
               TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               TWILIO_API_BASE_URL=config.twilio_api_base_url, TWILIO_HTTP_TIMEOUT=f"{config.twilio_timeout:g}",
               JOB_TIMEOUT=str(config.job_timeout), RECONCILE_SECONDS=str(config.reconcile_seconds),
               RETRY_BASE_SECONDS=str(config.retry_base_seconds), RETRY_CAP_SECONDS=str(config.retry_cap_seconds),
               PUBLIC_BASE_URL=config.public_base_url, SECRET_KEY=config.secret_key,
               GLOWLINE_VAR_DIR=str(config.var_dir), PYTHONPATH=str(ROOT),
               # One worker process each, as these tests count them; tests/test_worker_processes.py runs several.
               WORKER_PROCESSES="1")
    env.update(extra)  # a test's own setting wins (e.g. a longer Twilio timeout)
    return env


def wait_for(predicate, timeout: float = 30.0) -> bool:
    """Poll ``predicate`` every 50 ms until it holds (True) or ``timeout`` seconds pass (False)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def wait_until(predicate, timeout: float, every: float = 0.2) -> float | None:
    """Poll ``predicate`` until it holds; the monotonic time it first held, or None after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(every)
    return None


class Fleet:
    """Real ``glowline worker`` processes, each in its own process group (worker, work-horse, scheduler)."""

    def __init__(self, config, cwd, size: int = 2):
        self.config, self.cwd, self.size = config, cwd, size
        self.processes: list = []

    def _spawn(self):
        import subprocess
        import sys

        self.spawned = getattr(self, "spawned", 0) + 1
        # Each process's log (ids and outcomes only) stays in the test's folder, to read when a test fails.
        with open(f"{self.cwd}/worker-{self.spawned}.log", "wb") as log:
            return subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=worker_env(self.config),
                                    cwd=self.cwd, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> Fleet:
        """Start ``size`` workers."""
        self.processes = [self._spawn() for _ in range(self.size)]
        return self

    def kill(self, index: int, *, restart: bool = True) -> None:
        """SIGKILL one worker's whole group (as the kernel's OOM killer or a lost host would); start it again
        at once when ``restart`` (as systemd's Restart=always or the Procfile platform does)."""
        import os
        import signal

        process = self.processes[index]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        if restart:
            self.processes[index] = self._spawn()

    def kill_group_of(self, pid: int) -> int:
        """SIGKILL the worker whose process group holds ``pid`` (say, the scheduler it forked); its index."""
        import os

        group = os.getpgid(pid)
        index = next(i for i, p in enumerate(self.processes) if p.pid == group)
        self.kill(index, restart=False)
        return index

    def alive(self) -> list[bool]:
        """Whether each worker process is still running."""
        return [p.poll() is None for p in self.processes]

    def stop(self) -> None:
        """SIGTERM every worker, then SIGKILL what is left of its group."""
        import contextlib
        import os
        import signal
        import subprocess

        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            if p.poll() is None:
                p.wait(timeout=10)
