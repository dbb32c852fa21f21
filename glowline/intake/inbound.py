"""One inbound text or call step as the router's handlers see it, and what a handler answers.

A handler takes an ``Inbound`` and returns either the replies it sends (possibly none:
it handled the message and has nothing to say) or ``NOT_MINE``, passing it down the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from glowline.compliance.keywords import Keyword, detect
from glowline.intake.engine import IntakeEngine
from glowline.store.models import Channel, Client, Clinic, HandledAs, InboundMessage

__all__ = ["NOT_MINE", "HandledAs", "Handler", "Inbound", "Outcome"]


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
    channel: Channel
    now: datetime
    record: InboundMessage | None = None
    photos: int = 0  # how many photos the message carried (already attached to the client)
    _keyword: tuple[bool, Keyword | None] | None = field(default=None, init=False, repr=False)

    def keyword(self) -> Keyword | None:
        """The compliance keyword the body means for this client now (``detect``), worked out once per opt-out state."""
        opted_out = self.client.opted_out
        if self._keyword is None or self._keyword[0] != opted_out:
            self._keyword = (opted_out, detect(self.body, opted_out=opted_out))
        return self._keyword[1]

    def mark(self, handled_as: HandledAs | str, *, attention: bool = False) -> None:
        """Write what the message was onto its stored row, when there is one.

        A kind of inbound that stays belongs in HandledAs; a plain string lets a handler be tried first.
        """
        if self.record is not None:
            self.record.handled_as = handled_as.value if isinstance(handled_as, HandledAs) else handled_as
            self.record.needs_attention = attention


Handler = Callable[[Inbound], Outcome]
