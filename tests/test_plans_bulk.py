"""Starting plans in bulk: POST /api/plans:batch and ``glowline plan import``, item by item like single starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from rq.registry import ScheduledJobRegistry
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from cli.main import main
from glowline.clinics.audit import AuditAction
from glowline.clinics.service import create_api_token
from glowline.messages.segments import row_segments
from glowline.plans.bulk import PlanRequest, start_plans
from glowline.plans.start import start_plan
from glowline.store.models import (AuditEvent, Channel, IntakeStatus, MessageKind, MessageStatus, OutboxMessage,
                                   Plan, TreatmentSession)
from tests.helpers import in_redis, make_clinic, make_intake

FIRST = "2026-12-03T10:00:00-05:00"


@pytest.fixture
def api(client, db, clinic):
    _, plain = create_api_token(db, clinic, "booking-system")
    db.commit()

    def call(body):
        return client.post("/api/plans:batch", json=body, headers={"Authorization": f"Bearer {plain}"})

    return call


def _intakes(db, clinic, count, **kwargs):
    return [make_intake(db, clinic, phone=f"+1212555{4000 + n:04d}", **kwargs) for n in range(count)]


def _item(intake_id, **extra):
    return {"intake_id": intake_id, "protocol": "skin-rejuvenation", "first_session_at": FIRST, **extra}


def _jobs(runtime) -> list[str]:
    return list(runtime.queue.job_ids) + ScheduledJobRegistry(queue=runtime.queue).get_job_ids()


def test_each_item_is_started_or_refused_by_its_index_and_the_others_go_on(api, db, clinic, runtime):
    good = _intakes(db, clinic, 3)
    no_consent = make_intake(db, clinic, phone="+12125554999", consent=False)
    other_clinic = make_intake(db, make_clinic(db, name="Other", number="+13105550100", staff=()),
                               phone="+12125554998")
    response = api({"plans": [
        _item(good[0].id),
        {"intake_id": good[1].id, "first_session_at": FIRST},                 # no protocol
        _item(no_consent.id),                                                # consent is the gate
        _item(good[2].id, sessions=3),
        _item(other_clinic.id),                                              # another clinic's: not found
        _item(good[1].id, first_session_at="2026-11-03T10:00:00-05:00"),     # in the past
        "not an object",
        _item(good[1].id, interval_weeks=6),
        _item(good[0].id),                                                   # already planned above
    ]})
    assert response.status_code == 200, response.json
    started = {s["index"]: s["plan_id"] for s in response.json["started"]}
    assert sorted(started) == [0, 3, 7]
    refused = {r["index"]: r for r in response.json["refused"]}
    assert sorted(refused) == [1, 2, 4, 5, 6, 8]
    assert (refused[1]["status"], refused[1]["field"]) == (400, "protocol")
    assert (refused[2]["status"], refused[2]["field"]) == (409, "consent")
    assert refused[4]["status"] == 404 and "not found" in refused[4]["error"]
    assert (refused[5]["status"], refused[5]["field"]) == (400, "first_session_at")
    assert refused[6]["status"] == 400
    assert refused[8]["status"] == 409 and "already has plan" in refused[8]["error"]

    db.expire_all()
    plans = {p.id: p for p in db.scalars(select(Plan))}
    assert set(plans) == set(started.values())
    assert plans[started[3]].session_count == 3 and plans[started[7]].interval_weeks == 6
    assert {p.intake_id for p in plans.values()} == {good[0].id, good[1].id, good[2].id}
    assert all(i.status is IntakeStatus.PLANNED for i in good)
    db.refresh(no_consent)
    assert no_consent.status is IntakeStatus.COMPLETE
    # Refused items left nothing behind: no rows for the client without consent.
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.client_id == no_consent.client_id)) == 0
    # The same audit as a single start, once per plan, by the token.
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.PLAN_STARTED)).all()
    assert sorted(a.plan_id for a in audit) == sorted(started.values())
    assert {a.actor for a in audit} == {"api token booking-system"}


def test_each_plans_first_messages_are_enqueued_once_and_only_after_the_commit(db, clinic, runtime):
    intakes = _intakes(db, clinic, 4)
    now = runtime.clock.now()
    requests = [(n, PlanRequest(intake_id=i.id, protocol_id="skin-rejuvenation",
                                first_session_at=now.replace(year=now.year + 1))) for n, i in enumerate(intakes)]
    result = start_plans(db, runtime, clinic=clinic, requests=requests, actor="test", now=now)
    assert len(result.started) == 4 and result.refused == []
    assert _jobs(runtime) == []  # nothing in Redis before the commit: a rollback would leave no stray job
    db.commit()
    queued = db.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.QUEUED)).all()
    assert sorted(m.kind for m in queued) == [MessageKind.PLAN_CONFIRMATION] * 4
    jobs = _jobs(runtime)
    assert len(jobs) == len(set(jobs)) == 4 and all(in_redis(runtime, m.id) for m in queued)


def test_a_batch_rolled_back_enqueues_nothing(db, clinic, runtime):
    intake = _intakes(db, clinic, 1)[0]
    now = runtime.clock.now()
    start_plans(db, runtime, clinic=clinic, now=now, actor="test",
                requests=[(0, PlanRequest(intake_id=intake.id, first_session_at=now.replace(year=now.year + 1)))])
    db.rollback()
    assert _jobs(runtime) == [] and db.scalars(select(Plan)).all() == []
    assert db.scalars(select(OutboxMessage)).all() == []  # the COPY of its outbox rows went with the transaction


def _picture(db, runtime, plan_id):
    """Everything a started plan wrote, without its ids: sessions, outbox rows, audit events and send jobs."""
    plan = db.get(Plan, plan_id)
    numbers = {s.id: s.number for s in plan.sessions}
    sessions = [(s.number, s.starts_at, s.duration_minutes, s.status) for s in plan.sessions]
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan_id)
                      .order_by(OutboxMessage.due_at, OutboxMessage.kind, OutboxMessage.session_id)).all()
    outbox = [(numbers[m.session_id], m.kind, m.channel, m.from_number, m.body, m.due_at, m.not_after, m.status,
               m.result, m.finished_at, m.segments, m.plan_version, m.enqueued_at, m.attempts) for m in rows]
    audit = [(a.action, a.actor, a.details) for a in db.scalars(select(AuditEvent).where(AuditEvent.plan_id == plan_id))]
    jobs = sorted((m.kind, m.due_at) for m in rows if in_redis(runtime, m.id))
    return (plan.protocol_id, plan.session_count, plan.interval_weeks, plan.version, plan.status), sessions, outbox, \
        audit, jobs


def test_a_plan_started_in_a_batch_is_the_plan_a_single_start_writes(db, clinic, runtime):
    intakes = _intakes(db, clinic, 4)
    for intake in intakes:  # calls and Spanish: the channel, segments and texts all depend on the client
        intake.client.preferred_channel, intake.client.language = Channel.VOICE, "es"
    db.commit()
    now = runtime.clock.now()
    # Tomorrow 11:30 in New York: the 2-hour reminder falls inside the dispatcher's 24-hour horizon (queued,
    # with a job), the 48-hour one is already past (skipped), the rest wait in the outbox (pending).
    first = now + timedelta(hours=25, minutes=30)
    with runtime.transaction() as session:
        single = start_plan(session, runtime, clinic=session.get(type(clinic), clinic.id), intake_id=intakes[0].id,
                            first_session_at=first, protocol_id="skin-rejuvenation", actor="test", now=now).id
    with runtime.transaction() as session:
        result = start_plans(session, runtime, clinic=session.get(type(clinic), clinic.id), actor="test", now=now,
                             requests=[(0, PlanRequest(intakes[1].id, first + timedelta(minutes=30), "skin-rejuvenation")),
                                       (1, PlanRequest(intakes[2].id, first, "skin-rejuvenation")),
                                       (2, PlanRequest(intakes[3].id, first, "skin-rejuvenation", sessions=3))])
    assert result.refused == []
    batch = dict(result.started)
    db.expire_all()
    expected = _picture(db, runtime, single)
    assert _picture(db, runtime, batch[1]) == expected
    # Its neighbours, one sharing its slot, did not leak into it: they are other plans.
    assert _picture(db, runtime, batch[0]) != expected and _picture(db, runtime, batch[2]) != expected
    _, _, outbox, _, jobs = expected
    assert {row[7] for row in outbox} >= {MessageStatus.QUEUED, MessageStatus.PENDING, MessageStatus.SKIPPED}
    assert [kind for kind, _ in jobs] == [MessageKind.PLAN_CONFIRMATION, MessageKind.REMINDER]
    # Segments as the outbox counts them for any row: texts by their body, none for calls.
    assert all((seg is None) == (channel is Channel.VOICE) for _, _, channel, _, _, _, _, _, _, _, seg, *_ in outbox)
    assert all(seg == row_segments(channel, body) for _, _, channel, _, body, _, _, _, _, _, seg, *_ in outbox)
    # Stored in the store's own form: the reconciler's "due before" queries find every row by its time.
    for row in db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == batch[1])):
        assert db.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.due_at == row.due_at, OutboxMessage.created_at == now,
            OutboxMessage.kind == row.kind)) == 1


def _stored(db, plan_id):
    """Every column of a plan's own rows (plan, sessions, outbox, audit) but those naming the plan or client."""
    ids = ("id", "plan_id", "session_id", "client_id", "to_number", "intake_id")
    stored = []
    for model, link in ((Plan, "id"), (TreatmentSession, "plan_id"), (OutboxMessage, "plan_id"), (AuditEvent, "plan_id")):
        table = model.__table__
        rows = db.execute(select(*(c for c in table.columns if c.name not in ids)).where(table.c[link] == plan_id)).all()
        stored.append(sorted(tuple(repr(v) for v in row) for row in rows))
    return stored


