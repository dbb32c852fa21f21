"""Dispatch: the production worker command sending through the Twilio SDK, against raw RQ in the same run.

Each round runs, one after the other (alternating, so a busy neighbour slows both alike):

* **baseline**: ``rq worker --burst -w rq.worker.SimpleWorker`` draining N no-op jobs, just before and
  just after each worker run (the ratio uses the mean of the two);
* **glowline worker --processes P**: the production command, ``glowline worker --burst --processes P``
  (a warm supervisor forking P ``GlowlineWorker`` processes), sending N outbox rows due now through
  the official twilio SDK to the local Twilio double (tests/twilio_server.py), every check of the
  send job, the claim and the outcome committed to SQLite. P is 1 and the machine's cores by default
  (``--processes 1,2``); the baseline is always one SimpleWorker process, and the per-process ratio
  (ratio / P) is printed beside the ratio;
* **worker-pool** (``--pool``): what the README's production section runs, ``rq worker-pool -n 1
  -w workers.main.GlowlineWorker``, on the same rows.

Throughput is N divided by the span from the first job's start to the last job's end, read
from RQ's own job hashes, so process start-up (imports, migrations) is not counted for
either side. The ratio printed is the median over rounds of worker/baseline.

Run: .venv/bin/python -m bench.bench_dispatch [--jobs 400] [--rounds 3] [--processes 1,2] [--pool]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from glowline.config import ROOT, Config
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from glowline.delivery.dispatch import job_id
from glowline.store.models import Base, Client, Clinic, MessageStatus, OutboxMessage
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, make_client, make_clinic, make_message
from tests.twilio_server import FakeTwilio

QUEUE = "bench-dispatch"
NOOP = "bench.noop.noop"


def _env(config: Config) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_", "REDIS_"))}
    env.update(DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, RQ_QUEUE=QUEUE,
               TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               TWILIO_API_BASE_URL=config.twilio_api_base_url, TWILIO_HTTP_TIMEOUT="10",
               PUBLIC_BASE_URL=config.public_base_url, SECRET_KEY=config.secret_key,
               GLOWLINE_VAR_DIR=str(config.var_dir), PYTHONPATH=str(ROOT))
    return env


def _span(redis: Redis, job_ids: list[str]) -> float:
    """Seconds from the first job's start to the last job's end, by RQ's own timestamps."""
    jobs = [j for j in Job.fetch_many(job_ids, connection=redis, serializer=JSONSerializer) if j is not None]
    assert len(jobs) == len(job_ids) and all(j.ended_at for j in jobs), "some jobs did not finish"
    return (max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)).total_seconds()


def _run(args: list[str], env: dict) -> None:
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)


def baseline(redis: Redis, env: dict, n: int) -> float:
    """Raw RQ: a SimpleWorker process draining ``n`` no-op jobs; jobs/s."""
    queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
    jobs = queue.enqueue_many([Queue.prepare_data(NOOP, result_ttl=600) for _ in range(n)])
    _run([sys.executable, "-m", "rq.cli", "worker", "--burst", "-w", "rq.worker.SimpleWorker", "--serializer",
          "rq.serializers.JSONSerializer", "-u", env["REDIS_URL"], QUEUE], env)
    return n / _span(redis, [j.id for j in jobs])


def glowline_sends(rt: Runtime, twilio: FakeTwilio, env: dict, n: int, command: list[str]) -> float:
    """``command`` sending ``n`` rows due now through the SDK to the Twilio double; sends/s."""
    now = datetime.now(timezone.utc)
    with rt.sessions() as db:
        clinic = db.get(Clinic, 1)
        first = db.scalar(select(func.count()).select_from(Client))
        clients = [make_client(db, phone=f"+1646{first + i:07d}", clinic=clinic) for i in range(n)]
        rows = [make_message(db, clinic, c, due_at=now - timedelta(seconds=5)) for c in clients]
        rt.dispatcher.schedule(db, rows)
        db.commit()
        ids = [r.id for r in rows]
        due = {r.id: r.due_at for r in rows}
    before = len(twilio.sent())
    _run(command, env)

    with rt.sessions() as db:
        sent = db.scalar(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.id.in_(ids), OutboxMessage.status == MessageStatus.SENT))
    assert sent == n and len(twilio.sent()) - before == n, f"{sent}/{n} sent: the benchmark would mislead"
    return n / _span(rt.redis, [job_id(i, due[i]) for i in ids])


