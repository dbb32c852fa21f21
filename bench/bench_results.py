"""How fast a clinic's results are worked out: 5,000 plans, 30,000 sessions and 150,000 outbox rows.

Builds the data set with bulk inserts into a fresh database (it drops and recreates every table
there: never point it at a database you keep), then times the figures and the staff page.

Run: .venv/bin/python -m bench.bench_results [DATABASE_URL]
     (default: a SQLite file in a temporary folder; e.g. postgresql://postgres@127.0.0.1:5432/h19)
"""

from __future__ import annotations

import os
import random
import re
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert

from glowline.config import ROOT, Config, _database_url
from glowline.results import report
from glowline.results.periods import PeriodKind
from glowline.store.models import (AuditEvent, Base, Channel, Client, Clinic, ClinicNumber, ConsentEvent, Intake,
                                   IntakeStatus, MessageKind, MessageStatus, OutboxMessage, Plan, PlanStatus,
                                   SessionStatus, TreatmentSession)

PLANS = 5_000
SESSIONS = 6
PER_SESSION = 5  # two reminders, two aftercare texts, a booking nudge: 150,000 outbox rows
START = datetime(2026, 1, 5, 14, tzinfo=timezone.utc)
PROTOCOLS = ("skin-rejuvenation", "acne-scarring", "stretch-marks", "pigmentation", "superficial")
CODES = (30003, 30005, 30006, 30007, 21211, 21614)


def _sessions_and_messages(rng: random.Random, plan_id: int, client_id: int, first: datetime, ids: dict):
    sessions, messages, audits = [], [], []
    for number in range(1, SESSIONS + 1):
        ids["session"] += 1
        sid = ids["session"]
        starts = first + timedelta(weeks=4 * (number - 1))
        status = rng.choices(list(SessionStatus), weights=(8, 10, 2, 5, 67, 8))[0]
        reminder = starts - timedelta(hours=48)
        confirmed = reminder + timedelta(minutes=rng.randint(2, 600)) if rng.random() < 0.7 else None
        sessions.append({"id": sid, "plan_id": plan_id, "number": number, "starts_at": starts, "status": status,
                         "confirmed_at": confirmed, "duration_minutes": 60})
        for kind, when in ((MessageKind.REMINDER, reminder), (MessageKind.REMINDER, starts - timedelta(hours=2)),
                           (MessageKind.AFTERCARE, starts + timedelta(hours=2)),
                           (MessageKind.AFTERCARE, starts + timedelta(days=2)),
                           (MessageKind.BOOKING_NUDGE, starts + timedelta(days=7))):
            outcome = rng.choices(("delivered", "undelivered", "failed", "sent"), weights=(92, 3, 2, 3))[0]
            messages.append({"clinic_id": 1, "client_id": client_id, "plan_id": plan_id, "session_id": sid,
                             "kind": kind, "channel": Channel.SMS, "to_number": "+12125550000",
                             "from_number": "+12125550100", "body": "x" * rng.choice((90, 150, 200)),
                             "due_at": when, "status": MessageStatus(outcome),
                             "sent_at": None if outcome == "failed" else when, "finished_at": when,
                             "error_code": rng.choice(CODES) if outcome in ("undelivered", "failed") else None,
                             "segments": rng.choice((1, 1, 2)), "attempts": 1})
        if status is SessionStatus.NO_SHOW:
            audits.append({"clinic_id": 1, "actor": "staff:ana", "action": "session_no_show", "plan_id": plan_id,
                           "details": {"session": number}, "created_at": starts + timedelta(hours=1)})
            if rng.random() < 0.5:
                audits.append({"clinic_id": 1, "actor": rng.choice(("staff:ana", f"client #{client_id}")),
                               "action": "session_moved", "plan_id": plan_id, "details": {"session": number},
                               "created_at": starts + timedelta(days=1)})
        elif status is SessionStatus.CALLBACK_REQUESTED:
            audits.append({"clinic_id": 1, "actor": f"client #{client_id}", "action": "session_held",
                           "plan_id": plan_id, "details": {"session": number}, "created_at": reminder})
    return sessions, messages, audits


