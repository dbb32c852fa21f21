"""Staff replies: a person on the desk texts a client back, through the outbox like every other text."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.clinics.audit import AuditAction
from glowline.exceptions import Conflict, ValidationError
from glowline.messages.dates import format_moment
from glowline.messages.templates import MAX_BODY
from glowline.plans.timeline import in_quiet_hours, next_allowed_time, zone
from glowline.store.models import Channel, Client, Clinic, MessageKind, MessageStatus, OutboxMessage


class SendWhen(str, enum.Enum):
    """When a staff reply may go: now (refused in quiet hours), or when the client's quiet hours end."""

    NOW = "now"
    MORNING = "morning"


class QuietHours(Conflict):
    """It is quiet hours for the client: the reply waits for ``until`` only if staff say so."""

    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


def refusal(client: Client) -> str | None:
    """Why nothing may be texted to this client now, or None."""
    if client.opted_out:
        return ("this client opted out of texts (they replied STOP); nothing can be sent until they text START. "
                "Call them instead.")
    return None


def send_reply(db: Session, rt, *, clinic: Clinic, client: Client, body: str, actor: str, now: datetime,
               when: SendWhen = SendWhen.NOW) -> OutboxMessage:
    """Queue a staff text to ``client``: recorded, audited, sent by a worker after the caller commits.

    Refused (Conflict) to an opted-out number; in the client's quiet hours raises QuietHours
    unless ``when`` is MORNING, which schedules it for the end of quiet hours.
    """
    body = (body or "").strip()
    if not body:
        raise ValidationError("write the text to send", field="body")
    if len(body) > MAX_BODY:
        raise ValidationError(f"the text is {len(body)} characters; the limit is {MAX_BODY}", field="body")
    reason = refusal(client)
    if reason is not None:
        raise Conflict(reason)
    tz = clinic.zone_for(client)
    due = now
    if in_quiet_hours(now, tz, clinic.quiet_start, clinic.quiet_end):
        until = next_allowed_time(now, tz, clinic.quiet_start, clinic.quiet_end)
        if when is not SendWhen.MORNING:
            raise QuietHours(f"it is quiet hours for this client ({clinic.quiet_start:%H:%M} to "
                             f"{clinic.quiet_end:%H:%M} their time); send at "
                             f"{format_moment(until.astimezone(zone(tz)))} instead?", until)
        due = until
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id, kind=MessageKind.STAFF_REPLY, channel=Channel.SMS,
                        to_number=client.phone, from_number=clinic.sending_number, body=body, due_at=due,
                        status=MessageStatus.PENDING, sent_by=actor, created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    audit.record(db, clinic_id=clinic.id, actor=actor, action=AuditAction.STAFF_REPLIED, now=now,
                 message_id=row.id, client_id=client.id)
    rt.dispatcher.schedule(db, [row])
    return row