def test_rows_written_below_sqlalchemy_read_the_same_as_rows_inserted(db, clinic, runtime, monkeypatch):
    # PostgreSQL's COPY and SQLite's own executemany take converted values: what they store must be
    # exactly what SQLAlchemy's typed inserts store, column by column.
    from glowline.store import raw_rows

    assert raw_rows.supported(db)
    intakes = _intakes(db, clinic, 2)
    # What COPY's text format must escape (a tab, a backslash, a line break) and accents, in every reminder.
    clinic.templates = {"reminder": "Hola\tde {clinic}\\\nsesión {date} {time}"}
    db.commit()
    now = runtime.clock.now()
    first = now + timedelta(hours=25, minutes=30)
    requests = [(0, PlanRequest(intakes[0].id, first, "skin-rejuvenation"))]
    raw = start_plans(db, runtime, clinic=clinic, requests=requests, actor="test", now=now).started[0][1]
    monkeypatch.setattr(raw_rows, "supported", lambda _db: False)
    monkeypatch.setattr(raw_rows, "reserves_ids", lambda _db: False)
    requests = [(0, PlanRequest(intakes[1].id, first, "skin-rejuvenation"))]
    inserted = start_plans(db, runtime, clinic=clinic, requests=requests, actor="test", now=now).started[0][1]
    db.commit()
    assert _stored(db, raw) == _stored(db, inserted)
    bodies = db.scalars(select(OutboxMessage.body).where(OutboxMessage.plan_id == raw)).all()
    assert any(body.startswith("Hola\tde Glow") and "\\\nsesión" in body for body in bodies)


