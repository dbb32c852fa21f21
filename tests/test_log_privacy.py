"""No patient data in any log line, even when the database fails under a request."""

from __future__ import annotations

import logging

from sqlalchemy import select

from glowline.redaction import scrub
from glowline.store.models import HandledAs, InboundMessage
from tests.helpers import CLINIC_NUMBER, said, parse_twiml, table_gone, twilio_post

CANARY_PHONE = "+15055550177"
CANARY_NAME = "Quillonette"
CANARY_BODY = f"I am {CANARY_NAME}, I had a reaction to isotretinoin-canary-7731"
CANARIES = (CANARY_PHONE, CANARY_PHONE[2:], "505-555-0177", CANARY_NAME, "canary-7731")


def leaked(output: str) -> list[str]:
    return [c for c in CANARIES if c in output]


def test_a_database_failure_under_an_inbound_text_or_call_logs_no_number_and_no_body(runtime, clinic, config,
                                                                                     caplog, capfd):
    from webhooks import create_app
    from workers import jobs

    # PROPAGATE_EXCEPTIONS off: the production path, where Flask logs an unhandled exception itself.
    app = create_app({"RUNTIME": runtime, "TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    http = app.test_client()
    text = {"MessageSid": "SM" + "7" * 32, "AccountSid": "AC" + "0" * 32, "From": CANARY_PHONE,
            "To": CLINIC_NUMBER, "Body": CANARY_BODY, "NumMedia": "0"}
    call = {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "0" * 32, "From": CANARY_PHONE, "To": CLINIC_NUMBER,
            "SpeechResult": CANARY_BODY, "Confidence": "0.9"}
    with caplog.at_level(logging.DEBUG), table_gone(config.database_url, "inbound_messages"):
        spooled = twilio_post(http, "/twilio/sms", text)  # kept in the inbound spool
        answered = twilio_post(http, "/twilio/voice/gather?step=1", call)  # kept too, for staff to call back
        replayed_too_early = jobs.replay_spool()["spool_replayed"]  # the worker's run while still down
    output = caplog.text + "".join(capfd.readouterr())
    assert spooled.status_code == 200 and "database unavailable" in output
    assert answered.status_code == 200  # valid TwiML: the caller hears an apology in English and Spanish
    spoken = said(parse_twiml(answered))
    assert "could not take your answer" in spoken and "no pudimos recibir su respuesta" in spoken
    assert replayed_too_early == 0
    assert "inbound_messages" in output  # the statement is there to debug with; its values are not
    assert leaked(output) == []

    assert jobs.replay_spool()["spool_replayed"] == 2  # the database is back
    with runtime.sessions() as s:
        step = s.scalars(select(InboundMessage).where(InboundMessage.sid.startswith(call["CallSid"]))).one()
        assert step.handled_as == HandledAs.CALL_OUTAGE.value and step.needs_attention


def test_scrub_hides_numbers_and_sql_values_but_keeps_ids_and_sids():
    pg = ('(psycopg.errors.NotNullViolation) null value in column "x" violates not-null constraint\n'
          "DETAIL:  Failing row contains (1, SM0001, +15055550177, I am Quillonette, null).\n"
          "[SQL: INSERT INTO inbound_messages (sid, from_number, body) VALUES (%s, %s, %s)]\n"
          "[parameters: ('SM0001', '+15055550177', 'I am Quillonette')]")
    scrubbed = scrub(pg)
    assert leaked(scrubbed) == [] and "INSERT INTO inbound_messages" in scrubbed
    assert scrub("Key (phone)=(+15055550177) already exists.") == "Key (phone)=[hidden]"
    assert scrub("call from (505) 555-0177 or 505.555.0177") == "call from [hidden] or [hidden]"
    kept = "outbox 42 sent as SM00000000000000000000000000000042 at 2026-12-01 15:00:00"
    assert scrub(kept) == kept


def test_a_spool_replay_that_stops_logs_the_errors_kind_not_its_words(runtime, caplog, capfd, monkeypatch):
    from workers import inbound, jobs

    def fails(rt):
        raise ValueError(f"could not read {CANARY_BODY!r} from {CANARY_PHONE}")

    monkeypatch.setattr(inbound, "replay_inbound", fails)
    with caplog.at_level(logging.DEBUG):
        assert jobs.replay_spool()["spool_replayed"] == 0
    output = caplog.text + "".join(capfd.readouterr())
    assert "inbound spool replay stopped (ValueError)" in output and leaked(output) == []
