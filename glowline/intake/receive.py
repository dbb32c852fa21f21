"""One inbound text, from Twilio's form to the stored row and the TwiML reply: shared by the webhook and the spool replay.

The webhook calls it as a text arrives; the spool replay (workers) calls it for a text
that arrived while the database was down, with the time it arrived. The unique
MessageSid is the guard either way: the same text is stored and routed once, and a
repeat gets the stored reply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from glowline.clinics.service import clinic_for_number, clinic_for_service
from glowline.intake.router import handle_text
from glowline.photos.inbound import MediaRef, media_refs
from glowline.store.models import Channel, HandledAs, InboundMessage

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


def _stored_reply(session: Session, sid: str) -> str:
    session.rollback()
    reply = session.scalar(select(InboundMessage.reply).where(InboundMessage.sid == sid))
    return reply if reply is not None else render_twiml([])


def _handle(session: Session, rt, clinic, record: InboundMessage, now: datetime,
            media: list[MediaRef]) -> list[str]:
    """Route the text inside a savepoint; whatever goes wrong, the stored text is never lost.

    Twilio does not retry a messaging webhook that answered 5xx, so an error must not
    roll back the inbound row: it stays, marked for the clinic inbox, and the client
    gets no reply rather than a wrong one.
    """
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                return handle_text(session, rt, clinic=clinic, from_number=record.from_number, body=record.body,
                                   channel=Channel.SMS, now=now, record=record, engine=rt.intake_engine,
                                   media=media)
        except IntegrityError:
            # A concurrent write for the same client won a race; once more sees its rows.
            if attempt == 1:
                continue
            log.exception("inbound sms %s conflicted twice; kept for the clinic inbox", record.id)
        except Exception:
            log.exception("inbound sms %s could not be handled; kept for the clinic inbox", record.id)
        break
    record.handled_as = HandledAs.ERROR.value
    record.needs_attention = True
    return []


def receive_text(session: Session, rt, form: Mapping[str, str], *, now: datetime) -> str | None:
    """Store and answer one inbound text (committed); the TwiML reply, or None when it reaches no clinic.

    The clinic is the one owning ``To``, else the one whose Messaging Service it came through
    (a pool number of the service is no clinic's own). Database errors other than the
    duplicate guard propagate: the caller spools the request.
    """
    clinic = (clinic_for_number(session, _text(form.get("To"), 32).strip())
              or clinic_for_service(session, _text(form.get("MessagingServiceSid"), 34).strip()))
    if clinic is None:
        return None
    sid = _text(form.get("MessageSid") or form.get("SmsSid"), MAX_SID).strip()
    record = InboundMessage(sid=sid, clinic_id=clinic.id, channel=Channel.SMS,
                            from_number=_text(form.get("From"), 20).strip(),
                            body=_text(form.get("Body"), MAX_STORED_BODY), num_media=_media_count(form.get("NumMedia")),
                            received_at=now)
    session.add(record)
    try:
        # The unique sid is the guard: a duplicate fails here (or waits for the first, then fails).
        session.flush()
    except IntegrityError:
        log.info("duplicate inbound sms replayed")
        return _stored_reply(session, sid)

    replies = _handle(session, rt, clinic, record, now, media_refs(form))
    record.reply = render_twiml(replies)
    try:
        session.commit()
    except IntegrityError:
        return _stored_reply(session, sid)
    log.info("inbound sms %s handled as %s", record.id, record.handled_as)
    return record.reply
