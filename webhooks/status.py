"""POST /twilio/status: Twilio's message status callbacks, applied forward-only and once each."""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, request
from sqlalchemy.exc import SQLAlchemyError

from glowline.transports import callbacks
from glowline.voice.message_status import apply_message_status
from webhooks.context import db, runtime
from webhooks.contract import MESSAGE_STATUS, inbound
from webhooks.sms import spool_request
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("status", __name__, url_prefix=callbacks.TWILIO_PREFIX)


@bp.post(callbacks.SMS_STATUS_PATH)
@verify_twilio
@inbound(MESSAGE_STATUS)
def message_status():
    """Record one status report; duplicates, unknown SIDs and stale statuses answer 200 and change nothing.

    A callback that breaks the inbound contract (webhooks/contract.py) never gets here: 400.
    While the database is down the callback waits in the inbound spool, as texts do.
    """
    now = runtime().clock.now()
    try:
        apply_message_status(db(), runtime(), request.form, request.args, now=now)
    except SQLAlchemyError:
        with contextlib.suppress(SQLAlchemyError):  # the connection is gone; teardown discards the session
            db().rollback()
        where = spool_request("status", now)
        log.warning("database unavailable: status callback kept in the spool (%s) for replay", where)
    return "", 200
