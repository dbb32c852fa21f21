"""The inbound contract of each Twilio webhook: what Twilio documents it sends, checked before anything is stored.

The signature proves a request came from Twilio's key, not that its fields are what
Twilio sends: the signature joins names and values with no separator, so a captured
``MessageSid=SM…`` + ``NumMedia=0`` can be resent as one ``MessageSid=SM…NumMedia0``
and still verify. So every field we read is held to Twilio's documented shape (SIDs,
numbers, statuses, bounded integers, no control characters, bounded lengths) and a
request that breaks it gets a 400 with one line naming the field, never its value.
Unknown fields stay accepted: Twilio adds parameters without notice.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import Response, request

from glowline.store.models import MAX_ID

log = logging.getLogger(__name__)

MAX_NAME = 64
MAX_OTHER_VALUE = 8192  # unknown fields: MediaUrl0, FromCity, a voice CallToken, an AddOns result
MAX_BODY = 1600  # Twilio's longest message body
MAX_SPEECH = 2000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


def _shape(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _one_of(*values: str) -> Callable[[str], bool]:
    allowed = frozenset(values)
    return lambda value: value in allowed


def _integer(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return value.isascii() and value.isdigit() and len(value) <= 20 and low <= int(value) <= high
    return check


def _fraction(value: str) -> bool:
    return re.fullmatch(r"(?:0|1)(?:\.[0-9]{1,12})?|\.[0-9]{1,12}", value) is not None and float(value) <= 1.0


def _free_text(value: str) -> bool:
    # A client's words: NUL and stray control bytes are cleaned by the parser, never refused,
    # so the text is stored and answered with a re-ask (Twilio does not resend an inbound text).
    return True


MESSAGE_SID = _shape(r"(?:SM|MM)[0-9a-fA-F]{32}")
CALL_SID = _shape(r"CA[0-9a-fA-F]{32}")
ACCOUNT_SID = _shape(r"AC[0-9a-fA-F]{32}")
SERVICE_SID = _shape(r"MG[0-9a-fA-F]{32}")
# E.164, a short code, Twilio's words for a hidden caller, or a channel-prefixed address
# (client:, sip:, whatsapp:+1...) as Twilio documents them.
PHONE = _shape(r"\+[1-9][0-9]{1,14}|[0-9]{3,8}|(?i:anonymous|restricted|unknown|private|unavailable)"
               r"|(?:client|sip|whatsapp|messenger):[^\s<>\"]{1,120}")
# Texts reach us from phones and short codes only (no WhatsApp here): the stored number fits 20 characters.
SMS_PHONE = _shape(r"\+[1-9][0-9]{1,14}|[0-9]{3,8}")
MESSAGE_STATUSES = ("accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered",
                    "undelivered", "receiving", "received", "read", "partially_delivered")
CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "canceled",
                 "failed")
ANSWERED_BY = ("human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax",
               "unknown")
# An MMS's media: Twilio's Media resource URL (we read only its SIDs; see glowline.transports.media) and a MIME type.
MEDIA_URL = _shape(r"https://[A-Za-z0-9.\-]{1,120}(?::[0-9]{1,5})?/2010-04-01/Accounts/AC[0-9a-fA-F]{32}"
                   r"/Messages/(?:MM|SM)[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}")
MEDIA_TYPE = _shape(r"[a-z]{1,20}/[A-Za-z0-9.+\-]{1,80}")
DIGITS = _shape(r"[0-9*#wW]{1,64}|hangup")
ERROR_CODE = _integer(0, 99999)


@dataclass(frozen=True)
class Rule:
    """One field: its check, its longest value, and whether it may be absent."""

    check: Callable[[str], bool]
    max_len: int = 64
    required: bool = False
    free_text: bool = False


@dataclass(frozen=True)
class Contract:
    """What one webhook reads: form fields, query arguments (bounded integers) and required alternatives."""

    fields: Mapping[str, Rule]
    query: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    one_of: tuple[tuple[str, ...], ...] = ()


_MEDIA = {**{f"MediaUrl{n}": Rule(MEDIA_URL, 400) for n in range(10)},
          **{f"MediaContentType{n}": Rule(MEDIA_TYPE, 100) for n in range(10)}}

_COMMON = {
    "AccountSid": Rule(ACCOUNT_SID, 34),
    "MessagingServiceSid": Rule(SERVICE_SID, 34),
    "ApiVersion": Rule(_shape(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), 10),
    "From": Rule(PHONE, 128),
    "To": Rule(PHONE, 128),
    "ErrorCode": Rule(ERROR_CODE, 5),
}

SMS = Contract(
    fields={**_COMMON, **_MEDIA,
            "From": Rule(SMS_PHONE, 16, required=True), "To": Rule(SMS_PHONE, 16, required=True),
            "MessageSid": Rule(MESSAGE_SID, 34), "SmsSid": Rule(MESSAGE_SID, 34),
            "SmsMessageSid": Rule(MESSAGE_SID, 34),
            "SmsStatus": Rule(_one_of(*MESSAGE_STATUSES), 24),
            "Body": Rule(_free_text, MAX_BODY, free_text=True),
            "NumMedia": Rule(_integer(0, 10), 2), "NumSegments": Rule(_integer(0, 100), 3)},
    one_of=(("MessageSid", "SmsSid"),),
)

MESSAGE_STATUS = Contract(
    fields={**_COMMON,
            "MessageSid": Rule(MESSAGE_SID, 34), "SmsSid": Rule(MESSAGE_SID, 34),
            "MessageStatus": Rule(_one_of(*MESSAGE_STATUSES), 24), "SmsStatus": Rule(_one_of(*MESSAGE_STATUSES), 24)},
    query={"message_id": (1, MAX_ID)},
    one_of=(("MessageSid", "SmsSid"), ("MessageStatus", "SmsStatus")),
)

_CALL = {**_COMMON,
         "CallSid": Rule(CALL_SID, 34, required=True), "ParentCallSid": Rule(CALL_SID, 34),
         "CallStatus": Rule(_one_of(*CALL_STATUSES), 16),
         "AnsweredBy": Rule(_one_of(*ANSWERED_BY), 24),
         "Digits": Rule(DIGITS, 64),
         "SpeechResult": Rule(_free_text, MAX_SPEECH, free_text=True),
         "Confidence": Rule(_fraction, 16),
         "CallDuration": Rule(_integer(0, 10**7), 8), "Duration": Rule(_integer(0, 10**7), 8),
         "SipResponseCode": Rule(_integer(100, 699), 3),
         "Direction": Rule(_shape(r"inbound|outbound-api|outbound-dial"), 16)}

CALL = Contract(fields=_CALL)
CALL_GATHER = Contract(fields=_CALL, query={"step": (0, 1000), "session_id": (1, MAX_ID)})
CALL_NUMBER = Contract(fields=_CALL, query={"attempt": (1, 1000)})
REMINDER_CALL = Contract(fields=_CALL, query={"message_id": (1, MAX_ID), "attempt": (1, 1000)})
CALL_STATUS = Contract(fields={**_CALL, "CallStatus": Rule(_one_of(*CALL_STATUSES), 16, required=True)},
                       query={"message_id": (1, MAX_ID)})


def violation(contract: Contract, form, args) -> str | None:
    """The name of the first parameter that breaks ``contract`` (with why), or None when the request fits."""
    for name, (low, high) in contract.query.items():
        values = args.getlist(name)
        if len(values) > 1 or (values and not _integer(low, high)(values[0])):
            return f"query {name}: not an integer from {low} to {high}"
    for name in form:
        values = form.getlist(name)
        if not _NAME.fullmatch(name):
            return "a parameter name is not a name"
        rule = contract.fields.get(name)
        for value in values:
            problem = _check(rule, value)
            if problem:
                return f"{name}: {problem}"
    for name, rule in contract.fields.items():
        if rule.required and not form.get(name):
            return f"{name}: missing"
    for names in contract.one_of:
        if not any(form.get(n) for n in names):
            return f"{' or '.join(names)}: missing"
    return None


def _check(rule: Rule | None, value: str) -> str | None:
    if rule is None:
        if len(value) > MAX_OTHER_VALUE:
            return "too long"
        return "control character" if _CONTROL.search(value) else None
    if len(value) > rule.max_len:
        return "too long"
    if rule.free_text:
        return None
    if _CONTROL.search(value):
        return "control character"
    if value == "":
        return None  # an empty optional field is an absent one; required ones are checked apart
    return None if rule.check(value) else "not in Twilio's documented form"


def inbound(contract: Contract):
    """Refuse (400, one line) a signed request whose fields break ``contract``; place it under verify_twilio."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            problem = violation(contract, request.form, request.args)
            if problem is not None:
                # The parameter's name and the rule only: its value may be a client's number or words.
                log.warning("twilio webhook %s refused: %s", request.path, problem)
                return Response(f"bad request: {problem}\n", status=400, mimetype="text/plain")
            return view(*args, **kwargs)

        return wrapper

    return decorate