def test_a_refused_item_in_the_middle_is_reported_by_index_and_the_rest_start(api, db, clinic):
    first, second = _intakes(db, clinic, 2)
    no_consent = make_intake(db, clinic, phone="+12125554999", consent=False)
    response = api({"plans": [_item(first.id), _item(no_consent.id), _item(999_999),
                              _item(second.id, first_session_at="2026-12-32T10:00:00-05:00"), _item(second.id)]})
    assert response.status_code == 200, response.json
    assert [s["index"] for s in response.json["started"]] == [0, 4]
    refused = response.json["refused"]
    assert [(r["index"], r["status"]) for r in refused] == [(1, 409), (2, 404), (3, 400)]
    assert refused[0]["field"] == "consent" and refused[2]["field"] == "first_session_at"
    db.expire_all()
    assert sorted(p.intake_id for p in db.scalars(select(Plan))) == sorted([first.id, second.id])
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.client_id == no_consent.client_id)) == 0
    assert db.get(type(no_consent), no_consent.id).status is IntakeStatus.COMPLETE


def test_nothing_is_enqueued_when_the_commit_fails(db, clinic, runtime):
    intakes = _intakes(db, clinic, 3)
    now = runtime.clock.now()

    def refuse_commit(_session):
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    session = runtime.sessions()
    event.listen(session, "before_commit", refuse_commit)
    start_plans(session, runtime, clinic=session.get(type(clinic), clinic.id), actor="test", now=now,
                requests=[(n, PlanRequest(i.id, now + timedelta(days=30))) for n, i in enumerate(intakes)])
    with pytest.raises(OperationalError):
        session.commit()
    session.rollback()
    event.remove(session, "before_commit", refuse_commit)
    session.commit()  # a later commit of the same session must not run the lost batch's enqueue
    session.close()
    assert _jobs(runtime) == []
    assert db.scalars(select(Plan)).all() == [] and db.scalars(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("body", [{}, {"plans": []}, {"plans": {"intake_id": 1}}, {"plans": [], "extra": 1}])
def test_a_bad_envelope_is_400_and_starts_nothing(api, db, clinic, body):
    response = api(body)
    assert response.status_code == 400 and response.json["error"]
    assert db.scalars(select(Plan)).all() == []


def test_more_than_ten_thousand_items_are_refused_whole(api, db, clinic):
    intake = _intakes(db, clinic, 1)[0]
    response = api({"plans": [_item(intake.id)] * 10_001})
    assert response.status_code == 400 and response.json["field"] == "plans"
    assert db.scalars(select(Plan)).all() == []


def _env(config):
    return {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
            "GLOWLINE_VAR_DIR": str(config.var_dir)}


def test_plan_import_starts_each_row_reports_refusals_by_line_and_sums_up(config, db, clinic, tmp_path):
    good = _intakes(db, clinic, 2)
    no_consent = make_intake(db, clinic, phone="+12125554999", consent=False)
    csv_file = tmp_path / "plans.csv"
    csv_file.write_text("intake,first,protocol,sessions,interval\n"
                        f"{good[0].id},2030-12-03 10:00,,,\n"
                        f"{no_consent.id},2030-12-03 11:00,,,\n"
                        f"{good[1].id},2030-12-04 09:30,skin-rejuvenation,4,6\n"
                        "abc,2030-12-03 10:00,,,\n"
                        f"{good[0].id},someday,,,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "import", str(csv_file), "--clinic", str(clinic.id)], env=_env(config))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "2 plans started, 3 refused, 5 rows in " + str(csv_file)
    assert "5/5 rows" in lines or "3/3 rows" in lines  # plain progress lines: the output is not a terminal
    refusals = [line for line in lines if line.startswith("line ")]
    assert [r.split(":")[0] for r in refusals] == ["line 3", "line 5", "line 6"]
    assert "consent" in refusals[0] and "intake" in refusals[1] and "someday" in refusals[2]
    plans = db.scalars(select(Plan).order_by(Plan.id)).all()
    assert [p.intake_id for p in plans] == [good[0].id, good[1].id]
    assert (plans[1].session_count, plans[1].interval_weeks) == (4, 6)
    assert all(p.created_by.startswith("cli ") for p in plans)


def test_plan_import_without_the_needed_columns_changes_nothing(config, db, clinic, tmp_path):
    csv_file = tmp_path / "plans.csv"
    csv_file.write_text("client,when\n1,2030-12-03 10:00\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "import", str(csv_file), "--clinic", str(clinic.id)], env=_env(config))
    assert result.exit_code == 2 and "missing column(s) intake, first" in result.output
    assert db.scalars(select(Plan)).all() == []
