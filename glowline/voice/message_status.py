"""One SMS status callback applied: the outbox row moves forward, and a text a landline refused owes a call.

Shared by the status webhook and the inbound spool replay (a callback that arrived while
the database was down), so both apply a callback the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.delivery.carrier_alerts import check_burst
from glowline.delivery.outbox import record_provider_status
from glowline.store.models import MessageStatus, OutboxMessage
from glowline.voice import calls as voice_calls

log = logging.getLogger(__name__)


def _error_code(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def apply_message_status(session: Session, rt, form: Mapping[str, str], args: Mapping[str, str], *,
                         now: datetime) -> None:
    """Record one status report and commit; duplicates, unknown SIDs and stale statuses change nothing."""
    # The inbound contract has already checked both: a SID of Twilio's shape, a documented status.
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    # Our own callback URL carries the row id (the contract bounds it): the row is found even
    # when the worker has not committed the SID yet, or crashed before it could.
    hint = args.get("message_id")
    update = record_provider_status(session, sid=sid, status=status, error_code=_error_code(form.get("ErrorCode")),
                                    now=now, message_id_hint=int(hint) if hint else None)
    message = session.get(OutboxMessage, update.message_id) if update.message_id is not None else None
    if message is not None and update.changed and status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        follow_up = voice_calls.fallback_call(session, message, now=now)  # 30006: a landline
        if follow_up is not None:
            rt.dispatcher.schedule(session, [follow_up])
        check_burst(session, rt, clinic=message.clinic, code=_error_code(form.get("ErrorCode")), now=now)
    session.commit()
    if update.message_id is None:
        log.info("status %s for an unknown message; kept, not applied", status)
    elif update.changed:
        log.info("outbox %s: provider status %s", update.message_id, status)
