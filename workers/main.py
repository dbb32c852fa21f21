"""The worker entry point: build the runtime once, run an RQ worker with the scheduler and the reconciler tick.

Running workers
---------------
One machine (what ``glowline run`` and production run)::

    glowline worker                 # warm supervisor + one in-process RQ worker per core + scheduler + reconcile
    glowline worker --processes 4   # or WORKER_PROCESSES=4

``rq worker-pool glowline -n 2 --url "$REDIS_URL" -w workers.main.GlowlineWorker`` also works (each
pool worker builds its runtime on its first job, cold), as do several ``glowline worker`` processes
under systemd / a Procfile. Every worker competes for RQ's per-queue scheduler lock; exactly one holds it
and moves due ``enqueue_at`` jobs into the queue; a dead holder's lock expires after about a
minute and another worker takes it on its next reconcile tick (``take_over_scheduling``).
The environment (DATABASE_URL, REDIS_URL, TWILIO_*, PUBLIC_BASE_URL, RQ_QUEUE) is read by
``Config`` in each process; ``workers.context`` builds the runtime on the first job when the
process was started by ``rq`` rather than by us.

The periodic reconcile
----------------------
``GlowlineWorker`` enqueues ``workers.jobs.reconcile`` at most once per tick (``RECONCILE_SECONDS``,
30 s by default) across the whole fleet: each worker checks between jobs (and at least once a
tick when idle, since its idle wait is shortened to match) and the one that
wins a ``SET NX EX`` tick key enqueues it; the job itself holds a non-blocking lock so two
runs never overlap. This was chosen over the alternatives because:

* a self-rescheduling job (``enqueue_in(60)`` from inside the job) lives in Redis, so a
  flushed or restarted Redis would lose the very job that repairs a flushed Redis;
* ``rq cron`` (RQ 3.0's CronScheduler) is a separate process with no leader lock: one more
  thing to keep alive, and if it dies nothing re-enqueues lost rows.

The tick lives in every worker's memory, so it survives a Redis flush and any one worker dying.
Workers started with plain ``rq worker`` (not this class) still send, but do not tick:
use ``-w workers.main.GlowlineWorker``.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, worker_registration
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer

from glowline.config import Config
from glowline.redis_server import risky_settings
from glowline.runtime import Runtime
from workers import context
from workers.supervisor import RECONNECT_FIRST, EarlyStop, Supervisor

log = logging.getLogger(__name__)

RECONCILE_EVERY = 30  # seconds, when no Config says otherwise (rq worker-pool)
RECONCILE_JOB = "workers.jobs.reconcile"
REGISTRATION_CHECK_EVERY = 30.0  # seconds
# RQ's worker key lives worker_ttl + 60 s (105 s by default) after a heartbeat, so beating again
# within a second changes nothing anyone can see.
HEARTBEAT_GAP = 1.0  # seconds
# Redis back -> a fresh worker within 10 s, whose first tick refills the queue at once:
# everything due is back in Redis well within the minute (README, "Recovery bounds").
RECONNECT_CAP = 10.0


# RQ's scheduler lock lives interval (1 s) + 60 s after its holder's last renewal.
SCHEDULER_LOCK_TTL = 61


def takeover_bound(config: Config) -> timedelta:
    """The longest scheduled sends wait after the scheduler's holder dies: its lock expires, then a tick."""
    return timedelta(seconds=SCHEDULER_LOCK_TTL + config.reconcile_seconds)


def refill_bound(config: Config) -> timedelta:
    """The longest after Redis answers again (restarted empty) until every due row is back in the queue."""
    return timedelta(seconds=RECONNECT_CAP + config.reconcile_seconds)


def worker_ttl(reconcile_every: int) -> int:
    """RQ's worker TTL that wakes an idle worker once per tick: its idle BLMOVE waits worker_ttl - 15 s."""
    return reconcile_every + 15


def tick_key(queue_name: str) -> str:
    """The Redis key that lets one worker per minute enqueue the reconcile job."""
    return f"glowline:reconcile:tick:{queue_name}"


class GlowlineWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own warm process and enqueues the reconcile job once a minute.

    Why SimpleWorker rather than RQ's forking Worker: a fork per job re-imported the job
    module, the transports and the Twilio SDK and warmed SQLAlchemy from nothing in every
    child (about 125 ms of CPU per send, ~4 sends/s), while a warm process sends in a few
    milliseconds. What the fork gave is kept: RQ's ``perform_job`` runs every job under the
    worker's death penalty (SIGALRM, ``UnixSignalDeathPenalty``) in this class too, so a job
    that hangs is stopped at its timeout and recorded failed; a job that raises is caught
    by RQ; and a job that kills its process (a segfault, the OOM killer) takes down only
    this worker, which ``run_worker``'s supervisor (or ``rq worker-pool``) starts again,
    while the claimed row is settled as outcome unknown, never resent blindly.
    """

    def __init__(self, *args, reconcile_every: int = RECONCILE_EVERY, **kwargs):
        kwargs.setdefault("worker_ttl", worker_ttl(reconcile_every))
        kwargs.setdefault("serializer", JSONSerializer)  # jobs carry ids only; see Runtime.queue
        super().__init__(*args, **kwargs)
        self.reconcile_every = reconcile_every
        self._next_tick = 0.0
        self._next_registration_check = 0.0
        self._next_beat = 0.0
        self.stop_asked = False

    def request_stop(self, signum, frame):
        """A SIGTERM or SIGINT: remember that stopping was asked for, so nobody starts this worker again."""
        self.stop_asked = True
        return super().request_stop(signum, frame)

    def _install_signal_handlers(self):
        """RQ's SIGTERM/SIGINT handlers, then any stop that arrived before them (``EarlyStop``)."""
        super()._install_signal_handlers()
        if EarlyStop.take() is not None:
            # Not request_stop(): outside a job it raises StopRequested, and here that would skip RQ's teardown.
            self.stop_asked = self._stop_requested = True

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        """RQ's heartbeat, plus re-registering this worker when Redis has lost it (a FLUSHALL or an empty restart).

        RQ registers a worker once, at birth; after a flush its heartbeat only extends keys
        that no longer exist, so /healthz and the dashboard counted 0 workers while they sent.

        Around every job RQ also beats three times on its own, outside its pipelines, three
        round trips each (about a third of its per-job Redis traffic); one of those a second
        is kept. Beats inside RQ's pipelines, or with a timeout of their own, always go out.
        """
        if pipeline is None and timeout is None and time.monotonic() < self._next_beat:
            return
        super().heartbeat(timeout, pipeline)
        self._next_beat = time.monotonic() + HEARTBEAT_GAP
        if time.monotonic() < self._next_registration_check:
            return
        # RQ beats several times per job; checking once per REGISTRATION_CHECK_EVERY keeps the
        # extra round trip off the per-job path and still notices a flush within a minute.
        self._next_registration_check = time.monotonic() + REGISTRATION_CHECK_EVERY
        try:
            if not self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key):
                with self.connection.pipeline() as registration:
                    registration.hset(self.key, mapping=self.serialize())
                    worker_registration.register(self, registration)
                    registration.expire(self.key, timeout or self.worker_ttl + 60)
                    registration.execute()
                log.warning("worker %s registered again: Redis had lost its registration", self.name)
        except RedisError:
            log.warning("worker %s: Redis unavailable for the heartbeat", self.name)

    def set_state(self, state: str, pipeline=None):
        """RQ's worker state, written only when it changes (RQ writes "idle" twice between two jobs)."""
        if pipeline is None and state == getattr(self, "_state", None):
            return
        super().set_state(state, pipeline)

    @property
    def should_run_maintenance_tasks(self) -> bool:
        """RQ's own maintenance, or our reconcile tick, is due."""
        return super().should_run_maintenance_tasks or time.monotonic() >= self._next_tick

    def run_maintenance_tasks(self) -> None:
        """Run RQ's maintenance when it is due, then the reconcile tick."""
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()
        if time.monotonic() >= self._next_tick:
            self.take_over_scheduling()
            self._next_tick = time.monotonic() + self.reconcile_every
            request_reconcile(self.connection, self.queues, every=self.reconcile_every)


    def take_over_scheduling(self) -> bool:
        """Start RQ's scheduler here when its lock is free (its holder died); True when this worker now holds it.

        RQ itself retries the lock only in its maintenance run, every 10 minutes, so a dead
        holder left scheduled sends unfired for 9-11 minutes. The lock expires 61 s after
        its holder stops renewing it; trying on every reconcile tick (30 s) brings a
        takeover, and the overdue sends, within about 95 s.
        """
        scheduler = getattr(self, "scheduler", None)
        if scheduler is None or (scheduler._process is not None and scheduler._process.is_alive()):
            return False
        try:
            scheduler.acquire_locks(auto_start=True)
        except RedisError:
            log.warning("worker %s: Redis unavailable; scheduler lock not tried", self.name)
            return False
        taken = bool(scheduler.acquired_locks)
        if taken:
            log.info("worker %s took over RQ's scheduler", self.name)
        return taken


