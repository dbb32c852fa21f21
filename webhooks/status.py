"""POST /twilio/status: Twilio's message status callbacks, applied forward-only and once each."""

from __future__ import annotations

import logging

from flask import Blueprint, request

from glowline.voice import calls as voice_calls
from glowline.store.models import OutboxMessage
from glowline.delivery.outbox import record_provider_status
from webhooks.context import db, runtime
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("status", __name__, url_prefix="/twilio")


def _error_code(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


@bp.post("/status")
@verify_twilio
def message_status():
    """Record one status report; duplicates, unknown SIDs and stale statuses answer 200 and change nothing."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").strip()
    if not sid or not status or len(sid) > 64 or len(status) > 24:
        # Twilio will not fix a malformed callback by retrying it: say so and move on.
        log.warning("status callback without a usable MessageSid/MessageStatus; ignored")
        return "", 200
    session = db()
    now = runtime().clock.now()
    update = record_provider_status(session, sid=sid, status=status,
                                    error_code=_error_code(request.form.get("ErrorCode")), now=now)
    if update.changed and status in ("undelivered", "failed"):
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
