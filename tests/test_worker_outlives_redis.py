"""A real `glowline worker` process outlives its Redis: it waits, reconnects and counts again, never exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from redis import Redis
from rq import Worker

from glowline.redis_server import EmbeddedRedis
from tests.worker_helpers import wait_for, worker_env


@pytest.mark.slow
def test_the_worker_process_survives_redis_killed_and_restarted_empty(config, tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", persist=False).start()
    config = config.with_(redis_url=server.url)
    worker = subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=worker_env(config), cwd=tmp_path,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = Redis.from_url(server.url)
        assert wait_for(lambda: Worker.count(connection=conn) == 1), "the worker never registered"
        server.process.kill()  # Redis dies mid-loop...
        server.process.wait(timeout=10)
        server = EmbeddedRedis(tmp_path / "redis", port=server.port, persist=False).start()  # ...and comes back empty
        conn = Redis.from_url(server.url)
        assert wait_for(lambda: Worker.count(connection=conn) == 1, timeout=60), "the worker did not come back"
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)  # asked to stop, it stops
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        server.stop()
