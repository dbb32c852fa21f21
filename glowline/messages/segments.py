"""Each outbox text records the SMS segments its body takes, so what texting costs is an SQL sum.

Segments depend on the alphabet (GSM-7 or UCS-2), which SQL cannot tell from a body, so the
count is taken in Python once, when the row is written or its body changes, with the same
counter the plan preview shows.
"""

from __future__ import annotations

from sqlalchemy import event, inspect

from glowline.messages.templates import segments as count_segments
from glowline.store.models import Channel, OutboxMessage


def row_segments(channel: Channel | str, body: str | None, counted: int | None = None) -> int | None:
    """The ``segments`` an outbox row of this channel and body records: None for a call or no body.

    Rows written with Core ``insert()`` (plans started in bulk) skip the mapper event below,
    so they call this themselves: one rule for both ways of writing a row. ``counted``: the
    body's count when the caller already has it (a plan timeline counts every message).
    """
    if channel is Channel.VOICE or channel == Channel.VOICE.value or body is None:
        return None
    return counted if counted is not None else count_segments(body)[0]


def _count(_mapper, _connection, target: OutboxMessage) -> None:
    """Set ``segments`` from the body of a text; a call has none."""
    target.segments = row_segments(target.channel, target.body)


def _recount(mapper, connection, target: OutboxMessage) -> None:
    state = inspect(target)
    if state.attrs.body.history.has_changes() or state.attrs.channel.history.has_changes():
        _count(mapper, connection, target)


def install() -> None:
    """Count segments on every outbox insert and body change (idempotent; the runtime calls it at start)."""
    if not event.contains(OutboxMessage, "before_insert", _count):
        event.listen(OutboxMessage, "before_insert", _count)
        event.listen(OutboxMessage, "before_update", _recount)
