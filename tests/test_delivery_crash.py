"""A real worker process killed (SIGKILL) in the middle of a batch: nothing lost, nothing sent twice silently."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, time as dtime, timedelta, timezone

import pytest
from sqlalchemy import select

from glowline.clock import ManualClock
from glowline.store.models import MessageStatus, OutboxMessage
from glowline.delivery.outbox import OUTCOME_UNKNOWN
from glowline.runtime import Runtime
from tests.helpers import make_client, make_clinic, make_message, schedule
from tests.twilio_server import Scripted
from tests.worker_helpers import wait_for, work, worker_env
from workers import context
from workers.jobs import reconcile, stuck_after

BATCH = 12


@pytest.mark.slow
def test_sigkill_mid_batch_every_row_settles_and_only_the_in_flight_one_is_ambiguous(
        config, redis_conn, db, fake_twilio, tmp_path):
    # The worker process runs on the wall clock, so rows are due now and quiet hours are off.
    real_now = datetime.now(timezone.utc)
    rt = Runtime(config, clock=ManualClock(real_now))
    context.bind(rt)
    try:
        clinic = make_clinic(db)
        clinic.quiet_start = clinic.quiet_end = dtime(0, 0)
        db.commit()
        rows = [make_message(db, clinic, make_client(db, phone=f"+1212555{3000 + n:04d}"),
                             due_at=real_now - timedelta(seconds=5)) for n in range(BATCH)]
        schedule(rt, db, rows)
        assert rt.queue.count == BATCH

        # The fifth send is accepted by Twilio, whose answer then never arrives: the kill lands
        # between Twilio's acceptance and our commit.
        fake_twilio.script("Messages", *[Scripted(201, delay=0.05)] * 4,
                           Scripted(201, delay=60, accept_then_hang=True))
        # A Twilio timeout longer than the hang, so the worker is killed mid-request, not timed out.
        env = worker_env(config, TWILIO_HTTP_TIMEOUT="30")
        worker = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--burst"], env=env,
                                  cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: len(fake_twilio.attempts()) >= 5), "the worker never reached the fifth send"
        finally:
            # The whole process group: the worker and the work-horse it forked for the job.
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

        db.expire_all()
        statuses = Counter(r.status for r in db.scalars(select(OutboxMessage)))
        assert statuses[MessageStatus.SENT] == 4 and statuses[MessageStatus.SENDING] == 1

        # Restart: a fresh worker finishes the batch; once the stuck claim is older than any live
        # attempt could be, the reconciler hands the in-flight row to staff instead of resending.
        work(rt)
        rt.clock.set(datetime.now(timezone.utc) + stuck_after(config) + timedelta(seconds=1))
        reconcile()
        work(rt)
    finally:
        context.bind(None)
        rt.close()

    db.expire_all()
    final = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert all(r.status in (MessageStatus.SENT, MessageStatus.FAILED) for r in final), [
        (r.id, r.status, r.result, r.attempts) for r in final]
    unknown = [r for r in final if r.result == OUTCOME_UNKNOWN]
    assert len(unknown) == 1 and unknown[0].status is MessageStatus.FAILED and unknown[0].provider_sid is None
    assert unknown[0].last_error.startswith("outcome unknown: check Twilio")
    assert all(r.status is MessageStatus.SENT and r.attempts == 1 for r in final if r is not unknown[0])

    # Twilio saw each number once: the ambiguous one was not resent.
    accepted = Counter(r.form["To"] for r in fake_twilio.sent())
    assert sorted(accepted) == sorted(r.to_number for r in final) and set(accepted.values()) == {1}
    assert {r.provider_sid for r in final if r.provider_sid} <= {r.sid for r in fake_twilio.sent()}
