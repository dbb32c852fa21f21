"""Consent and opt-out: the effects of STOP/START and the consent record. Nothing here commits."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.store.models import (Channel, Client, Clinic, ConsentAction, ConsentEvent, MessageStatus, OPEN_STATUSES,
                                   OutboxMessage)
from glowline.phone import pretty

log = logging.getLogger(__name__)

# An opt-out is a property of the number: it stops every clinic on this installation.
OPT_OUT_SCOPE = "all messages from every clinic number"
MAX_WORDING = 2000


def intake_scope(clinic: Clinic) -> str:
    """What an intake consent covers: one clinic's automated treatment texts and calls."""
    return f"clinic:{clinic.id} treatment reminders and aftercare by text and call"


def opt_out(db: Session, *, client: Client, clinic: Clinic | None, wording: str, method: str,
            now: datetime) -> bool:
    """Stop everything to this number; True when it changed something (False if already opted out)."""
    if client.opted_out_at is not None:
        return False
    client.opted_out_at = now
    cancelled = cancel_open_messages(db, client=client, now=now)
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id if clinic else None, action=ConsentAction.OPT_OUT.value,
                        wording=wording[:MAX_WORDING], method=method, scope=OPT_OUT_SCOPE, created_at=now))
    db.flush()
    log.info("client %s opted out; %d open messages cancelled", client.id, cancelled)
    return True


def cancel_open_messages(db: Session, *, client: Client, now: datetime) -> int:
    """Cancel every pending or queued row to this client, across clinics; returns how many."""
    # Rows are matched by number as well as id: a row may carry only the number.
    result = db.execute(
        update(OutboxMessage)
        .where(or_(OutboxMessage.client_id == client.id, OutboxMessage.to_number == client.phone),
               OutboxMessage.status.in_([s.value for s in OPEN_STATUSES]))
        .values(status=MessageStatus.CANCELLED, last_error="recipient opted out", finished_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return getattr(result, "rowcount", 0) or 0


def opt_in(db: Session, *, client: Client, clinic: Clinic | None, wording: str, method: str,
           now: datetime, scope: str = OPT_OUT_SCOPE) -> bool:
    """Lift an opt-out and record the consent; True when the number had opted out."""
    was_out = client.opted_out_at is not None
    client.opted_out_at = None
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id if clinic else None, action=ConsentAction.OPT_IN.value,
                        wording=wording[:MAX_WORDING], method=method, scope=scope, created_at=now))
    db.flush()
    return was_out


def record_intake_consent(db: Session, *, client: Client, clinic: Clinic, wording: str, channel: Channel | str,
                          now: datetime) -> None:
    """Record the consent given in an intake: the exact words asked, when, how and for what."""
    method = f"{Channel(channel).value}_intake"
    scope = intake_scope(clinic)
    if client.opted_out_at is not None:
        # The opt-out is a property of the number, so a fresh "yes" lifts it everywhere: the
        # record must say so rather than claim a one-clinic scope.
        scope += "; lifts the number's earlier opt-out for every clinic number"
    opt_in(db, client=client, clinic=clinic, wording=wording, method=method, now=now, scope=scope)


def opt_out_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The one confirmation a STOP gets."""
    return text("consent.opt_out", locale, clinic=clinic.name)


def opt_in_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The confirmation a START gets."""
    return text("consent.opt_in", locale, clinic=clinic.name)


def help_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The HELP/INFO answer: who we are, how to reach a person, how to stop."""
    phone = clinic.callback_number
    if not phone:
        return text("consent.help.no_phone", locale, clinic=clinic.name)
    return text("consent.help", locale, clinic=clinic.name, phone=pretty(phone))
