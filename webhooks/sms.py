"""POST /twilio/sms: Twilio's inbound messaging webhook. Verify, store once, answer with TwiML.

When the database cannot take the text, the verified request goes to the inbound spool
(glowline/store/spool.py) and the client gets a short acknowledgement: Twilio never
resends an inbound text, so a 5xx would lose it. A worker replays the spool later.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, Response, abort, request
from sqlalchemy.exc import SQLAlchemyError

from glowline.intake.receive import receive_text, render_twiml
from glowline.messages import catalog
from glowline.store import spool
from glowline.transports import callbacks
from webhooks.context import db, runtime
from webhooks.contract import SMS, inbound
from webhooks.twilio_auth import verify_twilio

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)

# Said while the text waits in the spool (the database, and so the client's locale, is out of reach).
SPOOLED_REPLY = catalog.text("inbox.spooled")


def _twiml(body: str) -> Response:
    return Response(body, mimetype="application/xml")


def spool_request(kind: str, now, **extra: str) -> str:
    """Keep this verified request in the inbound spool for the replay job; returns where it went."""
    entry = spool.Entry(kind, list(request.form.items(multi=True)), request.args.to_dict() | extra, now)
    return spool.put(runtime(), entry)


@bp.post(callbacks.TWILIO_PREFIX + callbacks.SMS_PATH)
@verify_twilio
@inbound(SMS)
def inbound_sms():
    """Answer one inbound text; the same MessageSid always gets the same reply and one state change."""
    rt = runtime()
    now = rt.clock.now()
    try:
        reply = receive_text(db(), rt, request.form, now=now)
    except SQLAlchemyError:
        with contextlib.suppress(SQLAlchemyError):  # the connection is gone; teardown discards the session
            db().rollback()
        where = spool_request("sms", now)
        # No traceback: the driver's message can hold the row's values (scrubbed, but not needed).
        log.warning("database unavailable: inbound sms kept in the spool (%s) for replay", where)
        return _twiml(render_twiml([SPOOLED_REPLY]))
    if reply is None:
        abort(404)
    return _twiml(reply)
