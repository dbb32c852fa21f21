"""The inbound contract: signed requests Twilio never sends get a 400, change nothing, and leak nothing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from glowline.store.models import Client, ConsentEvent, InboundMessage, Intake, MessageEvent, MessageStatus, OutboxMessage
from tests.helpers import CLINIC_NUMBER, PUBLIC_BASE_URL, make_client, make_message, sign, twilio_post

ACCOUNT = "AC" + "0" * 32
CALLER = "+12125550142"
CANARY_NUMBER = "+15055550177"
SMS_OK = {"MessageSid": "SM" + "a" * 32, "AccountSid": ACCOUNT, "From": CALLER, "To": CLINIC_NUMBER, "Body": "hi",
          "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
CALL_OK = {"CallSid": "CA" + "b" * 32, "AccountSid": ACCOUNT, "From": CALLER, "To": CLINIC_NUMBER,
           "CallStatus": "in-progress", "Direction": "inbound"}
STATUS_OK = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
BIG = str(2**63)


def counts(runtime) -> tuple[int, ...]:
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t))
                     for t in (InboundMessage, Client, Intake, MessageEvent, ConsentEvent))


# Each class of request the adversarial run found (or the contract names): (path, params).
BAD = {
    "NUL in MessageSid": ("/twilio/sms", {**SMS_OK, "MessageSid": "SM" + "a" * 31 + "\x00"}),
    "SID rewrite": ("/twilio/sms", {**{k: v for k, v in SMS_OK.items() if k != "NumMedia"},
                                     "MessageSid": SMS_OK["MessageSid"] + "NumMedia0"}),
    "SID of another kind": ("/twilio/sms", {**SMS_OK, "MessageSid": "CA" + "a" * 32}),
    "From not a number": ("/twilio/sms", {**SMS_OK, "From": "+1 (212) 555-0142; drop"}),
    "NumMedia huge": ("/twilio/sms", {**SMS_OK, "NumMedia": "99999999999"}),
    "Body too long": ("/twilio/sms", {**SMS_OK, "Body": "x" * 1601}),
    "control character in an unknown field": ("/twilio/sms", {**SMS_OK, "FromCity": "NEW\x07YORK"}),
    "AccountSid malformed": ("/twilio/sms", {**SMS_OK, "AccountSid": "AC123"}),
    "no MessageSid": ("/twilio/sms", {k: v for k, v in SMS_OK.items() if k != "MessageSid"}),
    "status: NUL in MessageStatus": ("/twilio/status", {**STATUS_OK, "MessageStatus": "deliv\x00ered"}),
    "status: unknown MessageStatus": ("/twilio/status", {**STATUS_OK, "MessageStatus": "teleported"}),
    "status: ErrorCode above 2^31": ("/twilio/status", {**STATUS_OK, "ErrorCode": str(2**31 + 5)}),
    "status: ErrorCode not a number": ("/twilio/status", {**STATUS_OK, "ErrorCode": "not-a-number"}),
    "status: no MessageStatus": ("/twilio/status", {"MessageSid": STATUS_OK["MessageSid"]}),
    "status: message_id above 2^63": (f"/twilio/status?message_id={BIG}", STATUS_OK),
    # Ids are INTEGER (32-bit on PostgreSQL): one past it would make the database raise, not miss.
    "status: message_id above 2^31-1": (f"/twilio/status?message_id={2**31}", STATUS_OK),
    "reminder: message_id above 2^31-1": (f"/twilio/voice/reminder?message_id={2**31}", CALL_OK),
    "voice: NUL in CallSid": ("/twilio/voice", {**CALL_OK, "CallSid": "CA" + "b" * 31 + "\x00"}),
    "voice: CallSid longer than the column": ("/twilio/voice", {**CALL_OK, "CallSid": "CA" + "b" * 200}),
    "voice: no CallSid": ("/twilio/voice", {k: v for k, v in CALL_OK.items() if k != "CallSid"}),
    "gather: NUL in Digits": ("/twilio/voice/gather?step=1", {**CALL_OK, "Digits": "1\x00"}),
    "gather: letters in Digits": ("/twilio/voice/gather?step=1", {**CALL_OK, "Digits": "1; rm"}),
    "gather: Confidence not a fraction": ("/twilio/voice/gather?step=1", {**CALL_OK, "SpeechResult": "yes",
                                                                          "Confidence": "nan"}),
    "gather: step above 2^63": (f"/twilio/voice/gather?step={BIG}", {**CALL_OK, "Digits": "1"}),
    "gather: session_id above 2^63": (f"/twilio/voice/gather?step=1&session_id={BIG}", {**CALL_OK, "Digits": "1"}),
    "reminder: message_id above 2^63": (f"/twilio/voice/reminder?message_id={BIG}", CALL_OK),
    "reminder gather: attempt not a number": ("/twilio/voice/reminder/gather?message_id=1&attempt=x",
                                              {**CALL_OK, "Digits": "1"}),
    "call status: NUL in CallStatus": ("/twilio/voice/status?message_id=1", {**CALL_OK, "CallStatus": "comp\x00"}),
    "call status: ErrorCode above 2^31": ("/twilio/voice/status?message_id=1",
                                          {**CALL_OK, "CallStatus": "failed", "ErrorCode": str(2**31)}),
    "call status: message_id above 2^63": (f"/twilio/voice/status?message_id={BIG}",
                                           {**CALL_OK, "CallStatus": "completed"}),
    "call status: unknown AnsweredBy": ("/twilio/voice/status?message_id=1",
                                        {**CALL_OK, "CallStatus": "completed", "AnsweredBy": "robot"}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_request_twilio_never_sends_is_400_stores_nothing_and_the_next_one_is_answered(
        client, runtime, clinic, caplog, case):
    path, params = BAD[case]
    before = counts(runtime)
    with caplog.at_level(logging.DEBUG):
        response = twilio_post(client, path, params)
    assert response.status_code == 400, response.data
    reason = response.get_data(as_text=True)
    assert reason.startswith("bad request: ") and reason.count("\n") == 1
    assert counts(runtime) == before
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    # The log names the parameter, never its value.
    for name, value in params.items():
        if len(value) > 3 and name not in ("AccountSid", "ApiVersion", "Direction", "SmsStatus"):
            assert value not in caplog.text, name
    assert twilio_post(client, "/twilio/sms", SMS_OK).status_code == 200


def test_a_status_for_a_message_we_sent_is_not_applied_when_it_breaks_the_contract(client, db, clinic, clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    row.status, row.provider_sid = MessageStatus.SENT, STATUS_OK["MessageSid"]
    db.commit()
    assert twilio_post(client, "/twilio/status", {**STATUS_OK, "ErrorCode": str(2**40)}).status_code == 400
    db.expire_all()
    assert db.get(OutboxMessage, row.id).status is MessageStatus.SENT


MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Messages/MM{'d' * 32}/Media/ME{'e' * 32}"


@pytest.mark.parametrize("params", [
    {**SMS_OK, "SomeNewTwilioField": "x", "MediaUrl0": MEDIA_URL, "MediaContentType0": "image/jpeg",
     "FromCity": "NEW YORK"},
    {**SMS_OK, "Body": ""},
    {**SMS_OK, "Body": "line one\nline two\ttabbed 🙂"},
    {**SMS_OK, "MessageSid": "MM" + "d" * 32, "NumMedia": "1"},
    {**SMS_OK, "From": "22395"},  # a short code
])
def test_what_twilio_does_send_is_accepted(client, runtime, clinic, params):
    assert twilio_post(client, "/twilio/sms", params).status_code == 200


@pytest.mark.parametrize("caller", ["anonymous", "client:frontdesk", "+266696687"])
def test_a_hidden_or_app_caller_is_answered_not_refused(client, runtime, clinic, caller):
    assert twilio_post(client, "/twilio/voice", {**CALL_OK, "From": caller}).status_code == 200


def test_a_captured_start_rewritten_after_stop_is_refused_and_the_client_stays_opted_out(client, runtime, clinic):
    start = {**SMS_OK, "MessageSid": "SM" + "1" * 32, "Body": "START"}
    assert twilio_post(client, "/twilio/sms", start).status_code == 200
    stop = {**SMS_OK, "MessageSid": "SM" + "2" * 32, "Body": "STOP"}
    assert twilio_post(client, "/twilio/sms", stop).status_code == 200

    # The rewrite signs exactly as the captured START did: Twilio joins names and values with no separator.
    signature = sign(PUBLIC_BASE_URL + "/twilio/sms", start)
    rewritten = {k: v for k, v in start.items() if k != "NumMedia"}
    rewritten["MessageSid"] = start["MessageSid"] + "NumMedia0"
    assert sign(PUBLIC_BASE_URL + "/twilio/sms", rewritten) == signature
    response = twilio_post(client, "/twilio/sms", rewritten, signature=signature)
    assert response.status_code == 400 and b"MessageSid" in response.data

    with runtime.sessions() as s:
        person = s.scalar(select(Client).where(Client.phone == CALLER))
        assert person.opted_out_at is not None
        actions = s.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all()
        assert actions[-1] == "opt_out"
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2
