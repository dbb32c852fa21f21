"""/healthz tells staff and the run command whether a send could happen right now."""

import os
import signal

from rq import Worker
from rq.scheduler import RQScheduler

from glowline.redis_server import EmbeddedRedis


def test_health_reports_scheduler_and_workers_down_until_they_run(client, runtime):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "up" and body["redis"] == "up"
    assert body["scheduler"] == "down" and body["workers"] == 0

    worker = Worker([runtime.queue], connection=runtime.redis)
    worker.register_birth()
    scheduler = RQScheduler([runtime.queue], connection=runtime.redis)
    scheduler.acquire_locks()
    try:
        body = client.get("/healthz").get_json()
        assert body == {"database": "up", "redis": "up", "scheduler": "up", "workers": 1, "spool": 0, "spool_dead": 0,
                        "status": "ok"}
    finally:
        scheduler.release_locks()
        worker.register_death()


def test_health_reports_redis_down_without_failing(app, runtime):
    runtime.redis.connection_pool.disconnect()
    runtime.__dict__["redis"] = type(runtime.redis).from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    runtime.__dict__.pop("queue", None)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "down"


def test_embedded_redis_keeps_jobs_across_a_restart(tmp_path):
    from redis import Redis

    server = EmbeddedRedis(tmp_path / "redis").start()
    port = server.port
    try:
        conn = Redis.from_url(server.url)
        conn.set("glowline:probe", "kept")
        conn.config_set("appendfsync", "always")
        conn.set("glowline:probe2", "kept")
        conn.close()
    finally:
        server.stop()
    again = EmbeddedRedis(tmp_path / "redis", port=port).start()
    try:
        conn = Redis.from_url(again.url)
        assert conn.get("glowline:probe2") == b"kept"
        assert conn.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        conn.close()
    finally:
        again.stop()


def test_an_evicting_redis_is_called_out(redis_conn):
    from glowline.redis_server import risky_settings

    before = redis_conn.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        redis_conn.config_set("maxmemory-policy", "allkeys-lru")
        assert any("allkeys-lru" in w and "noeviction" in w for w in risky_settings(redis_conn))
        redis_conn.config_set("maxmemory-policy", "noeviction")
        assert risky_settings(redis_conn) == []
    finally:
        redis_conn.config_set("maxmemory-policy", before)


def test_a_worker_counts_again_after_redis_is_flushed(client, runtime, redis_conn):
    from workers.main import GlowlineWorker

    worker = GlowlineWorker([runtime.queue], connection=runtime.redis)
    worker.register_birth()
    try:
        assert client.get("/healthz").get_json()["workers"] == 1
        redis_conn.flushall()  # FLUSHALL, or Redis restarted empty, while the worker keeps running
        assert client.get("/healthz").get_json()["workers"] == 0
        worker.heartbeat()  # its next beat, within a minute
        assert client.get("/healthz").get_json()["workers"] == 1
        worker.heartbeat()
        assert Worker.count(connection=runtime.redis, queue=runtime.queue) == 1
    finally:
        worker.register_death()


def test_a_worker_takes_over_the_scheduler_when_its_holder_died(runtime):
    from workers.main import GlowlineWorker

    holder, other = (GlowlineWorker([runtime.queue], connection=runtime.redis) for _ in range(2))
    for worker in (holder, other):
        worker.scheduler = RQScheduler(worker.queues, connection=runtime.redis, serializer=worker.serializer)
    holder.scheduler.acquire_locks()
    assert other.take_over_scheduling() is False  # the lock is held: one scheduler per queue
    # The holder is SIGKILLed: it stops renewing, and its lock expires about a minute later.
    runtime.redis.delete(RQScheduler.get_locking_key(runtime.queue.name))
    try:
        assert other.take_over_scheduling() is True  # on this worker's next tick, within a minute
        assert other.scheduler._process is not None and other.scheduler._process.is_alive()
    finally:
        # SIGKILL, not RQ's SIGTERM: a forked child of a test process can inherit a signal handler
        # installed by an earlier in-process worker, and then never stop.
        process = other.scheduler._process
        if process is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            process.join(timeout=10)
        other.scheduler.release_locks()
