"""Twilio signatures on POST /twilio/sms: only a genuine request is stored or answered."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from glowline.store.models import Client, InboundMessage, Intake
from tests.helpers import AUTH_TOKEN, CLINIC_NUMBER, PUBLIC_BASE_URL, sign, twilio_post

PARAMS = {"MessageSid": "SM" + "c" * 32, "AccountSid": "AC" + "0" * 32, "From": "+12125550142",
          "To": CLINIC_NUMBER, "Body": "hi", "NumMedia": "0"}


def stored(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (InboundMessage, Client, Intake))


def test_valid_signature_is_answered_and_stored(client, runtime, clinic):
    response = twilio_post(client, "/twilio/sms", PARAMS)
    assert response.status_code == 200 and b"Glow Clinic" in response.data
    assert stored(runtime) == (1, 1, 1)


def test_unknown_extra_fields_are_accepted(client, runtime, clinic):
    response = twilio_post(client, "/twilio/sms", {**PARAMS, "FromCity": "NEW YORK", "SomethingNew": "x"})
    assert response.status_code == 200


def test_repeated_parameters_are_all_part_of_the_signature(client, runtime, clinic):
    # Twilio signs every value of a repeated field (name+value pairs, sorted).
    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    # An unknown field (Twilio adds them without notice) given twice: both values are signed.
    form = MultiDict([*list(PARAMS.items()), ("FromCity", "NEW YORK"), ("FromCity", "BROOKLYN")])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + "/twilio/sms", form)
    assert client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}).status_code == 200
    assert stored(runtime) == (1, 1, 1)


def test_missing_signature_is_403(client, runtime, clinic):
    response = client.post("/twilio/sms", data=PARAMS)
    assert response.status_code == 403
    assert stored(runtime) == (0, 0, 0)


def test_signed_with_the_wrong_token_is_403(client, runtime, clinic):
    assert twilio_post(client, "/twilio/sms", PARAMS, token="not-the-token").status_code == 403
    assert stored(runtime) == (0, 0, 0)


def test_one_changed_parameter_is_403(client, runtime, clinic):
    signature = sign(PUBLIC_BASE_URL + "/twilio/sms", PARAMS)
    tampered = {**PARAMS, "Body": "STOP"}
    response = client.post("/twilio/sms", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert stored(runtime) == (0, 0, 0)


@pytest.mark.parametrize("signed_url", [
    "http://clinic.example.test/twilio/sms",         # the proxy's view: plain http
    "https://clinic.example.test:8443/twilio/sms",   # an internal port
    "https://clinic.example.test/twilio/sms?x=1",    # a query Twilio did not call
    "https://other.example.test/twilio/sms",
])
def test_signature_for_another_url_is_403(client, runtime, clinic, signed_url):
    response = client.post("/twilio/sms", data=PARAMS,
                           headers={"X-Twilio-Signature": sign(signed_url, PARAMS)})
    assert response.status_code == 403
    assert stored(runtime) == (0, 0, 0)


def test_request_seen_as_plain_http_behind_a_proxy_still_verifies(client, runtime, clinic):
    # The test client serves http://localhost; only PUBLIC_BASE_URL (https) is signed, as Twilio does.
    response = client.post("/twilio/sms", base_url="http://10.0.0.5:8000", data=PARAMS,
                           headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/twilio/sms", PARAMS)})
    assert response.status_code == 200


def test_verification_off_is_for_local_simulation_and_says_so(runtime, clinic, caplog):
    from webhooks import create_app

    runtime.config = runtime.config.with_(verify_signatures=False)
    with caplog.at_level("WARNING"):
        app = create_app({"RUNTIME": runtime, "TESTING": True})
    assert "SIGNATURE VERIFICATION IS OFF" in caplog.text
    assert app.test_client().post("/twilio/sms", data=PARAMS).status_code == 200



@pytest.mark.parametrize("account", ["AC" + "1" * 32, "", None])
def test_a_signed_webhook_for_another_account_is_refused_and_nothing_stored(client, runtime, clinic, account):
    params = {k: v for k, v in PARAMS.items() if k != "AccountSid"}
    if account is not None:
        params["AccountSid"] = account
    signature = sign(PUBLIC_BASE_URL + "/twilio/sms", params)
    assert client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}).status_code == 403
    assert stored(runtime) == (0, 0, 0)
