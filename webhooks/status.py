"""POST /twilio/status: Twilio's message status callbacks, applied forward-only and once each."""

from __future__ import annotations

import logging

from flask import Blueprint, request

from glowline.voice import calls as voice_calls
from glowline.store.models import MessageStatus, OutboxMessage
from glowline.transports import callbacks
from glowline.delivery.outbox import record_provider_status
from webhooks.context import db, runtime
from webhooks.contract import MESSAGE_STATUS, inbound
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("status", __name__, url_prefix=callbacks.TWILIO_PREFIX)


def _error_code(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


@bp.post(callbacks.SMS_STATUS_PATH)
@verify_twilio
@inbound(MESSAGE_STATUS)
def message_status():
    """Record one status report; duplicates, unknown SIDs and stale statuses answer 200 and change nothing.

    A callback that breaks the inbound contract (webhooks/contract.py) never gets here: 400.
    """
    # The inbound contract has already checked both: a SID of Twilio's shape, a documented status.
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    session = db()
    now = runtime().clock.now()
    # Our own callback URL carries the row id (the contract bounds it): the row is found even
    # when the worker has not committed the SID yet, or crashed before it could.
    hint = request.args.get("message_id")
    update = record_provider_status(session, sid=sid, status=status,
                                    error_code=_error_code(request.form.get("ErrorCode")), now=now,
                                    message_id_hint=int(hint) if hint else None)
    if update.changed and status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        message = session.get(OutboxMessage, update.message_id)
        follow_up = voice_calls.fallback_call(session, message, now=now)  # 30006: a landline
        if follow_up is not None:
            runtime().dispatcher.schedule(session, [follow_up])
    session.commit()
    if update.message_id is None:
        log.info("status %s for unknown message %s; kept, not applied", status, sid)
    elif update.changed:
        log.info("outbox %s: provider status %s", update.message_id, status)
    return "", 200
