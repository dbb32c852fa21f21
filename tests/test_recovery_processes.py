"""Two real ``glowline worker`` processes, PostgreSQL and the Twilio double: a crash delays sends, never loses or doubles one.

The intervals are compressed through Config (JOB_TIMEOUT 6 s, RECONCILE_SECONDS 5 s) so the
suite stays short, and every assertion is against the bound those settings give
(``settle_bound``, ``takeover_bound``, ``refill_bound``): the same formulas give 105 s, 91 s
and 40 s with the production defaults, inside the issue's 2 minutes and 1 minute (README,
"Recovery bounds"). RQ's scheduler lock keeps its fixed 61 s, so the takeover test waits it out.
``ALLOWANCE`` is the slack for a loaded two-core test machine (process start-up).
The SIGKILL test is the issue's own: 20 kills during 1,000 sends, each landing on a worker in the
middle of its batch; the warm worker sends in tens of milliseconds, so it takes 80-100 s on a
loaded two-core machine.

PostgreSQL only: two worker processes writing one SQLite file would mostly measure its lock.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import datetime, time as dtime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq import Worker
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from glowline.clock import SystemClock
from glowline.delivery.outbox import OUTCOME_UNKNOWN
from glowline.redis_server import EmbeddedRedis
from glowline.store.models import MessageStatus, OutboxMessage
from tests.helpers import PUBLIC_BASE_URL, make_batch, schedule, twilio_post
from tests.twilio_server import Scripted
from tests.worker_helpers import Fleet, wait_until
from workers.jobs import settle_bound
from workers.main import refill_bound, takeover_bound

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="two worker processes need PostgreSQL")]

ALLOWANCE = timedelta(seconds=15)
SENDS = 1000
KILLS = 20
# One answer in this many is slow (accepted, then 2 s before Twilio answers), so some kills land between
# Twilio's acceptance and our commit, and the rest anywhere in the fast path and RQ's bookkeeping.
SLOW_EVERY = 40
# With callbacks on, "sent" is not where a row ends: Twilio says delivered, and the row must show it.
SETTLED = frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED})


@pytest.fixture
def clock():
    """The worker processes run on the wall clock, so the test's runtime does too."""
    return SystemClock()


@pytest.fixture
def config(config):
    """Compressed recovery intervals, shared by the test's runtime and the worker processes."""
    return config.with_(job_timeout=6, twilio_timeout=3.0, reconcile_seconds=5, retry_base_seconds=2,
                        retry_cap_seconds=5)


@pytest.fixture
def open_clinic(db, clinic):
    """The clinic with quiet hours off: the test runs whatever the hour."""
    clinic.quiet_start = clinic.quiet_end = dtime(0, 0)
    db.commit()
    return clinic


def statuses(db) -> Counter:
    db.expire_all()
    return Counter(db.scalars(select(OutboxMessage.status)))


def all_settled(db) -> bool:
    return set(statuses(db)) <= SETTLED


def row_of(record) -> int:
    """The outbox row a request to the double was for: the id in its status callback URL."""
    return int(parse_qs(urlsplit(record.form["StatusCallback"]).query)["message_id"][0])


def deliver_callbacks(http, records, done: set) -> None:
    """Twilio's side of callbacks on: a signed 'delivered' for each message it accepted, once."""
    for record in records:
        if record.sid in done:
            continue
        path = record.form["StatusCallback"].removeprefix(PUBLIC_BASE_URL)
        response = twilio_post(http, path, {"MessageSid": record.sid, "MessageStatus": "delivered"})
        assert response.status_code == 200
        done.add(record.sid)


def test_twenty_sigkills_during_the_sends_lose_none_double_none_and_settle_in_bound(
        runtime, db, open_clinic, config, fake_twilio, client, tmp_path):
    rows = make_batch(db, open_clinic, SENDS, due_at=runtime.clock.now() - timedelta(seconds=5))
    fake_twilio.script("Messages", *([Scripted(201)] * (SLOW_EVERY - 1)
                                     + [Scripted(201, delay=2.0, accept_then_hang=True)]) * SENDS)
    fleet = Fleet(config, tmp_path).start()
    delivered: set = set()
    try:
        schedule(runtime, db, rows)
        last_kill = 0.0
        for kill in range(KILLS):
            # Spread over the whole batch, so the last kill lands near its end and what follows it is recovery.
            due = (kill + 1) * SENDS // (KILLS + 1)
            assert wait_until(lambda due=due: len(fake_twilio.attempts()) >= due, timeout=300), \
                f"sending stalled before kill {kill + 1}: {statuses(db)}"
            fleet.kill(kill % 2)
            last_kill = time.monotonic()
            deliver_callbacks(client, fake_twilio.sent(), delivered)
        settled_at = wait_until(lambda: (deliver_callbacks(client, fake_twilio.sent(), delivered)
                                         or all_settled(db)), timeout=600, every=1.0)
        assert settled_at is not None, statuses(db)
        assert all(fleet.alive())
    finally:
        fleet.stop()
    took = timedelta(seconds=settled_at - last_kill)
    assert took <= settle_bound(config) + ALLOWANCE, (took, statuses(db))

    db.expire_all()
    final = {r.id: r for r in db.scalars(select(OutboxMessage))}
    accepted = Counter(row_of(r) for r in fake_twilio.sent())
    assert set(accepted.values()) == {1}, "a row was texted twice"  # 0 doubled
    for row_id, row in final.items():
        if row_id in accepted:
            # Twilio took it and said delivered: whatever the crash, staff see it delivered.
            assert row.status is MessageStatus.DELIVERED, (row_id, row.status, row.result)
        else:
            # Never reached Twilio (killed between the claim and the request): handed to staff, not lost.
            assert (row.status, row.result) == (MessageStatus.FAILED, OUTCOME_UNKNOWN), (row_id, row.status)
    never_sent = len(final) - len(accepted)
    assert never_sent <= KILLS  # at most the one in flight per kill
    print(f"\n{SENDS} sends, {KILLS} SIGKILLs: settled {took.total_seconds():.1f} s after the last kill "
          f"(bound {settle_bound(config).total_seconds():.0f} s); {never_sent} handed to staff, 0 doubled")


