"""One inbound text, from Twilio's form to the stored row and the TwiML reply: shared by the webhook and the spool replay.

The webhook calls it as a text arrives; the spool replay (workers) calls it for a text
that arrived while the database was down, with the time it arrived. The unique
MessageSid is the guard either way: the same text is stored and routed once, and a
repeat gets the stored reply.
"""

from __future__ import annotations

import logging
from typing import cast
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from glowline.intake.router import handle_text
from glowline.photos.inbound import media_refs
from glowline.store.models import Channel, Clinic, HandledAs, InboundMessage

log = logging.getLogger(__name__)

MAX_STORED_BODY = 4000
MAX_SID = 80


def render_twiml(replies: list[str]) -> str:
    """One <Message> holding every reply in order (separate messages may arrive out of order)."""
    response = MessagingResponse()
    text = "\n\n".join(r for r in replies if r)
    if text:
        response.message(text)
    return str(response)


def _text(value: str | None, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; everything else is kept as the record of what arrived.
    return (value or "").replace("\x00", "\ufffd")[:limit]


def _media_count(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 100))
    except ValueError:
        return 0


def _stored_reply(session: Session, sid: str) -> str | None:
    """After a failed commit: the reply stored for ``sid`` when the text was already handled, else None."""
    session.rollback()
    row = session.execute(select(InboundMessage.reply).where(InboundMessage.sid == sid)).first()
    if row is None:
        return None
    return row.reply if row.reply is not None else render_twiml([])


def _clinic(session: Session, rt, form: Mapping[str, str]) -> Clinic | None:
    return (rt.clinics.by_number(session, _text(form.get("To"), 32).strip())
            or rt.clinics.by_service(session, _text(form.get("MessagingServiceSid"), 34).strip()))


def receive_text(session: Session, rt, form: Mapping[str, str], *, now: datetime) -> str | None:
    """Store and answer one inbound text (committed); the TwiML reply, or None when it reaches no clinic.

    The clinic is the one owning ``To``, else the one whose Messaging Service it came through
    (a pool number of the service is no clinic's own). Database errors other than the
    duplicate guard propagate: the caller spools the request.

    One transaction, one flush: the text is routed first and its row (with the reply) is
    inserted at the commit, where the unique MessageSid is the guard. A duplicate, even one
    racing the first, fails that insert and rolls back everything it did, then gets the stored
    reply. Twilio does not retry a messaging webhook that answered 5xx, so a handler error must
    not lose the text: its changes are rolled back and the row alone is stored, marked for the
    clinic inbox, and the client gets no reply rather than a wrong one.
    """
    sid = _text(form.get("MessageSid") or form.get("SmsSid"), MAX_SID).strip()
    fields = {"sid": sid, "channel": Channel.SMS, "from_number": _text(form.get("From"), 20).strip(),
              "body": _text(form.get("Body"), MAX_STORED_BODY), "num_media": _media_count(form.get("NumMedia")),
              "received_at": now}
    media = media_refs(form)
    for attempt in (1, 2):
        clinic = _clinic(session, rt, form)
        if clinic is None:
            return None
        record = InboundMessage(clinic_id=clinic.id, **fields)
        try:
            replies = handle_text(session, rt, clinic=clinic, from_number=record.from_number, body=record.body,
                                  channel=Channel.SMS, now=now, record=record, engine=rt.intake_engine,
                                  media=media)
            record.reply = render_twiml(replies)
            _store(session, record)
            session.commit()
        except IntegrityError:
            stored = _stored_reply(session, sid)
            if stored is not None:
                log.info("duplicate inbound sms replayed")
                return stored
            if attempt == 1:
                # A concurrent write for the same client won a race; once more sees its rows.
                continue
            log.exception("inbound sms conflicted twice; kept for the clinic inbox")
        except (OperationalError, InterfaceError):
            raise  # the database is out of reach (down, locked): the caller spools the text
        except Exception:
            log.exception("inbound sms could not be handled; kept for the clinic inbox")
        else:
            log.info("inbound sms %s handled as %s", record.id, record.handled_as)
            return record.reply
        break
    return _keep_unhandled(session, rt, form, fields)


_INBOUND = cast(Table, InboundMessage.__table__)
_INBOUND_KEYS = tuple(c.key for c in _INBOUND.columns)
# Built once: constructing the INSERT .. RETURNING cost about as much CPU as running it.
_INSERT_INBOUND = _INBOUND.insert().returning(_INBOUND.c.id)


def _store(session: Session, record: InboundMessage) -> None:
    """Insert the text's row (unless a handler already had to): one plain INSERT, not the unit of work's."""
    if record in session:
        return
    # What was never set is left out, so the columns' defaults apply as they would at a flush.
    values = {key: value for key in _INBOUND_KEYS if (value := getattr(record, key)) is not None}
    record.id = session.execute(_INSERT_INBOUND, values).scalar_one()


def _keep_unhandled(session: Session, rt, form: Mapping[str, str], fields: dict) -> str | None:
    """Store the text alone, for the clinic inbox, after its handling failed; the (empty) reply."""
    session.rollback()
    clinic = _clinic(session, rt, form)
    if clinic is None:
        return None
    record = InboundMessage(clinic_id=clinic.id, handled_as=HandledAs.ERROR.value, needs_attention=True,
                            reply=render_twiml([]), **fields)
    session.add(record)
    try:
        session.commit()
    except IntegrityError:
        return _stored_reply(session, fields["sid"]) or render_twiml([])
    return record.reply
