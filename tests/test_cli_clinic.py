"""The command line manages clinics, staff logins and API tokens."""

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.security import check_password_hash

from glowline.clinics.service import hash_token
from glowline.store.models import ApiToken, Clinic, StaffUser
from cli.main import main


def _env(config):
    return {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
            "GLOWLINE_VAR_DIR": str(config.var_dir)}


def test_clinic_add_stores_numbers_in_e164(config, db):
    result = CliRunner().invoke(main, [
        "clinic", "add", "--name", "Glow Clinic", "--number", "(212) 555-0100", "--staff", "+1 212 555 0199",
        "--staff", "2125550198", "--timezone", "America/New_York", "--quiet-start", "19:30",
    ], env=_env(config))
    assert result.exit_code == 0, result.output
    clinic = db.scalar(select(Clinic))
    assert [n.number for n in clinic.numbers] == ["+12125550100"]
    assert sorted(s.number for s in clinic.staff_phones) == ["+12125550198", "+12125550199"]
    assert clinic.timezone == "America/New_York"
    assert (clinic.quiet_start.hour, clinic.quiet_start.minute) == (19, 30)


def test_clinic_add_refuses_bad_zone_and_changes_nothing(config, db):
    result = CliRunner().invoke(main, ["clinic", "add", "--name", "X", "--number", "+12125550100",
                                       "--timezone", "Mars/Olympus"], env=_env(config))
    assert result.exit_code == 2
    assert "timezone" in result.output and "Mars/Olympus" in result.output
    assert db.scalar(select(Clinic)) is None


def test_clinic_number_cannot_belong_to_two_clinics(config, db):
    args = ["clinic", "add", "--name", "A", "--number", "+12125550100", "--timezone", "America/Chicago"]
    assert CliRunner().invoke(main, args, env=_env(config)).exit_code == 0
    second = CliRunner().invoke(main, [*args[:2], "--name", "B", *args[4:]], env=_env(config))
    assert second.exit_code == 2
    assert "already belongs" in second.output


def test_staff_password_and_api_token_are_stored_hashed(config, db, clinic):
    env = _env(config)
    added = CliRunner().invoke(main, ["staff", "add", "--clinic", str(clinic.id), "--username", "frontdesk"],
                               input="correct horse battery\ncorrect horse battery\n", env=env)
    assert added.exit_code == 0, added.output
    user = db.scalar(select(StaffUser))
    assert user.password_hash != "correct horse battery"
    assert check_password_hash(user.password_hash, "correct horse battery")

    created = CliRunner().invoke(main, ["token", "create", "--clinic", str(clinic.id), "--name", "booking"], env=env)
    assert created.exit_code == 0, created.output
    plain = created.stdout.strip().splitlines()[0]
    stored = db.scalar(select(ApiToken))
    assert stored.token_hash == hash_token(plain)
    assert plain not in stored.token_hash


def test_clinic_set_changes_message_settings_and_refuses_bad_templates(config, db, clinic):
    env = _env(config)
    changed = CliRunner().invoke(main, [
        "clinic", "set", "--clinic", str(clinic.id), "--quiet-start", "19:30", "--reminders", "72,24,2",
        "--template", "reminder={clinic}: see you {date} at {time}. Call {phone}.", "--voice-fallback",
        "--voice-retry-minutes", "30"], env=env)
    assert changed.exit_code == 0, changed.output
    db.expire_all()
    stored = db.get(Clinic, clinic.id)
    assert stored.quiet_start.hour == 19 and stored.reminder_offsets_hours == [72, 24, 2]
    assert stored.templates["reminder"].startswith("{clinic}: see you")
    assert stored.voice_fallback and stored.voice_retry_minutes == 30

    bad = CliRunner().invoke(main, ["clinic", "set", "--clinic", str(clinic.id), "--quiet-end", "09:00",
                                    "--template", "reminder=Hi {nickname}"], env=env)
    assert bad.exit_code == 2 and "nickname" in bad.output
    db.expire_all()
    stored = db.get(Clinic, clinic.id)
    assert stored.quiet_end.hour == 8  # nothing changed
    assert "{nickname}" not in stored.templates["reminder"]