def request_reconcile(connection, queues, *, every: int = RECONCILE_EVERY) -> bool:
    """Enqueue the reconcile job on each queue unless another worker did so this tick."""
    enqueued = False
    for queue in queues:
        # `rq worker-pool` builds its queues with RQ's default (pickle) serializer whatever
        # the worker's; the job must be JSON like every other, or our workers cannot read it.
        queue = Queue(queue.name, connection=connection, serializer=JSONSerializer)
        try:
            if connection.set(tick_key(queue.name), "1", nx=True, ex=max(1, every * 4 // 5)):
                queue.enqueue(RECONCILE_JOB, at_front=True, result_ttl=300, failure_ttl=24 * 3600)
                enqueued = True
        except StopRequested:
            # RQ's stop, raised by its signal handler inside whatever an idle worker is doing (here a
            # Redis call): swallowed, the worker went back to waiting for jobs and never stopped.
            raise
        except Exception:
            log.exception("could not enqueue the reconcile job")
    return enqueued


def run_worker(config: Config, *, burst: bool = False, with_scheduler: bool = True,
               processes: int | None = None) -> bool:
    """Warm everything once, then keep ``processes`` worker processes running (one per core by default)."""
    runtime = Runtime(config)
    runtime.check()
    for warning in risky_settings(runtime.redis):
        log.warning(warning)
    warm(runtime)
    count = processes or config.worker_processes or os.cpu_count() or 1
    supervisor = Supervisor(lambda: _work(runtime, burst=burst, with_scheduler=with_scheduler),
                            before_restart=lambda wait: _wait_for_redis(runtime, wait), processes=count)
    return supervisor.run(burst=burst)


def warm(runtime: Runtime) -> None:
    """Import and build what every send needs, in the parent, so each worker process inherits it warm."""
    import workers.jobs  # noqa: F401  (the job module, the delivery rooms and their models)

    _ = runtime.transport  # the Twilio SDK and its HTTP session, or the local transport
    _ = runtime.callbacks
    _ = runtime.dispatcher
    with runtime.sessions() as db:  # SQLAlchemy compiles its mapper configuration once, here
        db.connection()
    # Connections must not be shared with a forked child: each process opens its own.
    runtime.engine.dispose()


def _work(runtime: Runtime, *, burst: bool, with_scheduler: bool) -> bool:
    """One worker process: bind the runtime for jobs and work the queue; False when it stopped unasked."""
    context.bind(runtime)
    worker = GlowlineWorker([runtime.queue], connection=runtime.redis,
                            reconcile_every=runtime.config.reconcile_seconds)
    log.info("worker %s on queue %s (scheduler: %s, burst: %s)", worker.name, runtime.config.queue_name,
             with_scheduler, burst)
    try:
        worked = worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
    except RedisError:
        worked = False  # RQ's teardown itself can fail when Redis is gone
    if burst or worker.stop_asked:
        return worked
    # RQ's work() returns ("found an unhandled exception, quitting...") when Redis goes away
    # mid-loop; a worker that exits stops all sending until a person notices, so the supervisor
    # waits for Redis with backoff and starts a fresh process (and its scheduler) instead.
    log.warning("worker %s stopped unexpectedly; waiting for Redis to start again", worker.name)
    return False


def _wait_for_redis(runtime: Runtime, wait: float) -> float:
    """Sleep with backoff until Redis answers; the next first wait."""
    while True:
        time.sleep(wait)
        try:
            runtime.redis.ping()
            return RECONNECT_FIRST
        except RedisError:
            wait = min(wait * 2, RECONNECT_CAP)
            log.warning("Redis still unavailable; next try in %.0f s", wait)


def main() -> None:
    """``python -m workers.main [--burst]``: a worker configured from the environment."""
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(Config.from_env(), burst="--burst" in sys.argv[1:])


if __name__ == "__main__":
    main()
