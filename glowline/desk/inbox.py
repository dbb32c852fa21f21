"""The clinic inbox: inbound texts that need a person, newest first, until staff mark them done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.clinics.audit import AuditAction
from glowline.clinics.clients import first_names
from glowline.exceptions import NotFound
from glowline.phone import clinic_region, for_people
from glowline.store.models import MAX_ID, Client, Clinic, InboundMessage

INBOX_LIMIT = 100


@dataclass(frozen=True)
class InboxItem:
    """One text waiting for a person."""

    id: int
    client_id: int | None
    client_name: str | None
    client_phone: str
    received_at: datetime
    channel: str
    body: str
    handled_as: str | None
    opted_out: bool

    def as_dict(self) -> dict:
        """The item as the API returns it."""
        return {"id": self.id, "client_id": self.client_id, "client_name": self.client_name,
                "client_phone": self.client_phone, "received_at": self.received_at.isoformat(),
                "channel": self.channel, "body": self.body, "handled_as": self.handled_as,
                "client_opted_out": self.opted_out}


def _open(clinic_id: int):
    return (InboundMessage.clinic_id == clinic_id, InboundMessage.needs_attention.is_(True),
            InboundMessage.done_at.is_(None))


def count(db: Session, clinic_id: int) -> int:
    """How many texts wait for a person (the navigation badge)."""
    return db.scalar(select(func.count()).select_from(InboundMessage).where(*_open(clinic_id))) or 0


def items(db: Session, clinic_id: int, *, limit: int = INBOX_LIMIT, client_id: int | None = None) -> list[InboxItem]:
    """The open inbox, newest first (optionally one client's)."""
    stmt = select(InboundMessage, Client).outerjoin(Client, Client.id == InboundMessage.client_id).where(
        *_open(clinic_id))
    if client_id is not None:
        stmt = stmt.where(InboundMessage.client_id == client_id)
    rows = db.execute(stmt.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)).all()
    names = first_names(db, clinic_id, {c.id for _, c in rows if c is not None})
    region = clinic_region(db.get(Clinic, clinic_id))
    return [InboxItem(id=m.id, client_id=m.client_id, client_name=names.get(m.client_id) if m.client_id else None,
                      client_phone=for_people(m.from_number, region), received_at=m.received_at, channel=m.channel.value,
                      body=m.body or ("(picture or file)" if m.num_media else "(empty)"), handled_as=m.handled_as,
                      opted_out=bool(c is not None and c.opted_out)) for m, c in rows]


def mark_done(db: Session, clinic_id: int, inbound_id: int, *, actor: str, now: datetime) -> InboundMessage:
    """Take one text out of the inbox (done twice changes nothing); recorded in the audit log. Does not commit."""
    row = db.scalar(select(InboundMessage).where(InboundMessage.id == inbound_id,
                                                 InboundMessage.clinic_id == clinic_id)) \
        if 0 < inbound_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"inbox message {inbound_id} not found")
    if row.done_at is None and row.needs_attention:
        row.done_at = now
        row.done_by = actor
        audit.record(db, clinic_id=clinic_id, actor=actor, action=AuditAction.INBOX_DONE, now=now,
                     inbound_id=row.id, client_id=row.client_id)
    return row
