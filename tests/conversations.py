"""A client's side of a conversation, for tests: texting the app and calling it, as Twilio does.

Both go through the real signed webhooks (``/twilio/sms``, ``/twilio/voice``) with the test
app's client, and read back what the client would see or hear.
"""

from __future__ import annotations

import itertools
from xml.etree import ElementTree

from sqlalchemy import select

from glowline.store.models import Client, Intake
from tests.helpers import CLINIC_NUMBER, PUBLIC_BASE_URL, gather_of, parse_twiml, said, twilio_post

CLIENT = "+12125550142"
CALLER = "+12125550111"
_sids = itertools.count(1)


def sms(client, body: str, *, sender: str = CLIENT, to: str = CLINIC_NUMBER, sid: str | None = None, **extra):
    """Text the app like Twilio does; returns (HTTP status, reply text)."""
    params = {"MessageSid": sid or f"SM{next(_sids):032x}", "AccountSid": "AC" + "0" * 32, "From": sender,
              "To": to, "Body": body, "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01",
              **extra}
    response = twilio_post(client, "/twilio/sms", params)
    if response.status_code != 200:
        return response.status_code, None
    root = ElementTree.fromstring(response.data)
    return 200, "\n\n".join("".join(m.itertext()) for m in root.iter("Message"))


def intake_of(runtime, phone: str = CLIENT) -> Intake:
    """The texter's latest intake, read in a session of its own."""
    with runtime.sessions() as s:
        return s.scalars(select(Intake).join(Client).where(Client.phone == phone).order_by(Intake.id.desc())).first()


class Call:
    """One phone call into the clinic: each step posts to the Gather action the last answer named."""

    def __init__(self, client, sid: str, caller: str = CALLER, to: str = CLINIC_NUMBER):
        self.client, self.sid, self.caller, self.to = client, sid, caller, to
        self.action: str | None = None
        self.root = None

    def form(self, **extra) -> dict:
        return {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller, "To": self.to,
                "CallStatus": "in-progress", "Direction": "inbound", **extra}

    def start(self):
        return self._take(twilio_post(self.client, "/twilio/voice", self.form()))

    def post_raw(self, **extra):
        assert self.action and self.action.startswith(PUBLIC_BASE_URL)
        return twilio_post(self.client, self.action.removeprefix(PUBLIC_BASE_URL), self.form(**extra))

    def press(self, digits: str):
        return self._take(self.post_raw(Digits=digits))

    def say(self, words: str, confidence: float = 0.93):
        return self._take(self.post_raw(SpeechResult=words, Confidence=str(confidence)))

    def silence(self):
        return self._take(self.post_raw())

    def _take(self, response):
        self.root = parse_twiml(response)
        gather = gather_of(self.root)
        self.action = gather.get("action") if gather is not None else None
        return self.root

    @property
    def text(self) -> str:
        return said(self.root)

    @property
    def ended(self) -> bool:
        return self.action is None and self.root[-1].tag == "Hangup"


def call_intake_of(db, phone: str = CALLER) -> Intake:
    """The caller's latest intake, read fresh."""
    db.expire_all()
    return db.scalar(select(Intake).join(Client).where(Client.phone == phone).order_by(Intake.id.desc()))
