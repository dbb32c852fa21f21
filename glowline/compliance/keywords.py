"""Keywords that act whatever the conversation state: opt-out, opt-in, help, and intake commands."""

from __future__ import annotations

import enum
import re

from glowline.normalize import words


class Keyword(str, enum.Enum):
    """Compliance keywords recognised before anything else."""
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


class Command(str, enum.Enum):
    """Conversation commands (RESTART, BACK)."""
    RESTART = "restart"
    BACK = "back"


# The carrier/CTIA list; CANCEL is here, so appointment actions must use other words.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})

# Politeness around a keyword does not change what it means ("STOP please", "stop now!!").
_FILLER = r"(?:please|pls|plz|now|thanks|thank you|thx|ok|okay|all)"
_OPT_OUT_PHRASES = [
    rf"^(?:{_FILLER} )*(?:{'|'.join(sorted(OPT_OUT_WORDS))})(?: {_FILLER})*$",
    r"^(?:please )?opt (?:me )?out(?: please)?$",
    r"^(?:please )?(?:stop|quit|end|no more) (?:texting|texts|messaging|messages|sending|contacting|calling)"
    r"(?: me)?(?: (?:texts|messages|anything))?(?: please)?$",
    r"^(?:please )?(?:do not|don t|dont) (?:text|message|contact|call) me(?: again| anymore| any more)?(?: please)?$",
    r"^(?:please )?(?:remove|unsubscribe) me(?: from (?:this|your|the) list)?(?: please)?$",
    r"^(?:please )?take me off (?:this|your|the) list(?: please)?$",
    r"^leave me alone$",
]
_OPT_OUT = [re.compile(p) for p in _OPT_OUT_PHRASES]
_OPT_IN = re.compile(r"^(?:please )?(?:start|unstop|opt (?:me )?(?:back )?in|resubscribe|subscribe)"
                     r"(?: again)?(?: please)?$")
_HELP = re.compile(r"^(?:help|info)(?: please| me)?$")
_RESTART = re.compile(r"^(?:restart|start over|start again|begin again|reset|redo|start from the beginning)$")
_BACK = re.compile(r"^(?:back|go back|previous|undo|back up|previous question)$")


def detect(body: str | None, *, opted_out: bool = False) -> Keyword | None:
    """The compliance keyword a whole message means, if any (any case and punctuation).

    YES opts back in only for a number that opted out; otherwise it is an answer.
    """
    said = words(body)
    if not said:
        return None
    if any(p.match(said) for p in _OPT_OUT):
        return Keyword.OPT_OUT
    if _OPT_IN.match(said) or (opted_out and said in ("yes", "y")):
        return Keyword.OPT_IN
    if _HELP.match(said):
        return Keyword.HELP
    return None


def command(body: str | None) -> Command | None:
    """The conversation command a whole message means: RESTART or BACK."""
    said = words(body)
    if _RESTART.match(said):
        return Command.RESTART
    if _BACK.match(said):
        return Command.BACK
    return None
