"""A spoken "stop" on any call menu: the intake's questions, the session menu, the keypad rebooking.

Under the FCC's revocation rule a spoken request on a call revokes consent as a text does, so
every menu asks the same classifier (``compliance.stop_intent``) before it reads the words as
an answer; a "stop" is never taken for a name, a choice or a time. The reminder call's own
menu reads it in ``voice.calls.read_choice``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from glowline.compliance import consent as compliance
from glowline.compliance.stop_intent import StopIntent, classify
from glowline.messages.catalog import text
from glowline.plans.opt_out_notice import notify_opt_out
from glowline.store.models import Client, Clinic
from glowline.voice.twiml import AnswerVia, SpokenResponse, VoiceAnswer, spoken_clinic_phone

# The consent record keeps what was said, bounded like a text's wording.
MAX_SAID = 200


def is_spoken_stop(answer: VoiceAnswer) -> bool:
    """True when the caller said something that revokes consent ("stop", "don't call me again")."""
    return answer.via is AnswerVia.SPEECH and classify(answer.reply) is StopIntent.STOP


def opt_out_on_call(db: Session, rt, *, clinic: Clinic, client: Client, said: str, now: datetime) -> str:
    """Opt the caller out of the clinic's calls and texts, tell them so, and hang up (TwiML)."""
    changed = compliance.opt_out(db, client=client, clinic=clinic, wording=said[:MAX_SAID], method="voice_speech",
                                 now=now)
    if changed:
        notify_opt_out(db, rt, clinic=clinic, client=client, how="by voice", now=now)
    response = SpokenResponse(client.locale)
    response.say(text("call.opted_out", client.locale, clinic=clinic.name, phone=spoken_clinic_phone(clinic)))
    response.hangup()
    return str(response)