def build(url: str) -> None:
    """Drop every table at ``url``, recreate them and bulk-insert one clinic's year."""
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rng = random.Random(19)
    ids = {"session": 0}
    clients, intakes, plans, sessions, messages, consents, audits = [], [], [], [], [], [], []
    for n in range(1, PLANS + 1):
        created = START + timedelta(minutes=(300 * 24 * 60) * (n - 1) // PLANS)
        clients.append({"id": n, "clinic_id": 1, "phone": f"+1212{n:07d}", "preferred_channel": Channel.SMS})
        intakes.append({"id": n, "clinic_id": 1, "client_id": n, "status": IntakeStatus.PLANNED, "created_at": created,
                        "answers": {}, "flags": [], "misses": 0, "channel": Channel.SMS})
        status = rng.choices(list(PlanStatus), weights=(50, 10, 40))[0]
        plans.append({"id": n, "clinic_id": 1, "client_id": n, "intake_id": n, "protocol_id": PROTOCOLS[n % 5],
                      "protocols_version": "bench", "session_count": SESSIONS, "interval_weeks": 4, "status": status,
                      "version": 1, "created_by": "bench", "created_at": created,
                      "cancelled_at": created + timedelta(weeks=9) if status is PlanStatus.CANCELLED else None})
        consents.append({"client_id": n, "clinic_id": 1, "action": "opt_in", "wording": "yes", "method": "sms_intake",
                         "scope": "all", "created_at": created})
        if rng.random() < 0.03:
            consents.append({"client_id": n, "clinic_id": 1, "action": "opt_out", "wording": "STOP",
                             "method": "sms_keyword", "scope": "all", "created_at": created + timedelta(weeks=5)})
        s, m, a = _sessions_and_messages(rng, n, n, created + timedelta(days=7), ids)
        sessions += s
        messages += m
        audits += a
    with engine.begin() as conn:
        conn.execute(insert(Clinic), [{"id": 1, "name": "Bench Clinic", "timezone": "America/New_York",
                                       "reminder_offsets_hours": [48, 2], "templates": {}, "session_minutes": 60}])
        conn.execute(insert(ClinicNumber), [{"clinic_id": 1, "number": "+12125550100"}])
        for table, rows in ((Client, clients), (Intake, intakes), (Plan, plans), (TreatmentSession, sessions),
                            (OutboxMessage, messages), (ConsentEvent, consents), (AuditEvent, audits)):
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[start:start + 10_000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"built: {len(plans):,} plans, {len(sessions):,} sessions, {len(messages):,} outbox rows, "
          f"{len(consents):,} consent and {len(audits):,} audit events")
    engine.dispose()


def _best(work, rounds: int = 3) -> tuple[float, float]:
    """The best wall time of three, and the CPU this process spent in that run.

    On a shared machine the wall time mostly measures waiting for a core; the process's CPU
    time is the work itself (all of it for SQLite, which runs in-process; for PostgreSQL the
    server's share is not in it).
    """
    runs = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def _page_timer(url: str):
    """A logged-in staff client of the app on ``url``, and a function that GETs the results page with a query."""
    from glowline.clinics.service import add_staff_user
    from glowline.runtime import Runtime
    from webhooks import create_app

    runtime = Runtime(Config(database_url=url, protocols_path=ROOT / "protocols.json", schemas_dir=ROOT / "schemas",
                             testing=True))
    with runtime.transaction() as db:
        add_staff_user(db, db.get(Clinic, 1), "bench", "bench password 1234")
    app = create_app({"RUNTIME": runtime, "TESTING": True})
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"username": "bench", "password": "bench password 1234", "csrf_token": token})

    def get(query: str) -> None:
        response = client.get(f"/staff/results?{query}")
        assert response.status_code == 200, response.status_code

    return runtime, get


def main() -> None:
    """Build the data set, then print the best of three timings per request."""
    raw = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    url = _database_url(raw)
    start = time.perf_counter()
    build(url)
    print(f"build: {time.perf_counter() - start:.1f} s")
    runtime, get = _page_timer(url)
    cases = (("12 weeks by week (the page's default)", date(2026, 9, 7), date(2026, 11, 29), PeriodKind.WEEK, None),
             ("the year by month", date(2026, 1, 1), date(2026, 12, 31), PeriodKind.MONTH, None),
             ("the year by week", date(2026, 1, 1), date(2026, 12, 31), PeriodKind.WEEK, None),
             ("12 weeks by week, one protocol", date(2026, 9, 7), date(2026, 11, 29), PeriodKind.WEEK,
              "acne-scarring"),
             ("the year by month, one protocol", date(2026, 1, 1), date(2026, 12, 31), PeriodKind.MONTH,
              "acne-scarring"),
             ("the year by week, one protocol", date(2026, 1, 1), date(2026, 12, 31), PeriodKind.WEEK,
              "acne-scarring"))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("(cpu: this process's CPU time in the best run; for PostgreSQL the server's share is not in it)")
    print(f"{'request':40} {'figures s':>10} {'(cpu)':>7} {'page s':>8} {'(cpu)':>7}")
    for name, since, until, period, protocol in cases:
        wanted = report.Request(clinic_id=1, since=since, until=until, period=period, protocol=protocol)

        def figures(wanted=wanted) -> None:
            with runtime.transaction() as db:
                report.compute(db, wanted, segment_price=0.0083)

        query = f"since={since}&until={until}&period={period.value}" + (f"&protocol={protocol}" if protocol else "")
        figures_s, page_s = _best(figures), _best(lambda q=query: get(q))
        print(f"{name:40} {figures_s[0]:>10.3f} {figures_s[1]:>7.3f} {page_s[0]:>8.3f} {page_s[1]:>7.3f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    runtime.close()


if __name__ == "__main__":
    main()
