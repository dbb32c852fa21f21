"""`glowline worker --processes N`: N warm worker processes under one supervisor, each replaced when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

import pytest
from rq import Worker
from sqlalchemy import select

from glowline.clock import ManualClock
from glowline.delivery.outbox import OUTCOME_UNKNOWN
from glowline.runtime import Runtime
from glowline.store.models import MessageStatus, OutboxMessage
from tests.helpers import make_client, make_clinic, make_message, schedule
from tests.twilio_server import Scripted
from tests.worker_helpers import wait_for, worker_env
from workers import context
from workers.jobs import reconcile, stuck_after


def children(pid: int) -> set[int]:
    """The live direct children of ``pid`` (the supervisor's worker processes, not their schedulers)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def start(config, tmp_path, processes: int, **env) -> subprocess.Popen:
    """A real ``glowline worker --processes N`` in its own process group."""
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--processes", str(processes)],
                            env=worker_env(config, **env), cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(worker: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the worker's process group."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@pytest.mark.slow
def test_a_killed_worker_process_is_replaced_and_the_row_it_held_is_settled_not_resent(
        config, redis_conn, db, fake_twilio, tmp_path):
    # The worker processes run on the wall clock, so rows are due now and quiet hours are off.
    rt = Runtime(config, clock=ManualClock(datetime.now(timezone.utc)))
    context.bind(rt)
    worker = None
    try:
        clinic = make_clinic(db)
        clinic.quiet_start = clinic.quiet_end = dtime(0, 0)
        db.commit()
        # The first send is accepted by Twilio, whose answer then never comes: its process is killed mid-call.
        fake_twilio.script("Messages", Scripted(201, delay=60, accept_then_hang=True))
        rows = [make_message(db, clinic, make_client(db, phone=f"+1212555{3000 + n:04d}"),
                             due_at=rt.clock.now() - timedelta(seconds=5)) for n in range(6)]
        schedule(rt, db, rows)
        worker = start(config, tmp_path, 2, TWILIO_HTTP_TIMEOUT="30")

        def sent(count: int) -> bool:
            db.expire_all()
            return len(db.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.SENT)).all()) == count

        # One process hangs on the first send while the other sends the other five.
        assert wait_for(lambda: len(fake_twilio.attempts()) == 6 and sent(5), timeout=60), "the sends never got there"
        def busy() -> list[Worker]:
            return [w for w in Worker.all(queue=rt.queue) if w.get_state() == "busy"]

        # The other one records "idle" a moment after its last commit.
        assert wait_for(lambda: len(busy()) == 1, timeout=10), "not exactly one worker process busy"
        held = busy()[0]
        assert held.pid in children(worker.pid)
        before = children(worker.pid)
        assert len(before) == 2
        os.kill(held.pid, signal.SIGKILL)  # the OOM killer, a segfault in a C library

        # The supervisor starts another process in its place; the other one never stopped.
        assert wait_for(lambda: len(children(worker.pid)) == 2 and children(worker.pid) != before, timeout=30)
        assert held.pid not in children(worker.pid) and worker.poll() is None

        # The new process sends what comes due next.
        more = make_message(db, clinic, make_client(db, phone="+12125553100"), due_at=rt.clock.now())
        schedule(rt, db, [more])
        assert wait_for(lambda: sent(6), timeout=30), "the replacement process sent nothing"

        # The killed process's row is settled once no live attempt could still hold it: outcome unknown.
        rt.clock.set(datetime.now(timezone.utc) + stuck_after(config) + timedelta(seconds=1))
        reconcile()
    finally:
        context.bind(None)
        rt.close()
        if worker is not None:
            stop(worker)

    db.expire_all()
    final = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.status for r in final].count(MessageStatus.SENT) == 6
    unknown = [r for r in final if r.status is not MessageStatus.SENT]
    assert len(unknown) == 1 and (unknown[0].status, unknown[0].result) == (MessageStatus.FAILED, OUTCOME_UNKNOWN)
    assert len(fake_twilio.attempts()) == 7  # every row called once: the held one never again


@pytest.mark.slow
def test_a_stop_reaches_every_worker_process_and_each_leaves_cleanly(config, redis_conn, tmp_path):
    rt = Runtime(config)
    worker = start(config, tmp_path, 3)
    try:
        assert wait_for(lambda: Worker.count(queue=rt.queue) == 3, timeout=60), "three workers never registered"
        processes = children(worker.pid)
        assert len(processes) == 3
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        # Each RQ worker said goodbye (a killed one would stay registered until its key expired).
        assert Worker.count(queue=rt.queue) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in processes)
    finally:
        rt.close()
        stop(worker)
