"""Plans in bulk: N plans started through the bulk path, against N single starts, in the same run.

Both sides start plans for finished intakes of clients who consented, through the plan
service itself (``start.start_plan``: validation, the consent gate, the audit event):

* **single**: one ``start_plan`` and one commit per plan, each plan's jobs enqueued after its
  commit (what N calls of ``POST /api/plans`` do, minus HTTP);
* **bulk**: ``bulk.start_plans`` over the batch, one commit, the jobs enqueued once after it
  (what ``POST /api/plans:batch`` and ``glowline plan import`` do).

The single side runs a sample (``--single``, default 500) and is scaled to N, so a run stays
short; the ratio printed is bulk plans/s over single plans/s.

First sessions fall on the clinic's half-hour slots over 30 weekdays (540 different times), or
with ``--distinct`` each plan a minute after the last (no two plans share a timeline).

Run: .venv/bin/python -m bench.bench_plans_bulk [--plans 10000] [--single 500] [--rounds 2]
     [--distinct] [--database-url postgresql://...]  (default: a fresh SQLite file)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from glowline.clinics.service import add_clinic
from glowline.config import ROOT, Config
from glowline.plans.bulk import PlanRequest, start_plans
from glowline.plans.start import start_plan
from glowline.redis_server import EmbeddedRedis
from glowline.runtime import Runtime
from glowline.store.models import Base, Client, Clinic, ConsentAction, ConsentEvent, Intake

CLINIC = "+12125550100"


def make_intakes(rt: Runtime, count: int, serial: list[int]) -> list[int]:
    """``count`` finished intakes of consenting clients, written with plain SQL; their ids."""
    now = datetime.now(timezone.utc)
    with rt.engine.begin() as conn:
        start = serial[0]
        serial[0] += count
        client_ids = conn.execute(insert(Client.__table__).returning(Client.__table__.c.id), [
            {"clinic_id": 1, "phone": f"+1917{n:07d}", "created_at": now}
            for n in range(start, start + count)]).scalars().all()
        conn.execute(insert(ConsentEvent.__table__), [
            {"client_id": cid, "clinic_id": 1, "action": ConsentAction.OPT_IN.value, "wording": "May we text you?",
             "method": "sms_intake", "scope": "automated texts and calls", "created_at": now - timedelta(days=1)}
            for cid in client_ids])
        return conn.execute(insert(Intake.__table__).returning(Intake.__table__.c.id), [
            {"clinic_id": 1, "client_id": cid, "status": "complete", "answers": {"concern": "acne scars"},
             "misses": 0, "flags": [], "channel": "sms", "created_at": now, "updated_at": now, "completed_at": now}
            for cid in client_ids]).scalars().all()


def first_sessions(count: int, distinct: bool) -> list[datetime]:
    """When each plan's first session is: the clinic's half-hour slots over six weeks, or all different.

    Slots (default): 09:00-17:30 New York on the next 30 weekdays, 540 different times, so
    plans share a timeline only as a day's bookings share slots. ``distinct``: every plan a
    minute apart, so no two share a timeline (the worst case for the batch's timeline memo).
    """
    base = (datetime.now(timezone.utc) + timedelta(days=30)).replace(hour=14, minute=0, second=0, microsecond=0)
    if distinct:
        return [base + timedelta(minutes=n) for n in range(count)]
    days = [base + timedelta(days=d) for d in range(42) if (base + timedelta(days=d)).weekday() < 5][:30]
    slots = [day + timedelta(minutes=30 * s) for day in days for s in range(18)]
    return [slots[(n * 7919) % len(slots)] for n in range(count)]  # a stride, so neighbours differ


def single(rt: Runtime, intake_ids: list[int], firsts: list[datetime]) -> float:
    """One start and one commit per plan; plans/s."""
    t0 = time.perf_counter()
    for intake_id, first in zip(intake_ids, firsts, strict=False):
        with rt.transaction() as db:
            start_plan(db, rt, clinic=db.get(Clinic, 1), intake_id=intake_id, first_session_at=first,
                       actor="bench", now=rt.clock.now())
    return len(intake_ids) / (time.perf_counter() - t0)


def bulk(rt: Runtime, intake_ids: list[int], firsts: list[datetime]) -> float:
    """All plans through the bulk path, one commit; plans/s."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    with rt.transaction() as db:
        result = start_plans(db, rt, clinic=db.get(Clinic, 1), actor="bench", now=rt.clock.now(),
                             requests=[(i, PlanRequest(intake_id=x, first_session_at=first))
                                       for i, (x, first) in enumerate(zip(intake_ids, firsts, strict=True))])
    elapsed = time.perf_counter() - t0
    assert not result.refused and len(result.started) == len(intake_ids), result.refused[:3]
    # CPU of this process too: on a shared machine the wall time also counts other people's work.
    print(f"  bulk: {len(intake_ids)} plans in {elapsed:.1f} s ({time.process_time() - cpu0:.1f} s CPU in "
          "this process; the database server's and Redis's are not in it)", flush=True)
    return len(intake_ids) / elapsed


def main() -> None:
    """Alternate single and bulk rounds; print plans/s, the time for N plans and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url")
    parser.add_argument("--distinct", action="store_true", help="every plan its own first-session time")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(None, persist=False) as server:
        url = opts.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        config = Config(database_url=url, redis_url=server.url, public_base_url="http://bench.local",
                        secret_key="bench-secret-0123456789", var_dir=Path(folder),
                        protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas")
        rt = Runtime(config)
        Base.metadata.drop_all(rt.engine)
        import migrations

        with rt.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrations.upgrade(url)
        with rt.transaction() as db:
            add_clinic(db, name="Glow Clinic", numbers=[CLINIC], staff=["+12125550199"], timezone="America/New_York")
        firsts = first_sessions(opts.plans, opts.distinct)
        serial = [0]
        print(f"database: {url.split(':')[0]}; first sessions: {len(set(firsts))} different times; "
              f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        ratios, bulk_rates = [], []
        for round_ in range(1, opts.rounds + 1):
            one = single(rt, make_intakes(rt, opts.single, serial), firsts)
            many = bulk(rt, make_intakes(rt, opts.plans, serial), firsts)
            ratios.append(many / one)
            bulk_rates.append(many)
            print(f"round {round_}: single {one:.0f} plans/s ({opts.plans / one:.0f} s for {opts.plans}); "
                  f"bulk {many:.0f} plans/s ({opts.plans / many:.1f} s); ratio {many / one:.1f}", flush=True)
        print(f"median: bulk {opts.plans / statistics.median(bulk_rates):.1f} s for {opts.plans} plans (goal <= 10 s), "
              f"{statistics.median(ratios):.1f}x single starts; load now "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        rt.close()


if __name__ == "__main__":
    main()
