"""One inbound text or call step as the router's handlers see it, and what a handler answers.

A handler takes an ``Inbound`` and returns either the replies it sends (possibly none:
it handled the message and has nothing to say) or ``NOT_MINE``, passing it down the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from glowline.intake.engine import IntakeEngine
from glowline.store.models import Client, Clinic, InboundMessage


class HandledAs:
    """What an inbound message turned out to be (stored on InboundMessage.handled_as)."""

    OPT_OUT = "opt_out"
    OPT_OUT_REPEAT = "opt_out_repeat"
    OPT_IN = "opt_in"
    HELP = "help"
    OPTED_OUT = "ignored_opted_out"
    STAFF = "staff_command"
    INTAKE = "intake"
    PLAN_REPLY = "plan_reply"
    INBOX = "inbox"
    INTAKE_START = "intake_start"


# A handler's answer: the replies (an empty list is "handled, nothing to say") or NOT_MINE.
Outcome = list[str] | None
NOT_MINE: Outcome = None


@dataclass
class Inbound:
    """Everything a handler may need about one inbound message; handlers share it down the chain."""

    db: Session
    rt: Any  # the Runtime; typed loosely because glowline.runtime builds the intake engine lazily
    engine: IntakeEngine
    clinic: Clinic
    client: Client
    from_number: str
    body: str
    channel: str
    now: datetime
    record: InboundMessage | None = None

    def mark(self, handled_as: str, *, attention: bool = False) -> None:
        """Write what the message was onto its stored row, when there is one."""
        if self.record is not None:
            self.record.handled_as = handled_as
            self.record.needs_attention = attention


Handler = Callable[[Inbound], Outcome]