def main() -> None:
    """Alternate baseline and worker rounds; print each and the median ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default=f"1,{os.cpu_count() or 1}",
                        help="comma-separated worker process counts for glowline worker (default: 1 and the cores)")
    parser.add_argument("--pool", action="store_true", help="also measure rq worker-pool -n 1")
    parser.add_argument("--database-url", help="a PostgreSQL database of the bench's own (emptied!); default SQLite")
    parser.add_argument("--close-each", action="store_true",
                        help="the Twilio double closes every connection (HTTP/1.0, as in the tests)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(None, persist=False) as server:
        # Keep-alive, as Twilio's API and the SDK's requests session do; --close-each is the tests' double.
        twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, keep_alive=not opts.close_each).start()
        database_url = opts.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        config = Config(database_url=database_url, redis_url=server.url,
                        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        twilio_api_base_url=twilio.base_url, public_base_url="https://clinic.example.test",
                        secret_key="bench-secret-0123456789", var_dir=Path(folder), queue_name=QUEUE,
                        protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas")
        rt = Runtime(config)
        if opts.database_url:
            Base.metadata.drop_all(rt.engine)  # a database of its own, emptied for the run
        Base.metadata.create_all(rt.engine)
        with rt.sessions() as db:
            clinic = make_clinic(db)
            clinic.quiet_start = clinic.quiet_end = dtime(0, 0)  # the bench runs at any hour
            db.commit()
        env = _env(config)
        counts = sorted({int(p) for p in opts.processes.split(",")})
        commands = {f"glowline worker --processes {p}": [sys.executable, "-m", "cli", "worker", "--burst",
                                                           "--processes", str(p)] for p in counts}
        per_process = {f"glowline worker --processes {p}": p for p in counts}
        if opts.pool:
            commands["rq worker-pool -n 1"] = [
                sys.executable, "-m", "rq.cli", "worker-pool", "--burst", "-n", "1", "-u", server.url,
                "-w", "workers.main.GlowlineWorker", "--serializer", "rq.serializers.JSONSerializer", QUEUE]
        ratios: dict[str, list[float]] = {name: [] for name in commands}
        print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}; "
              f"{opts.jobs} jobs per side per round; Twilio double keep-alive: {not opts.close_each}; "
              f"database: {config.database_url.split(':')[0]}")
        for round_ in range(1, opts.rounds + 1):
            for name, command in commands.items():
                # The baseline runs just before and just after, so a neighbour's burst in between
                # moves both sides of the ratio instead of only one.
                before = baseline(rt.redis, env, opts.jobs)
                ours = glowline_sends(rt, twilio, env, opts.jobs, command)
                after = baseline(rt.redis, env, opts.jobs)
                base = (before + after) / 2
                ratios[name].append(ours / base)
                print(f"round {round_}: raw SimpleWorker no-op {before:.0f}/{after:.0f} jobs/s (before/after); "
                      f"{name} {ours:.0f} sends/s; "
                      f"ratio {ours / base:.2f} (per process {ours / base / per_process.get(name, 1):.2f}); "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
        for name, values in ratios.items():
            median = statistics.median(values)
            print(f"{name}: median ratio {median:.2f} over {len(values)} rounds (goal >= 0.80), per process "
                  f"{median / per_process.get(name, 1):.2f}; load now {os.getloadavg()[0]:.1f}")
        twilio.stop()
        rt.close()


if __name__ == "__main__":
    main()
