"""What a scheduled send job costs in Redis, and why only the next day lives there.

Enqueues N jobs through the same path the dispatcher uses (enqueue_at, one job per
outbox row) into a private Valkey, and reports memory per job and enqueue rate.
Run: .venv/bin/python -m bench.bench_redis_memory [N]
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

from redis import Redis
from rq import Queue

from glowline.delivery.dispatch import enqueue_one
from glowline.redis_server import EmbeddedRedis


def main(count: int = 20000) -> None:
    """Print bytes per scheduled job and jobs enqueued per second."""
    with EmbeddedRedis(None, persist=False) as server:
        conn = Redis.from_url(server.url)
        queue = Queue("bench", connection=conn)
        now = datetime.now(timezone.utc)
        before = conn.info("memory")["used_memory"]
        start = time.perf_counter()
        for message_id in range(1, count + 1):
            enqueue_one(queue, message_id, now + timedelta(minutes=10 + message_id % 1440), now)
        elapsed = time.perf_counter() - start
        after = conn.info("memory")["used_memory"]
        per_job = (after - before) / count
        print(f"jobs: {count}, enqueue_at rate: {count / elapsed:.0f}/s, memory per scheduled job: {per_job:.0f} B")
        print(f"a million scheduled jobs would take ~{per_job * 1e6 / 2**30:.2f} GiB")
        # A typical plan: 5 sessions x 5 messages over ~8 months; a clinic with 2,000 active plans.
        plans, per_plan, months = 2000, 25, 8
        all_rows = plans * per_plan
        next_day = all_rows / (months * 30)
        print(f"2,000 active plans: {all_rows} rows in the database; ~{next_day:.0f} due in any 24 h "
              f"-> ~{next_day * per_job / 1024:.0f} KiB in Redis with a 24 h horizon "
              f"vs ~{all_rows * per_job / 2**20:.1f} MiB if every row were a job")
        conn.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
