"""Throughput of the two hot paths, end to end on one process: inbound intake texts and outbound sends.

* inbound: clients walk the whole SMS intake through POST /twilio/sms (signed, stored once,
  validated, answered with TwiML), via Flask's test client on SQLite;
* outbound: outbox rows due now are scheduled and sent by an in-process RQ SimpleWorker
  through the local transport (no network: this is the pipeline's own cost per message).

Run: .venv/bin/python -m bench.bench_pipeline [CLIENTS] [MESSAGES]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timezone
from pathlib import Path

from rq import SimpleWorker
from twilio.request_validator import RequestValidator

from glowline.clinics.service import add_clinic
from glowline.config import ROOT, Config
from glowline.store.models import Base, Channel, Intake, IntakeStatus, MessageKind, MessageStatus, OutboxMessage
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from webhooks import create_app
from workers import context

ANSWERS = ["hi", "yes", "Maria", "1", "1 2", "no", "no", "no", "no", "no", "1", "weekday evenings"]
CLINIC = "+12125550100"


def _runtime(folder: Path, redis_url: str) -> Runtime:
    config = Config(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", redis_url=redis_url,
                    public_base_url="http://bench.local", secret_key="bench-secret-0123456789",
                    var_dir=folder, protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas")
    runtime = Runtime(config)
    Base.metadata.create_all(runtime.engine)
    with runtime.transaction() as db:
        add_clinic(db, name="Glow Clinic", numbers=[CLINIC], staff=["+12125550199"], timezone="America/New_York")
    return runtime


def bench_inbound(runtime: Runtime, clients: int) -> None:
    """Walk ``clients`` whole intakes; print requests/s and latency percentiles."""
    app = create_app({"RUNTIME": runtime})
    http = app.test_client()
    signer = RequestValidator(runtime.config.secret_key)
    latencies = []
    start = time.perf_counter()
    for c in range(clients):
        phone = f"+1646555{c:04d}"
        for n, body in enumerate(ANSWERS):
            params = {"MessageSid": f"SM{c:016d}{n:016d}", "From": phone, "To": CLINIC, "Body": body,
                      "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
            headers = {"X-Twilio-Signature": signer.compute_signature("http://bench.local/twilio/sms", params)}
            t0 = time.perf_counter()
            response = http.post("/twilio/sms", data=params, headers=headers)
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
    elapsed = time.perf_counter() - start
    with runtime.transaction() as db:
        complete = db.query(Intake).filter(Intake.status == IntakeStatus.COMPLETE).count()
    assert complete == clients, f"only {complete} of {clients} intakes completed: the benchmark would mislead"
    q = statistics.quantiles(latencies, n=100)
    print(f"inbound: {clients} intakes, {len(latencies)} texts in {elapsed:.1f}s = {len(latencies) / elapsed:.0f} "
          f"texts/s; latency p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")


def bench_outbound(runtime: Runtime, count: int) -> None:
    """Schedule ``count`` rows due now and send them all with one in-process worker; print sends/s."""
    now = runtime.clock.now()
    with runtime.transaction() as db:
        rows = [OutboxMessage(clinic_id=1, client_id=None, kind=MessageKind.STAFF_NOTICE, channel=Channel.SMS,
                              to_number="+12125550199", from_number=CLINIC, body=f"bench {i}", due_at=now)
                for i in range(count)]
        db.add_all(rows)
        db.flush()
        runtime.dispatcher.schedule(db, rows)
    context.bind(runtime)
    start = time.perf_counter()
    SimpleWorker([runtime.queue], connection=runtime.redis, serializer=runtime.queue.serializer).work(
        burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - start
    with runtime.transaction() as db:
        sent = db.query(OutboxMessage).filter(OutboxMessage.status == MessageStatus.SENT,
                                              OutboxMessage.body.like("bench %")).count()
    print(f"outbound: {sent}/{count} sent (local transport) in {elapsed:.1f}s = {sent / elapsed:.0f} sends/s "
          f"with one SimpleWorker")
    assert now.tzinfo is timezone.utc


def main(clients: int = 50, messages: int = 1000) -> None:
    """Run both benchmarks on a fresh SQLite file and a private Valkey."""
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(None, persist=False) as redis_server:
        runtime = _runtime(Path(folder), redis_server.url)
        bench_inbound(runtime, clients)
        bench_outbound(runtime, messages)
        runtime.engine.dispose()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
