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

from glowline.messages.catalog import DEFAULT_LOCALE, locale_of, text
from glowline.phone import DEFAULT_REGION, clinic_region, spoken_groups
from glowline.store.models import Channel, InboundMessage

ANSWER_TIMEOUT_SECONDS = 6

# How each catalogue locale is spoken and heard. English keeps Twilio's defaults (en-US, the
# default voice), so English TwiML is unchanged. Spanish: <Say language="es-US"> needs a voice that
# speaks US Spanish, and an invalid voice/language pair makes Twilio skip the <Say>; Twilio's basic
# "man"/"woman" voices have no es-US, so we name Amazon Polly's "Lupe", the US-Spanish voice in
# Twilio's text-to-speech list (standard and neural; "Polly.Miguel" is the male one, "Polly.Penelope"
# the older one). <Gather language="es-US"> makes speech recognition listen for US Spanish.
SAY_OPTIONS: dict[str, dict[str, str]] = {"en": {}, "es": {"language": "es-US", "voice": "Polly.Lupe"}}
LISTEN_LANGUAGE: dict[str, str] = {"es": "es-US"}
# Spoken yes/no hints per locale (Twilio biases recognition towards them).
YES_NO_HINTS: dict[str, tuple[str, ...]] = {"en": ("yes", "no"), "es": ("sí", "no")}


def say_options(locale: str | None) -> dict[str, str]:
    """The <Say> attributes (language, voice) for a client's locale; none for English."""
    return dict(SAY_OPTIONS.get(locale_of(locale), {}))


def gather_options(locale: str | None) -> dict[str, str]:
    """The <Gather> attributes for a client's locale: the speech-recognition language, when not English."""
    language = LISTEN_LANGUAGE.get(locale_of(locale))
    return {"language": language} if language else {}


class SpokenResponse(VoiceResponse):
    """A VoiceResponse whose every <Say> speaks the client's language (its own; Gathers use SpokenGather)."""

    def __init__(self, locale: str | None = DEFAULT_LOCALE, **kwargs):
        super().__init__(**kwargs)
        self.locale = locale_of(locale)

    def say(self, message=None, **kwargs):
        """<Say> in the response's language and voice."""
        return super().say(message, **{**say_options(self.locale), **kwargs})


class SpokenGather(Gather):
    """A Gather that listens in the client's language, and whose <Say> speaks it."""

    def __init__(self, locale: str | None = DEFAULT_LOCALE, **kwargs):
        super().__init__(**{**gather_options(locale), **kwargs})
        self.locale = locale_of(locale)

    def say(self, message=None, **kwargs):
        """<Say> in the gather's language and voice."""
        return super().say(message, **{**say_options(self.locale), **kwargs})


def spoken_phone(number: str, region: str = DEFAULT_REGION) -> str:
    """A number read digit by digit in the groups people dial in ``region`` ("2 1 2, 5 5 5, 0 1 2 3").

    The commas are the pauses a voice makes between groups; a foreign number starts with "plus".
    """
    plus, groups = spoken_groups(number, region)
    said = ", ".join(groups)
    return f"{text('phone.plus.voice')} {said}" if plus else said


def spoken_clinic_phone(clinic) -> str:
    """The clinic's call-back number as a voice reads it to the clinic's callers."""
    return spoken_phone(clinic.callback_number, clinic_region(clinic))


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


def question_gather(question, action_url: str, locale: str | None = DEFAULT_LOCALE) -> Gather:
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
    locale = locale_of(locale)
    hints = YES_NO_HINTS[locale] if kind in ("consent", "yesno") else tuple(question.speech_hints_in(locale))
    if hints:
        options["hints"] = ", ".join(dict.fromkeys(hints))
    return SpokenGather(locale, **options)


def render_turn(turn, *, action_url: str) -> str:
    """A conversation Turn as TwiML: its messages said inside a Gather for the open question, else said and hung up.

    The engine words every message for the voice channel and keeps the consent wording
    exactly as it is said here, so the text is spoken as given.
    """
    locale = turn.intake.client.locale if turn.intake is not None else DEFAULT_LOCALE
    response = SpokenResponse(locale)
    texts = [m.strip() for m in turn.messages if m and m.strip()]
    if turn.expects_answer:
        gather = question_gather(turn.question, action_url, locale)
        for line in texts:
            gather.say(line)
        response.append(gather)
        # Silence is posted to the action (actionOnEmptyResult); this only plays if that request fails.
        response.say(text("voice.no_input", locale))
    else:
        for line in texts:
            response.say(line)
        response.say(text("voice.goodbye", locale))
    response.hangup()
    return str(response)


def goodbye_twiml(said: str, locale: str | None = DEFAULT_LOCALE) -> str:
    """Say one thing (in the client's language) and hang up."""
    response = SpokenResponse(locale)
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
