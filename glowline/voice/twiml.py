"""The voice channel: how a conversation turn is spoken and how a spoken or keyed reply is read.

The intake conversation itself lives in glowline.intake.engine and is the same for SMS and
voice; this module only renders its Turns as TwiML (built with Twilio's own classes) and
turns Twilio's Gather results (Digits, SpeechResult, Confidence) into a reply for it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from glowline.messages.catalog import text
from glowline.store.models import Channel, InboundMessage

ANSWER_TIMEOUT_SECONDS = 6


def spoken_phone(e164: str) -> str:
    """A North American number read digit by digit in its groups ("2 1 2, 5 5 5, 0 1 2 3")."""
    digits = "".join(c for c in e164 if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return " ".join(digits)
    return ", ".join(" ".join(group) for group in (digits[:3], digits[3:6], digits[6:]))


class AnswerVia(str, enum.Enum):
    """How a caller answered one Gather."""

    DTMF = "dtmf"
    SPEECH = "speech"
    NONE = "none"


@dataclass(frozen=True)
class VoiceAnswer:
    """A caller's answer to one Gather: the words or digits, how they came, and Twilio's confidence."""

    reply: str
    via: AnswerVia
    confidence: float | None = None


def read_answer(form) -> VoiceAnswer:
    """Read Digits (keypad wins) or SpeechResult and its Confidence from a Gather callback form."""
    digits = (form.get("Digits") or "").strip()
    if digits:
        return VoiceAnswer(digits, AnswerVia.DTMF)
    speech = (form.get("SpeechResult") or "").strip()
    if not speech:
        return VoiceAnswer("", AnswerVia.NONE)
    return VoiceAnswer(speech, AnswerVia.SPEECH, parse_confidence(form.get("Confidence")))


def parse_confidence(raw: str | None) -> float | None:
    """Twilio's Confidence (0.0 to 1.0) as a float; missing or malformed gives None."""
    try:
        value = float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if value is None or math.isnan(value):
        return None
    return min(max(value, 0.0), 1.0)


def question_gather(question, action_url: str) -> Gather:
    """A Gather for one question: one key for yes/no and up to nine numbered choices, speech for the rest."""
    choices = tuple(getattr(question, "choices", ()) or ())
    kind = getattr(question, "kind", "")
    options: dict = dict(input="speech dtmf", speech_timeout="auto", action=action_url, method="POST",
                         action_on_empty_result=True, timeout=ANSWER_TIMEOUT_SECONDS)
    # One key answers a yes/no or numbered question at once; a multi-choice answer may be
    # several keys, ended by # (or a pause), so it must not be cut off after one digit.
    if kind in ("consent", "yesno") or (kind == "choice" and 0 < len(choices) <= 9):
        options["num_digits"] = 1
    else:
        options["finish_on_key"] = "#"
    hints = ("yes", "no") if kind in ("consent", "yesno") else tuple(getattr(question, "speech_hints", ()) or ())
    if hints:
        options["hints"] = ", ".join(dict.fromkeys(hints))
    return Gather(**options)


def render_turn(turn, *, action_url: str) -> str:
    """A conversation Turn as TwiML: its messages said inside a Gather for the open question, else said and hung up.

    The engine words every message for the voice channel and keeps the consent wording
    exactly as it is said here, so the text is spoken as given.
    """
    response = VoiceResponse()
    texts = [m.strip() for m in turn.messages if m and m.strip()]
    if turn.expects_answer:
        gather = question_gather(turn.question, action_url)
        for line in texts:
            gather.say(line)
        response.append(gather)
        # Silence is posted to the action (actionOnEmptyResult); this only plays if that request fails.
        response.say(text("voice.no_input"))
    else:
        for line in texts:
            response.say(line)
        response.say(text("voice.goodbye"))
    response.hangup()
    return str(response)


def goodbye_twiml(said: str) -> str:
    """Say one thing and hang up."""
    response = VoiceResponse()
    response.say(said)
    response.hangup()
    return str(response)


def step_sid(call_sid: str, step: str) -> str:
    """The dedupe key of one call step: Twilio retries a step with the same CallSid and URL."""
    return f"{call_sid}:{step}"


def claim_step(db: Session, *, sid: str, clinic_id: int, client_id: int | None, from_number: str,
               body: str = "", confidence: float | None = None, handled_as: str | None = None,
               now: datetime) -> tuple[InboundMessage | None, str | None]:
    """Insert the step's InboundMessage atomically; on a replay return (stored row, its stored TwiML).

    The unique ``sid`` is the lock: a retried Twilio request gets the same answer and
    changes nothing, whatever state the conversation has reached since.
    """
    row = InboundMessage(sid=sid, clinic_id=clinic_id, client_id=client_id, channel=Channel.VOICE,
                         from_number=from_number, body=body[:1600], confidence=confidence, handled_as=handled_as,
                         received_at=now)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        existing = db.scalar(select(InboundMessage).where(InboundMessage.sid == sid))
        return existing, (existing.reply if existing is not None else None)
    return row, None


# Twilio's <Say> language codes for the catalogue locales spoken while the database is down.
OUTAGE_VOICES = (("en", "en-US"), ("es", "es-US"))


def outage_twiml(key: str = "call.outage") -> str:
    """A short apology in every catalogue language and a hang-up, for a call step the database cannot take.

    The caller's language is stored in the database that is out of reach, so the sentence
    is said in English and then in Spanish.
    """
    response = VoiceResponse()
    for locale, language in OUTAGE_VOICES:
        response.say(text(key, locale), language=language)
    response.hangup()
    return str(response)