def test_clinic_set_staff_hours_and_the_evening_aftercare_limit(config, db, clinic):
    env = _env(config)
    changed = CliRunner().invoke(main, ["clinic", "set", "--clinic", str(clinic.id), "--staff-hours", "09:00-18:30",
                                        "--aftercare-until", "20:30"], env=env)
    assert changed.exit_code == 0, changed.output
    assert "staff hours 09:00-18:30, evening aftercare until 20:30" in changed.output
    for args, expected in [(["--staff-hours", "18:00-09:00"], "the start must be before the end"),
                           (["--staff-hours", "9am"], "expected HH:MM-HH:MM"),
                           (["--aftercare-until", "23:30"], "between 20:00 and 22:00")]:
        bad = CliRunner().invoke(main, ["clinic", "set", "--clinic", str(clinic.id), *args], env=env)
        assert bad.exit_code == 2 and expected in bad.output, bad.output
    db.expire_all()
    stored = db.get(Clinic, clinic.id)
    assert (f"{stored.staff_hours_start:%H:%M}", f"{stored.staff_hours_end:%H:%M}",
            f"{stored.aftercare_evening_until:%H:%M}") == ("09:00", "18:30", "20:30")


def test_preview_uses_a_clinics_own_reminders_and_creates_nothing(config, db, clinic):
    from glowline.store.models import OutboxMessage, Plan

    clinic.reminder_offsets_hours = [24]
    db.commit()
    result = CliRunner().invoke(main, ["preview", "--protocol", "acne-scarring", "--first", "2027-01-05 10:00",
                                       "--sessions", "4", "--clinic", str(clinic.id)], env=_env(config))
    assert result.exit_code == 0, result.output
    assert "reminder-24h" in result.output and "reminder-48h" not in result.output
    assert "Glow Clinic:" in result.output
    assert db.scalar(select(Plan)) is None and db.scalar(select(OutboxMessage)) is None


@pytest.mark.parametrize("flag, value, named", [
    ("--quiet-start", "21:00", "quiet_start"),   # would text at 20:30
    ("--quiet-end", "07:00", "quiet_end"),       # would text at 07:30
    ("--quiet-start", "08:00", "quiet_start"),   # start == end: no quiet hours at all
])
def test_quiet_hours_may_be_stricter_never_looser_than_8pm_to_8am(config, db, flag, value, named):
    result = CliRunner().invoke(main, ["clinic", "add", "--name", "Loud", "--number", "+12125550100",
                                       "--timezone", "America/New_York", flag, value], env=_env(config))
    assert result.exit_code == 2 and named in result.output, result.output
    assert db.scalar(select(Clinic)) is None


@pytest.mark.parametrize("args, named", [
    (["clinic", "add", "--name", "x" * 121, "--number", "+12125550100", "--timezone", "America/New_York"], "name"),
    (["token", "create", "--clinic", "1", "--name", "y" * 81], "name"),
])
def test_over_long_names_are_refused_with_a_clear_error(config, db, clinic, args, named):
    result = CliRunner().invoke(main, args, env=_env(config))
    assert result.exit_code == 2 and result.output.startswith(f"error: {named}:"), result.output


def test_clinic_hours_sets_the_calendar_and_bad_hours_change_nothing(config, db):
    from glowline.clinics.hours import describe_calendar
    from tests.helpers import make_clinic

    clinic = make_clinic(db)
    args = ["clinic", "hours", "--clinic", str(clinic.id), "--hours", "mon-fri 09:00-17:00; sat 10:00-14:00",
            "--capacity", "2", "--closed", "2026-12-25", "--require-attended"]
    result = CliRunner().invoke(main, args, env=_env(config))
    assert result.exit_code == 0, result.output
    assert "rebooking by text on" in result.output and "held until attended" in result.output
    db.expire_all()
    shown = describe_calendar(db, db.get(Clinic, clinic.id))
    assert shown == {"hours": "mon 09:00-17:00; tue 09:00-17:00; wed 09:00-17:00; thu 09:00-17:00; "
                              "fri 09:00-17:00; sat 10:00-14:00", "closed": ["2026-12-25"], "capacity": 2}
    bad = CliRunner().invoke(main, ["clinic", "hours", "--clinic", str(clinic.id), "--hours", "fri-mon 9:00-17:00"],
                             env=_env(config))
    assert bad.exit_code != 0 and "runs backwards" in bad.output
    db.expire_all()
    assert describe_calendar(db, db.get(Clinic, clinic.id))["hours"].startswith("mon 09:00-17:00")
    cleared = CliRunner().invoke(main, ["clinic", "hours", "--clinic", str(clinic.id), "--clear"], env=_env(config))
    assert "rebooking by text off" in cleared.output
