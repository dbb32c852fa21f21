"""Inbound under load: the real app under gunicorn (2 sync workers) answering signed texts mid-intake at a fixed rate.

The app runs as production runs it (``gunicorn -w 2 wsgi:app``, configured from the
environment) on a fresh SQLite file (or ``--database-url``) with ``--intakes`` finished
intakes of other clients already at the clinic. Clients are first walked into their intake
(untimed: the first text and the consent answer); then the answers mid-intake are sent
open-loop at ``--rate`` per second for ``--seconds``: each request is due at a fixed time
whatever happened to the ones before (a slow server cannot slow the load down), one client
never has two texts in flight (a phone sends one answer, then reads the next question), and
latency is counted from when the request was due, so queueing at the server is in it.

Run: .venv/bin/python -m bench.bench_inbound_load [--rate 200] [--seconds 20] [--workers 2] [--port 7507]
     [--intakes 1000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import collections
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bench.bench_inbound import CLINIC, TIMED, UNTIMED, grow_intakes
from glowline.clinics.service import add_clinic
from glowline.config import ROOT, Config
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from glowline.store.models import Base

SECRET = "bench-secret-0123456789"
THREADS = 48
WARM_SECONDS = 5  # the steady-state line leaves out the first seconds (each worker's first requests)


def _prepare(base_url: str, signer: RequestValidator, clients: int, first: int) -> list[list[tuple[dict, dict]]]:
    """Every client's texts in order, signed in advance so the load generator only sends."""
    out = []
    for c in range(first, first + clients):
        phone = f"+1646{c:07d}"
        texts = []
        for n, body in enumerate(UNTIMED + TIMED):
            params = {"MessageSid": f"SM{c:016d}{n:016d}", "From": phone, "To": CLINIC, "Body": body,
                      "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
            texts.append((params, {"X-Twilio-Signature": signer.compute_signature(f"{base_url}/twilio/sms", params)}))
        out.append(texts)
    return out


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def _walk_in(url: str, texts: list[list[tuple[dict, dict]]]) -> None:
    """The untimed first texts of every client, a few clients at a time."""
    work: queue.Queue = queue.Queue()
    for client in texts:
        work.put(client[:len(UNTIMED)])

    def run():
        with requests.Session() as http:
            while True:
                try:
                    steps = work.get_nowait()
                except queue.Empty:
                    return
                for params, headers in steps:
                    assert http.post(url, data=params, headers=headers, timeout=30).status_code == 200

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Load:
    """Open-loop sender: one request due every 1/rate s, to a client with nothing in flight."""

    def __init__(self, url: str, texts: list[list[tuple[dict, dict]]]):
        self.url = url
        self.pending = [collections.deque(client[len(UNTIMED):]) for client in texts]
        self.idle: collections.deque[int] = collections.deque(range(len(texts)))
        self.lock = threading.Lock()
        self.jobs: queue.Queue = queue.Queue()
        self.results: list[tuple[float, float, float, int]] = []  # (due, sent, done, status)
        self.starved = 0

    def _worker(self) -> None:
        with requests.Session() as http:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                due, client, (params, headers) = job
                sent = time.perf_counter()
                try:
                    status = http.post(self.url, data=params, headers=headers, timeout=30).status_code
                except requests.RequestException:
                    status = 0
                done = time.perf_counter()
                with self.lock:
                    self.results.append((due, sent, done, status))
                    if self.pending[client]:
                        self.idle.append(client)

    def run(self, rate: float, seconds: float) -> float:
        """Send for ``seconds``; returns the wall time until the last answer came back."""
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(THREADS)]
        for t in threads:
            t.start()
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with self.lock:
                client = self.idle.popleft() if self.idle else None
            if client is None:
                self.starved += 1  # every client has a text in flight: the server is far behind
                continue
            self.jobs.put((due, client, self.pending[client].popleft()))
        for _ in threads:
            self.jobs.put(None)
        for t in threads:
            t.join()
        return time.perf_counter() - start


def _server_cpu(parent: int) -> float:
    """CPU seconds (user + system) spent so far by the gunicorn workers, children of ``parent``."""
    return sum(sum(child.cpu_times()[:2]) for child in psutil.Process(parent).children())


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    """Start gunicorn, walk the clients in, drive the answers at the rate, print rate and latency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=7507)
    parser.add_argument("--intakes", type=int, default=1000)
    parser.add_argument("--database-url")
    opts = parser.parse_args()
    base_url = f"http://127.0.0.1:{opts.port}"
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(None, persist=False) as server:
        url = opts.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        config = Config(database_url=url, redis_url=server.url, public_base_url=base_url, secret_key=SECRET,
                        var_dir=Path(folder), protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas")
        with Runtime(config) as rt:
            Base.metadata.drop_all(rt.engine)
            import migrations

            with rt.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            migrations.upgrade(url)
            with rt.transaction() as db:
                add_clinic(db, name="Glow Clinic", numbers=[CLINIC], staff=["+12125550199"],
                           timezone="America/New_York")
            grow_intakes(rt, opts.intakes)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": server.url, "PUBLIC_BASE_URL": base_url,
               "SECRET_KEY": SECRET, "GLOWLINE_VAR_DIR": folder}
        gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(opts.workers), "-b",
                                     f"127.0.0.1:{opts.port}", "--log-level", "warning", "wsgi:app"],
                                    env=env, cwd=ROOT)
        try:
            _wait_for(f"{base_url}/twilio/sms", gunicorn)  # any answer (a 405) says it is up
            clients = int(opts.rate * opts.seconds / len(TIMED)) + 50
            texts = _prepare(base_url, RequestValidator(SECRET), clients, first=1)
            sms = f"{base_url}/twilio/sms"
            _walk_in(sms, texts)
            print(f"database: {url.split(':')[0]}; {opts.workers} gunicorn workers; {opts.intakes} intakes; "
                  f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            load = Load(sms, texts)
            cpu_before = _server_cpu(gunicorn.pid)
            wall = load.run(opts.rate, opts.seconds)
            server_cpu = _server_cpu(gunicorn.pid) - cpu_before
            ok = [(done - due) * 1000 for due, _, done, status in load.results if status == 200]
            served = [(done - sent) * 1000 for _, sent, done, status in load.results if status == 200]
            failed = sum(1 for *_, status in load.results if status != 200)
            print(f"asked {opts.rate:.0f}/s for {opts.seconds:.0f} s; answered {len(ok)} in {wall:.1f} s = "
                  f"{len(ok) / wall:.0f}/s; failed {failed}; not sent (every client busy) {load.starved}")
            if ok:
                print(f"server CPU (gunicorn workers) per answer: {server_cpu / len(load.results) * 1000:.2f} ms")
                print(f"latency from due time: p50 {statistics.median(ok):.1f} ms, p95 {_pct(ok, 95):.1f} ms, "
                      f"p99 {_pct(ok, 99):.1f} ms, max {max(ok):.1f} ms")
                first = min(due for due, *_ in load.results)
                steady = [(done - due) * 1000 for due, _, done, status in load.results
                          if status == 200 and due - first >= WARM_SECONDS]
                if steady:
                    print(f"after the first {WARM_SECONDS} s: p50 {statistics.median(steady):.1f} ms, "
                          f"p99 {_pct(steady, 99):.1f} ms")
                # From when the generator sent it: the difference from the line above is the generator's own lag.
                print(f"latency from send: p50 {statistics.median(served):.1f} ms, p95 {_pct(served, 95):.1f} ms, "
                      f"p99 {_pct(served, 99):.1f} ms")
            print(f"load now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)


if __name__ == "__main__":
    main()
