"""Inbound: server CPU per signed answer mid-intake, against a minimal Flask app, as the intake table grows.

The baseline, measured in the same run and alternating with the real app, is the unit of
work a survey app would do: a Flask route that checks nothing, inserts one row with SQL and
returns TwiML. Both are called through Flask's test client in this process, so the client's
own cost is in both; CPU is ``time.process_time()`` around each request.

At each size (default 1k, 10k, 100k intakes of other clients at the clinic, inserted with
plain SQL), clients walk into their intake (untimed: the first text and the consent answer)
and then each answer mid-intake (the name and the next questions) is timed. The line is
flat when the per-answer CPU at 100k is close to that at 1k.

Run: .venv/bin/python -m bench.bench_inbound [--sizes 1000,10000,100000] [--clients 40] [--rounds 3]
     [--database-url postgresql://...]  (default: a fresh SQLite file)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, Response, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from glowline.clinics.service import add_clinic
from glowline.config import ROOT, Config
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from glowline.store.models import Base, Client, Intake
from webhooks import create_app

CLINIC = "+12125550100"
BASE_URL = "http://bench.local"
UNTIMED = ["hi", "yes"]  # the first text starts the intake, the second answers the consent question
TIMED = ["Maria", "1", "1 2", "no", "no", "no"]  # mid-intake answers


def minimal_app(database_url: str) -> Flask:
    """The baseline: one INSERT and a TwiML reply, nothing checked."""
    engine = create_engine(database_url)
    meta = MetaData()
    table = Table("bench_answers", meta, Column("id", Integer, primary_key=True), Column("sid", String(64)),
                  Column("body", String(1600)))
    meta.drop_all(engine)
    meta.create_all(engine)
    app = Flask(__name__)

    @app.post("/twilio/sms")
    def answer():
        with engine.begin() as conn:
            conn.execute(insert(table).values(sid=request.form["MessageSid"], body=request.form["Body"]))
        reply = MessagingResponse()
        reply.message("Thanks")
        return Response(str(reply), mimetype="application/xml")

    return app


def grow_intakes(rt: Runtime, size: int) -> None:
    """Bring the clinic's intakes (of other clients, finished) up to ``size``, with plain SQL in bulk."""
    with rt.engine.begin() as conn:
        have = conn.scalar(select(text("count(*)")).select_from(Intake.__table__))
        now = datetime.now(timezone.utc)
        for start in range(have, size, 5000):
            batch = range(start, min(start + 5000, size))
            ids = conn.execute(insert(Client.__table__).returning(Client.__table__.c.id), [
                {"clinic_id": 1, "phone": f"+1917{n:07d}", "created_at": now} for n in batch]).scalars().all()
            conn.execute(insert(Intake.__table__), [
                {"clinic_id": 1, "client_id": cid, "status": "complete", "answers": {}, "misses": 0, "flags": [],
                 "channel": "sms", "created_at": now, "updated_at": now} for cid in ids])


def _post(http, signer, phone: str, sid: str, body: str) -> float:
    params = {"MessageSid": sid, "From": phone, "To": CLINIC, "Body": body, "NumMedia": "0",
              "AccountSid": "AC" + "0" * 32}
    headers = {"X-Twilio-Signature": signer.compute_signature(f"{BASE_URL}/twilio/sms", params)}
    t0 = time.process_time()
    response = http.post("/twilio/sms", data=params, headers=headers)
    spent = time.process_time() - t0
    assert response.status_code == 200, response.status_code
    return spent


class Round:
    """One alternating round: real answers and baseline answers, CPU seconds each."""

    serial = 0

    def __init__(self, app, baseline, signer):
        self.app, self.baseline, self.signer = app.test_client(), baseline.test_client(), signer

    def real(self, clients: int) -> list[float]:
        """Walk ``clients`` new clients into their intake and time each answer mid-intake."""
        spent = []
        for _ in range(clients):
            Round.serial += 1
            phone = f"+1646{Round.serial:07d}"
            for n, body in enumerate(UNTIMED + TIMED):
                cpu = _post(self.app, self.signer, phone, f"SM{Round.serial:016d}{n:016d}", body)
                if n >= len(UNTIMED):
                    spent.append(cpu)
        return spent

    def base(self, count: int) -> list[float]:
        """``count`` baseline answers."""
        out = []
        for _ in range(count):
            Round.serial += 1
            out.append(_post(self.baseline, self.signer, "+16460000000", f"SM{Round.serial:032d}", "Maria"))
        return out


def main() -> None:
    """For each size: grow the table, alternate rounds, print CPU per answer and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(None, persist=False) as server:
        url = opts.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        config = Config(database_url=url, redis_url=server.url, public_base_url=BASE_URL,
                        secret_key="bench-secret-0123456789", var_dir=Path(folder),
                        protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas")
        rt = Runtime(config)
        Base.metadata.drop_all(rt.engine)
        import migrations

        with rt.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrations.upgrade(url)  # the indexes exactly as production has them
        with rt.transaction() as db:
            add_clinic(db, name="Glow Clinic", numbers=[CLINIC], staff=["+12125550199"], timezone="America/New_York")
        app = create_app({"RUNTIME": rt})
        baseline_url = url if url.startswith("postgresql") else f"sqlite:///{Path(folder) / 'baseline.sqlite3'}"
        bench = Round(app, minimal_app(baseline_url), RequestValidator(config.secret_key))
        print(f"database: {url.split(':')[0]}; load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("intakes   answer CPU ms (median)   baseline ms   ratio (baseline/answer)")
        for size in (int(s) for s in opts.sizes.split(",")):
            grow_intakes(rt, size)
            ours, base, ratios = [], [], []
            for _ in range(opts.rounds):
                r = statistics.median(bench.real(opts.clients))
                b = statistics.median(bench.base(opts.clients * len(TIMED)))
                ours.append(r)
                base.append(b)
                ratios.append(b / r)
            print(f"{size:>7}   {statistics.median(ours) * 1000:>8.2f}                 "
                  f"{statistics.median(base) * 1000:>6.2f}        {statistics.median(ratios):.2f}", flush=True)
        print(f"load now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        rt.close()


if __name__ == "__main__":
    main()
