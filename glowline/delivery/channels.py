"""Which channel each kind of message goes out on."""

from __future__ import annotations

from glowline.store.models import Channel, MessageKind

# Messages that can be spoken in a call: they say when, and what to press.
CALL_KINDS = frozenset({MessageKind.REMINDER, MessageKind.BOOKING_NUDGE, MessageKind.PLAN_CONFIRMATION})


def channel_for(kind: MessageKind, preferred: Channel) -> Channel:
    """The channel a message of ``kind`` goes out on for a client who prefers ``preferred``.

    A voice-preferring client gets calls for reminders, nudges and the plan confirmation
    and texts for aftercare: instructions must stay readable, and saying them aloud would
    name the treatment to whoever is near the phone.
    """
    return preferred if kind in CALL_KINDS else Channel.SMS