def scheduler_pid(conn, queue_name) -> int | None:
    name = conn.get(RQScheduler.get_locking_key(queue_name))
    if name is None:
        return None
    pid = conn.hget(f"rq:scheduler:{name.decode()}", "pid")
    return int(pid) if pid and int(pid) else None


def test_killing_the_schedulers_holder_fires_the_overdue_sends_within_the_bound(
        runtime, db, open_clinic, config, fake_twilio, redis_conn, tmp_path):
    fleet = Fleet(config, tmp_path).start()
    try:
        assert wait_until(lambda: scheduler_pid(redis_conn, config.queue_name), timeout=240), "no scheduler started"
        now = runtime.clock.now()
        rows = [row for n in range(15)
                for row in make_batch(db, open_clinic, 1, due_at=now + timedelta(seconds=5 + 2 * n),
                                      first_phone=2125570000 + n)]
        schedule(runtime, db, rows)  # enqueue_at: only a scheduler moves them into the queue
        killed_at = datetime.now(timezone.utc)
        fleet.kill_group_of(scheduler_pid(redis_conn, config.queue_name))
        bound = takeover_bound(config) + ALLOWANCE
        # A generous wait: after the takeover the survivor's sending rate decides, not the bound.
        assert wait_until(lambda: statuses(db) == Counter({MessageStatus.SENT: 15}),
                          timeout=bound.total_seconds() + 600), statuses(db)
        assert sum(fleet.alive()) == 1  # the survivor took over; nobody restarted the holder
    finally:
        fleet.stop()
    db.expire_all()
    sent = sorted(db.scalars(select(OutboxMessage)), key=lambda r: r.sent_at)
    # The takeover fired the overdue rows within the bound of the kill; the rest followed at the
    # survivor's sending rate, each once.
    first = (sent[0].sent_at - killed_at).total_seconds()
    assert first <= bound.total_seconds(), first
    late = [(r.sent_at - max(r.due_at, killed_at)).total_seconds() for r in sent]
    assert Counter(row_of(r) for r in fake_twilio.sent()) == Counter({r.id: 1 for r in sent})
    print(f"\nscheduler holder killed: first overdue row sent {first:.1f} s after the kill "
          f"(bound {takeover_bound(config).total_seconds():.0f} s), worst {max(late):.1f} s late")


def row_ids_in_redis(rt) -> set[int]:
    """The rows whose send job Redis holds: queued, scheduled or started."""
    ids = [*rt.queue.get_job_ids(), *ScheduledJobRegistry(queue=rt.queue).get_job_ids(),
           *StartedJobRegistry(queue=rt.queue).get_job_ids()]
    return {int(i.split("-")[1]) for i in ids if i.startswith("outbox-")}


def unsent_ids(db) -> set[int]:
    db.expire_all()
    return set(db.scalars(select(OutboxMessage.id).where(OutboxMessage.status != MessageStatus.SENT)))


def test_redis_killed_during_sends_and_restarted_empty_the_same_workers_send_every_due_row(
        runtime, db, open_clinic, config, fake_twilio, tmp_path):
    from glowline.runtime import Runtime

    server = EmbeddedRedis(tmp_path / "redis", persist=False).start()
    config = config.with_(redis_url=server.url)
    rt = Runtime(config, clock=SystemClock())
    now = rt.clock.now()
    rows = make_batch(db, open_clinic, 40, due_at=now - timedelta(seconds=5))
    rows += make_batch(db, open_clinic, 10, due_at=now + timedelta(seconds=30), first_phone=2125580000)
    fleet = Fleet(config, tmp_path).start()
    try:
        conn = Redis.from_url(server.url)
        assert wait_until(lambda: Worker.count(connection=conn) == 2, timeout=240), "the workers never registered"
        pids = [p.pid for p in fleet.processes]
        schedule(rt, db, rows)
        assert wait_until(lambda: len(fake_twilio.sent()) >= 10, timeout=600), "sending never started"
        server.process.kill()  # Redis dies mid-batch, with queued and scheduled jobs in it...
        server.process.wait(timeout=10)
        time.sleep(3)
        server = EmbeddedRedis(tmp_path / "redis", port=server.port, persist=False).start()  # ...and returns empty
        back = time.monotonic()
        refilled = wait_until(lambda: unsent_ids(db) <= row_ids_in_redis(rt), timeout=120, every=0.5)
        done = wait_until(lambda: not unsent_ids(db), timeout=600, every=0.5)
        assert refilled is not None and done is not None, statuses(db)
        assert fleet.alive() == [True, True] and [p.pid for p in fleet.processes] == pids
        assert wait_until(lambda: Worker.count(connection=Redis.from_url(server.url)) == 2, timeout=30)
    finally:
        fleet.stop()
        rt.close()
        server.stop()
    assert Counter(row_of(r) for r in fake_twilio.sent()) == Counter({r.id: 1 for r in rows})
    # Everything due was back in Redis within the bound; the sending after it is the pair's rate.
    assert timedelta(seconds=refilled - back) <= refill_bound(config) + ALLOWANCE, refilled - back
    print(f"\nRedis restarted empty: every unsent row back in Redis {refilled - back:.1f} s after it answered "
          f"(bound {refill_bound(config).total_seconds():.0f} s), all sent after {done - back:.1f} s")
