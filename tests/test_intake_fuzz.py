"""Random bodies through the real endpoint: never a 5xx, never a corrupt intake."""

from __future__ import annotations

import itertools
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy import select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from glowline.store.models import InboundMessage, Intake, IntakeStatus
from tests.helpers import ACCOUNT_SID, CLINIC_NUMBER, PUBLIC_BASE_URL, sign

_sids = itertools.count(1)
WORDS = ["yes", "no", "1", "2", "9", "BACK", "RESTART", "STOP", "START", "HELP", "Maria", "face neck", "🙂", "👍",
         "one", "acne", "", " ", "\x00", "1)", "y", "n"]
bodies = st.one_of(
    st.sampled_from(WORDS).map(lambda w: w.encode()),
    st.text(max_size=1600).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),  # invalid UTF-8 on the wire
    st.text(alphabet="🙂👍💉\x00\u200b\ufeff ", max_size=50).map(str.encode),
)


def post_raw(client, sender: str, body: bytes, media: int):
    sid = f"SM{next(_sids):032x}"
    raw = (f"MessageSid={sid}&AccountSid={ACCOUNT_SID}&From=%2B{sender[1:]}&To=%2B{CLINIC_NUMBER[1:]}&NumMedia={media}&Body="
           .encode() + quote_from_bytes(body).encode())
    # Sign the parameters as the framework decodes them (it keeps undecodable bytes percent-encoded).
    environ = EnvironBuilder(method="POST", data=raw, content_type="application/x-www-form-urlencoded").get_environ()
    params = Request(environ).form.to_dict()
    return client.post("/twilio/sms", data=raw, content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/twilio/sms", params)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(bodies, st.sampled_from([0, 0, 0, 1])), min_size=1, max_size=8))
def test_random_bodies_never_5xx_nor_corrupt(client, runtime, clinic, texts):
    sender = f"+1646555{next(_sids) % 10000:04d}"  # a new client per example walks a fresh intake
    for body, media in texts:
        response = post_raw(client, sender, body, media)
        assert response.status_code == 200, response.data
    schema = runtime.schemas["intake"]
    properties = schema.schema["properties"]
    with runtime.sessions() as s:
        for intake in s.scalars(select(Intake)):
            for name, value in intake.answers.items():
                assert name in properties and Draft202012Validator(properties[name]).is_valid(value)
            if intake.status is IntakeStatus.IN_PROGRESS:
                assert intake.current_field in properties and intake.misses < 3
            if intake.status is IntakeStatus.COMPLETE:
                schema.check(intake.answers)
        stored = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert stored.reply is not None and "\x00" not in stored.body
