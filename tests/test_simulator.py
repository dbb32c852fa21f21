"""`glowline text`: a person walks the intake from a terminal through the real, signed webhook."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.serving import make_server

from glowline.store.models import Client, Intake, IntakeStatus
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, CLINIC_NUMBER, PUBLIC_BASE_URL
from cli.main import main
from cli.simulator import new_message_sid, replies_of, send_text


@pytest.fixture
def server(app):
    """The app on a real HTTP server in a thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def env(config):
    return {"DATABASE_URL": config.database_url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "SECRET_KEY": "test-secret-key-0123456789", "REDIS_URL": ""}


def text(env, server, *args, input=None):
    result = CliRunner().invoke(main, ["text", *args, "--url", server], env=env, input=input)
    return result


def test_sid_looks_like_twilio():
    sid = new_message_sid()
    assert sid.startswith("SM") and len(sid) == 34 and sid != new_message_sid()


def test_walk_the_whole_intake_from_the_command_line(server, env, runtime, clinic):
    steps = [("hi", "Reply YES or NO"), ("yes", "first name"), ("Maria", "Nice to meet you, Maria!"),
             ("purple", "number from 1 to 9"), ("2", "Which area"), ("BACK", "What would you most like"),
             ("dark spots", "Which area"), ("1", "send a photo"), ("skip", "pregnant"), ("no", "isotretinoin"),
             ("no", "cold sores"), ("no", "keloid"), ("no", "blood thinners"), ("no", "remind you"), ("1", "which days"),
             ("saturday mornings", "Thank you, Maria!")]
    for body, expected in steps:
        result = text(env, server, "+15551234567", body)  # --to defaults to the first clinic's number
        assert result.exit_code == 0, result.output
        assert expected in result.output
    with runtime.sessions() as s:
        intake = s.scalars(select(Intake).join(Client).where(Client.phone == "+15551234567")).one()
    assert intake.status is IntakeStatus.COMPLETE
    runtime.schemas["intake"].check(intake.answers)


def test_interactive_mode(server, env, runtime, clinic):
    result = text(env, server, "+15551234567", "--to", CLINIC_NUMBER, input="hello\nyes\n\n")
    assert result.exit_code == 0, result.output
    assert "Reply YES or NO" in result.output and "first name" in result.output


def test_a_wrong_token_is_refused_by_the_app(server, runtime, clinic):
    status, replies = send_text(url=server, public_url=PUBLIC_BASE_URL, token="wrong", from_number="+15551234567",
                                to_number=CLINIC_NUMBER, body="hi")
    assert (status, replies) == (403, [])


def test_unknown_clinic_number_is_reported(server, env, runtime, clinic):
    result = text(env, server, "+15551234567", "hi", "--to", "+12125550111")
    assert result.exit_code != 0 and "HTTP 404" in result.output


def test_replies_of_reads_every_message():
    assert replies_of("<Response><Message>a</Message><Message>b</Message></Response>") == ["a", "b"]
    assert replies_of("<Response />") == []
