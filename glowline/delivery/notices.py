"""Notices to a clinic's staff: short SMS to every staff phone, through the outbox like any other message.

Callers write the text (minimum necessary: no client name, number or message body); this
module only addresses and queues it. Nothing here commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.store.models import Channel, Clinic, MessageKind, MessageStatus, OutboxMessage

log = logging.getLogger(__name__)


def notify_staff(db: Session, rt, *, clinic: Clinic, body: str, now: datetime) -> list[OutboxMessage]:
    """Queue one SMS to each of the clinic's staff phones, from its first number or its Messaging Service, due now."""
    if not clinic.staff_phones or not (clinic.numbers or clinic.messaging_service_sid):
        log.warning("clinic %s has no staff phone or number to notify", clinic.id)
        return []
    rows = [OutboxMessage(clinic_id=clinic.id, client_id=None, kind=MessageKind.STAFF_NOTICE, channel=Channel.SMS,
                          to_number=phone.number, from_number=clinic.sending_number, body=body, due_at=now,
                          status=MessageStatus.PENDING, created_at=now, updated_at=now)
            for phone in clinic.staff_phones]
    db.add_all(rows)
    db.flush()
    rt.dispatcher.schedule(db, rows)
    return rows
