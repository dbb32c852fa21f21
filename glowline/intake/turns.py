"""What one step of the intake conversation gives back: a Turn, its status and its events.

The engine (glowline.intake.engine) makes Turns; the router's handlers and the voice webhooks
read them (what to say, whether to listen, whether staff must hear of it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from glowline.intake.questions import Question
from glowline.store.models import Intake

__all__ = ["KEYED_NUMBER", "Turn", "TurnEvent", "TurnStatus", "answered"]


class TurnStatus(str, enum.Enum):
    """Where a Turn leaves the conversation: waiting for an answer, or ended one way or the other."""

    ASKING = "asking"
    CONFIRMING = "confirming"
    COMPLETE = "complete"
    NEEDS_HUMAN = "needs_human"


class TurnEvent(str, enum.Enum):
    """What happened in a Turn; an answer is recorded as ``answered:<field>`` (see ``answered``)."""

    STARTED = "started"
    RESTART = "restart"
    BACK = "back"
    CONFIRMING = "confirming"
    MISS = "miss"
    REVALIDATE = "revalidate"
    COMPLETE = "complete"
    NEEDS_HUMAN = "needs_human"
    ANSWERED = "answered"
    # A "yes" on a call for a keyed-in number: the number's owner must confirm it by text.
    CONFIRM_BY_TEXT = "confirm_by_text"


# The flag of an intake whose number a caller who withheld theirs typed in: nobody has shown it is theirs.
KEYED_NUMBER = "number keyed in on a call"


def answered(field_name: str) -> str:
    """The event of an accepted answer to one question."""
    return f"{TurnEvent.ANSWERED.value}:{field_name}"


@dataclass
class Turn:
    """What to say next, which question is open, and where the intake stands."""

    messages: list[str]
    question: Question | None
    intake: Intake | None
    status: TurnStatus
    events: list[str] = field(default_factory=list)

    @property
    def expects_answer(self) -> bool:
        """True while a question is open (asked, or read back for a yes/no): the channel should listen."""
        return self.question is not None and self.status in (TurnStatus.ASKING, TurnStatus.CONFIRMING)
