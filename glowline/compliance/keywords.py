"""Keywords that act whatever the conversation state: opt-out, opt-in, help, and intake commands."""

from __future__ import annotations

import enum
import re

from glowline.compliance.stop_intent import StopIntent, classify
from glowline.normalize import words


class Keyword(str, enum.Enum):
    """Compliance keywords recognised before anything else."""
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    # Only probably a stop ("no more", "not interested"): one confirming question, nothing stored.
    PROBABLY_OPT_OUT = "probably_opt_out"
    # Asks how to stop ("how do I unsubscribe?"): answered, not acted on.
    STOP_QUESTION = "stop_question"
    # "cancel my appointment": for staff; never an opt-out.
    APPOINTMENT_CANCEL = "appointment_cancel"


_FROM_INTENT = {StopIntent.PROBABLY_STOP: Keyword.PROBABLY_OPT_OUT, StopIntent.QUESTION: Keyword.STOP_QUESTION,
                StopIntent.APPOINTMENT_CANCEL: Keyword.APPOINTMENT_CANCEL}


class Command(str, enum.Enum):
    """Conversation commands (RESTART, BACK)."""
    RESTART = "restart"
    BACK = "back"


_OPT_IN = re.compile(r"^(?:please )?(?:start|unstop|opt (?:me )?(?:back )?in|resubscribe|subscribe)"
                     r"(?: again)?(?: please)?$")
_HELP = re.compile(r"^(?:help|info)(?: please| me)?$")
_RESTART = re.compile(r"^(?:restart|start over|start again|begin again|reset|redo|start from the beginning)$")
_BACK = re.compile(r"^(?:back|go back|previous|undo|back up|previous question)$")


def detect(body: str | None, *, opted_out: bool = False) -> Keyword | None:
    """The compliance keyword a whole message means, if any (any case and punctuation).

    Opt-out is any reasonable way of saying stop (``stop_intent.classify``). YES opts back in only
    for a client who opted out; otherwise it is an answer.
    """
    said = words(body)
    intent = classify(body)
    if intent is StopIntent.STOP:
        return Keyword.OPT_OUT
    if not said:
        return None
    if _OPT_IN.match(said) or (opted_out and said in ("yes", "y")):
        return Keyword.OPT_IN
    if _HELP.match(said):
        return Keyword.HELP
    return _FROM_INTENT.get(intent) if intent is not None else None


def command(body: str | None) -> Command | None:
    """The conversation command a whole message means: RESTART or BACK."""
    said = words(body)
    if _RESTART.match(said):
        return Command.RESTART
    if _BACK.match(said):
        return Command.BACK
    return None
