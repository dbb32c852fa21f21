"""Starting plans in bulk: POST /api/plans:batch and ``glowline plan import``, item by item like single starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from cli.main import main
from glowline.clinics.audit import AuditAction
from glowline.clinics.service import create_api_token
from glowline.plans.bulk import PlanRequest, start_plans
from glowline.store.models import AuditEvent, IntakeStatus, MessageKind, MessageStatus, OutboxMessage, Plan
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
