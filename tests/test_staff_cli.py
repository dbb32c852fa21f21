"""``glowline plan start`` and ``glowline plan show``."""

from click.testing import CliRunner
from sqlalchemy import select

from glowline.store.models import IntakeStatus, Plan
from tests.helpers import make_intake
from cli.main import main


def _env(config):
    return {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
            "GLOWLINE_VAR_DIR": str(config.var_dir)}


def test_plan_start_and_show(config, db, clinic):
    intake = make_intake(db, clinic, concern="acne scars")
    result = CliRunner().invoke(main, ["plan", "start", "--intake", str(intake.id), "--first", "2030-12-03 10:00",
                                       "--sessions", "5", "--interval", "6"], env=_env(config))
    assert result.exit_code == 0, result.output
    plan = db.scalar(select(Plan))
    assert result.output.startswith(f"Plan {plan.id} started for intake {intake.id}: Acne scarring")
    assert "1) Tue Dec 3 2030, 10:00 AM" in result.output
    db.refresh(intake)
    assert intake.status is IntakeStatus.PLANNED and plan.created_by.startswith("cli ")

    shown = CliRunner().invoke(main, ["plan", "show", str(plan.id)], env=_env(config))
    assert shown.exit_code == 0, shown.output
    assert "session 5:" in shown.output and "plan_confirmation" in shown.output and "queued" in shown.output


def test_plan_start_refusals_are_one_line(config, db, clinic):
    intake = make_intake(db, clinic)
    for args, expected in [(["--intake", "999", "--first", "2030-12-03 10:00"], "intake 999 not found"),
                           (["--intake", str(intake.id), "--first", "2020-12-03 10:00"], "is in the past"),
                           (["--intake", str(intake.id), "--first", "2030-12-03 10:00", "--protocol", "nope"],
                            "unknown protocol 'nope'")]:
        result = CliRunner().invoke(main, ["plan", "start", *args], env=_env(config))
        assert result.exit_code == 2 and expected in result.output, result.output
    assert db.scalars(select(Plan)).all() == []
    missing = CliRunner().invoke(main, ["plan", "show", "42"], env=_env(config))
    assert missing.exit_code == 2 and "plan 42 not found" in missing.output
