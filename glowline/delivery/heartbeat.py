"""Is the machinery alive: database, Redis, RQ workers and the RQ scheduler."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rq import Worker
from rq.scheduler import RQScheduler
from sqlalchemy import text

from glowline.store import spool


@dataclass
class Health:
    """One up/down per component, plus the number of live workers."""

    database: bool
    redis: bool
    scheduler: bool
    workers: int
    spool: int = 0  # inbound requests waiting for the database (-1: unknown, Redis down)
    spool_dead: int = 0  # inbound requests the replay gave up on, for a person to look at (-1: unknown)

    @property
    def ok(self) -> bool:
        """True when everything a send needs is up."""
        return self.database and self.redis and self.scheduler and self.workers > 0

    def as_dict(self) -> dict:
        """JSON-ready form, with words a person reads at a glance."""
        data: dict[str, object] = {k: ("up" if v else "down") for k, v in asdict(self).items()
                                   if k not in ("workers", "spool", "spool_dead")}
        data["workers"] = self.workers
        data["spool"] = self.spool
        data["spool_dead"] = self.spool_dead
        data["status"] = "ok" if self.ok else "degraded"
        return data


def check(runtime) -> Health:
    """Probe each component; a failure is 'down', never an exception."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    redis_up = scheduler = False
    workers = 0
    try:
        runtime.redis.ping()
        redis_up = True
        scheduler = bool(runtime.redis.exists(RQScheduler.get_locking_key(runtime.config.queue_name)))
        workers = Worker.count(connection=runtime.redis, queue=runtime.queue)
    except Exception:
        pass
    try:
        waiting, dead = spool.depth(runtime), spool.dead_depth(runtime)
    except OSError:
        waiting = dead = -1
    return Health(database=database, redis=redis_up, scheduler=scheduler, workers=workers, spool=waiting,
                  spool_dead=dead)
