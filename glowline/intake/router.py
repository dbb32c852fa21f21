"""The channel-neutral inbound router: an ordered chain of handlers, the first that claims a message answers it.

keywords -> opted_out -> stop_question -> consent_answer -> staff -> language -> photo -> intake -> plan_reply ->
inbox -> start. A new kind of
inbound (a photo, another channel) is a handler (see ``glowline.intake.inbound``) placed in
``HANDLERS`` where it belongs: above ``intake`` to see answers before the questionnaire does,
never above ``keywords`` and ``opted_out``, which keep STOP and consent first.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from glowline.intake import handlers
from glowline.intake.engine import IntakeEngine
from glowline.intake.handlers import finish_turn
from glowline.intake.inbound import HandledAs, Handler, Inbound
from glowline.photos.inbound import MediaRef, attach
from glowline.store.models import Channel, Client, Clinic, InboundMessage

__all__ = ["HANDLERS", "HandledAs", "finish_turn", "get_or_create_client", "handle_text", "route"]

log = logging.getLogger(__name__)

MAX_PHONE = 20

# The chain, in order. The last handler always handles.
HANDLERS: tuple[Handler, ...] = (
    handlers.keywords,
    handlers.opted_out,
    handlers.stop_question,
    handlers.consent_answer,
    handlers.staff,
    handlers.language,
    handlers.photo,
    handlers.intake,
    handlers.plan_reply,
    handlers.inbox,
    handlers.start,
)


def get_or_create_client(db: Session, clinic: Clinic, phone: str, now: datetime) -> Client:
    """The clinic's client for a number, created atomically on first contact and locked for this transaction."""
    # One statement, atomic under races: INSERT .. ON CONFLICT DO UPDATE .. RETURNING creates the
    # client on first contact and otherwise returns the existing row, where an insert-then-select
    # cost two round trips per text. On PostgreSQL the conflict's update locks the row for this
    # transaction (what SELECT .. FOR UPDATE did), serialising two texts from one client; on SQLite
    # it is the transaction's first write, so it takes the file's write lock before anything is read.
    row = db.execute(_upsert_client(db.get_bind().dialect.name),
                     {"clinic_id": clinic.id, "phone": phone[:MAX_PHONE], "created_at": now}).one()
    known = db.identity_map.get(identity_key(Client, row.id))
    if known is not None:
        # Already in this session (a retried text): bring it up to date with the row just returned.
        for name, value in row._mapping.items():
            set_committed_value(known, name, value)
        return known
    # The row as a clean persistent object, as a query would give it: the ORM's INSERT .. RETURNING
    # path cost twice the CPU of the statement itself.
    client = Client(**row._mapping)
    make_transient_to_detached(client)
    db.add(client)
    return client


@functools.cache
def _upsert_client(dialect: str):
    # Built once per dialect: constructing the statement (its ``excluded`` alias above all) cost
    # more CPU than running it.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, Client.__table__)
    stmt = insert(table).values(clinic_id=bindparam("clinic_id"), phone=bindparam("phone"),
                                preferred_channel=Channel.SMS, created_at=bindparam("created_at"))
    stmt = stmt.on_conflict_do_update(index_elements=["clinic_id", "phone"], set_={"phone": stmt.excluded.phone})
    return stmt.returning(*table.columns)


def handle_text(db: Session, rt, *, clinic: Clinic, from_number: str, body: str, channel: Channel = Channel.SMS,
                now: datetime, record: InboundMessage | None = None, engine: IntakeEngine | None = None,
                chain: Sequence[Handler] | None = None, media: Sequence[MediaRef] = ()) -> list[str]:
    """Route one inbound text and return the reply texts; never commits.

    ``record`` (the stored inbound row) gets the client, what the text was and
    whether the clinic inbox should show it. ``chain`` replaces ``HANDLERS`` (tests, other entry points).
    ``media`` (an MMS's photos) attach to the client whatever the text turns out to be, opted out or not:
    a photo the client chose to send is theirs to keep with the clinic, and Twilio must not keep it.
    """
    client = get_or_create_client(db, clinic, from_number, now)
    if record is not None:
        record.client_id = client.id
    engine = engine or rt.intake_engine
    if media:
        if record is not None and record.id is None:
            # The photos name the text they came with: its row goes in now rather than at the commit.
            db.add(record)
            db.flush()
        open_intake = engine.open_intake(db, clinic, client)
        attach(db, rt, clinic=clinic, client=client, refs=list(media), now=now,
               inbound_id=record.id if record is not None else None,
               intake_id=open_intake.id if open_intake is not None else None)
    msg = Inbound(db=db, rt=rt, engine=engine, clinic=clinic, client=client, from_number=from_number, body=body,
                  channel=Channel(channel), now=now, record=record, photos=len(media))
    return route(msg, HANDLERS if chain is None else chain)


def route(msg: Inbound, chain: Sequence[Handler]) -> list[str]:
    """Offer the message to each handler in turn; the first that claims it gives the replies."""
    for handler in chain:
        replies = handler(msg)
        if replies is not None:  # NOT_MINE
            return replies
    # Only a chain without its catch-all gets here; the clinic must still see the text.
    log.warning("no handler took an inbound %s message", msg.channel.value)
    msg.mark(HandledAs.INBOX, attention=True)
    return []
