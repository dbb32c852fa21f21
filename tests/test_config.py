"""Configuration: defaults that run on a laptop, and one clear line for every bad setting."""

import pytest

from glowline.config import Config
from glowline.exceptions import ConfigError


LIVE = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "x" * 32, "SECRET_KEY": "s" * 32,
        "PUBLIC_BASE_URL": "https://clinic.example.com"}


def test_live_twilio_settings_are_accepted():
    config = Config.from_env(LIVE)
    assert config.twilio_enabled and config.verify_signatures
    assert config.public_base_url == "https://clinic.example.com"


def test_defaults_run_locally_without_twilio(tmp_path):
    config = Config.from_env({"GLOWLINE_VAR_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'glowline.sqlite3'}"
    assert config.embedded_redis
    assert not config.twilio_enabled
    assert config.verify_signatures
    assert config.schedule_horizon_hours == 24
    assert config.twilio_timeout < config.job_timeout


def test_postgres_url_gets_the_installed_driver():
    config = Config.from_env({"DATABASE_URL": "postgresql://app@db.internal:5432/glow"})
    assert config.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("env, named", [
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
    ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://localhost:notaport/0"}, "REDIS_URL"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_AUTH_TOKEN": "x" * 32}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "bogus", "TWILIO_AUTH_TOKEN": "x"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "x" * 32}, "SECRET_KEY"),
    ({"PUBLIC_BASE_URL": "clinic.example.com"}, "PUBLIC_BASE_URL"),
    (dict(LIVE, PUBLIC_BASE_URL=""), "PUBLIC_BASE_URL"),
    (dict(LIVE, PUBLIC_BASE_URL="http://clinic.example.com"), "PUBLIC_BASE_URL"),
    (dict(LIVE, TWILIO_VERIFY_SIGNATURES="false"), "TWILIO_VERIFY_SIGNATURES"),
    ({"TWILIO_HTTP_TIMEOUT": "40"}, "TWILIO_HTTP_TIMEOUT"),
    ({"JOB_TIMEOUT": "10"}, "TWILIO_HTTP_TIMEOUT"),
    ({"SCHEDULE_HORIZON_HOURS": "soon"}, "SCHEDULE_HORIZON_HOURS"),
    ({"SCHEDULE_HORIZON_HOURS": "0"}, "SCHEDULE_HORIZON_HOURS"),
    ({"TWILIO_HTTP_TIMEOUT": "-1"}, "TWILIO_HTTP_TIMEOUT"),
    ({"TWILIO_VERIFY_SIGNATURES": "maybe"}, "TWILIO_VERIFY_SIGNATURES"),
])
def test_bad_setting_is_refused_naming_it(env, named):
    with pytest.raises(ConfigError) as info:
        Config.from_env(env)
    message = str(info.value)
    assert message.startswith(named)
    assert "\n" not in message


@pytest.mark.parametrize("sid", ["AC" + "z" * 32, "AC" + "1" * 31, "SK" + "1" * 32, "ac" + "1" * 32, "x" * 34])
def test_an_account_sid_must_be_ac_and_32_hex_digits(sid):
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID: expected AC followed by 32 hexadecimal digits"):
        Config.from_env({**LIVE, "TWILIO_ACCOUNT_SID": sid})
