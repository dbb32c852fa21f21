"""A client's conversation with one clinic: every text and call, both ways, oldest first like a phone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from glowline.store.models import (Channel, Client, InboundMessage, MessageKind, MessageStatus, OutboxMessage)

# Rows that never went out and never will are planning, not conversation.
_NOT_SAID = (MessageStatus.CANCELLED, MessageStatus.SKIPPED)
MAX_ENTRIES = 500


@dataclass(frozen=True)
class Entry:
    """One bubble: who spoke, when, what, and how it went."""

    at: datetime
    direction: str  # "in" from the client, "out" to the client
    channel: str
    body: str
    status: str | None = None  # an outbound row's delivery state; "replied" for an automatic answer
    kind: str | None = None
    sent_by: str | None = None
    result: str | None = None  # a call's outcome, or why a text failed
    message_id: int | None = None
    inbound_id: int | None = None
    needs_attention: bool = False

    def as_dict(self) -> dict:
        """The entry as the API returns it."""
        return {"at": self.at.isoformat(), "direction": self.direction, "channel": self.channel, "body": self.body,
                "status": self.status, "kind": self.kind, "sent_by": self.sent_by, "result": self.result,
                "message_id": self.message_id, "inbound_id": self.inbound_id,
                "needs_attention": self.needs_attention}


def twiml_texts(twiml: str | None) -> list[str]:
    """The words an automatic answer said (its <Message> or <Say> elements), from the TwiML we stored."""
    if not twiml:
        return []
    try:
        root = ET.fromstring(twiml)  # our own TwiML, written by the twilio SDK
    except ET.ParseError:
        return []
    return [" ".join(el.itertext()).strip() for el in root.iter() if el.tag in ("Message", "Say")
            and " ".join(el.itertext()).strip()]


def conversation(db: Session, clinic_id: int, client: Client, now: datetime) -> list[Entry]:
    """Every inbound text or call step and every outbound text or call to this client, in time order."""
    entries: list[Entry] = []
    inbound = db.scalars(select(InboundMessage).where(InboundMessage.clinic_id == clinic_id,
                                                      InboundMessage.client_id == client.id)
                         .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(MAX_ENTRIES))
    for row in inbound:
        body = row.body or ("(picture or file)" if row.num_media else "")
        if row.channel is Channel.VOICE:
            body = f"call: {body}" if body else "call"
        entries.append(Entry(at=row.received_at, direction="in", channel=row.channel.value, body=body,
                             inbound_id=row.id, needs_attention=row.needs_attention and row.done_at is None))
        if row.channel is Channel.SMS:
            # The automatic answer went back in the same exchange: show it right after the text.
            for text in twiml_texts(row.reply):
                entries.append(Entry(at=row.received_at, direction="out", channel="sms", body=text,
                                     status="replied", kind="automatic_reply", inbound_id=row.id))
    outbound = db.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == clinic_id, OutboxMessage.kind != MessageKind.STAFF_NOTICE,
        or_(OutboxMessage.client_id == client.id, OutboxMessage.to_number == client.phone),
        or_(OutboxMessage.due_at <= now, OutboxMessage.kind == MessageKind.STAFF_REPLY),
        ~OutboxMessage.status.in_(list(_NOT_SAID)) | (OutboxMessage.kind == MessageKind.STAFF_REPLY))
        .order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc()).limit(MAX_ENTRIES))
    for message in outbound:
        body = message.body if message.channel is Channel.SMS else f"reminder call: {message.body}"
        entries.append(Entry(at=message.sent_at or message.due_at, direction="out", channel=message.channel.value,
                             body=body, status=message.status.value, kind=message.kind.value,
                             sent_by=message.sent_by, result=message.result or message.last_error,
                             message_id=message.id))
    entries.sort(key=lambda e: (e.at, 0 if e.direction == "in" else 1))
    return entries[-MAX_ENTRIES:]
