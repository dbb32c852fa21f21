"""Consent and opt-out: the effects of STOP/START and the consent record. Nothing here commits."""

from __future__ import annotations

import logging
from datetime import datetime

import enum
from collections.abc import Sequence
from typing import Any
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from glowline.compliance import texts
from glowline.exceptions import Conflict, ConsentRequired
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.store.models import (Channel, Client, Clinic, ConsentAction, ConsentEvent, MessageKind, MessageStatus,
                                   OutboxMessage)
from glowline.phone import clinic_phone

log = logging.getLogger(__name__)

# An opt-out stops every message from the clinic (all of its numbers); another clinic is another business.
OPT_OUT_SCOPE = "all messages from this clinic, from every one of its numbers"
MAX_WORDING = 2000


class ConsentStatus(str, enum.Enum):
    """Where a client's consent for one clinic stands."""
    GIVEN = "given"
    DECLINED = "declined"
    REQUESTED = "requested"
    WITHDRAWN = "withdrawn"
    NONE = "none"


_STATUS_OF = {ConsentAction.OPT_IN: ConsentStatus.GIVEN, ConsentAction.DECLINED: ConsentStatus.DECLINED,
              ConsentAction.OPT_OUT: ConsentStatus.WITHDRAWN, ConsentAction.REQUESTED: ConsentStatus.REQUESTED}


def intake_scope(clinic: Clinic) -> str:
    """What an intake consent covers: one clinic's automated treatment texts and calls."""
    return f"clinic:{clinic.id} treatment reminders and aftercare by text and call"


def opt_out(db: Session, *, client: Client, clinic: Clinic | None, wording: str, method: str,
            now: datetime) -> bool:
    """Mark the client opted out; True when it changed something (False if already opted out).

    Nothing in the outbox is cancelled: the send job suppresses each row as it comes due, so
    an opt-in later resumes every row still ahead (suppress, never destroy).
    """
    if client.opted_out_at is not None:
        return False
    client.opted_out_at = now
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id if clinic else None,
                        action=ConsentAction.OPT_OUT.value, wording=wording[:MAX_WORDING], method=method,
                        scope=OPT_OUT_SCOPE, created_at=now))
    db.flush()
    log.info("client %s opted out", client.id)
    return True


def opt_in(db: Session, *, client: Client, clinic: Clinic | None, wording: str, method: str,
           now: datetime, scope: str = OPT_OUT_SCOPE) -> bool:
    """Lift an opt-out and record the consent; True when the number had opted out."""
    was_out = client.opted_out_at is not None
    client.opted_out_at = None
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id if clinic else None,
                        action=ConsentAction.OPT_IN.value,
                        wording=wording[:MAX_WORDING], method=method, scope=scope, created_at=now))
    db.flush()
    return was_out


def record_intake_consent(db: Session, *, client: Client, clinic: Clinic, wording: str, channel: Channel | str,
                          now: datetime) -> None:
    """Record the consent given in an intake: the exact words asked, when, how and for what."""
    method = f"{Channel(channel).value}_intake"
    scope = intake_scope(clinic)
    if client.opted_out_at is not None:
        # A fresh "yes" lifts the client's earlier opt-out from this clinic: the record says so.
        scope += "; lifts the client's earlier opt-out from this clinic"
    opt_in(db, client=client, clinic=clinic, wording=wording, method=method, now=now, scope=scope)


def opt_out_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The one confirmation an opt-out gets: what it covers, how to undo it, how to cancel a visit instead."""
    # CANCEL is a carrier opt-out word, so someone who meant their appointment must learn how to do that.
    return text("consent.opt_out", locale, clinic=clinic.name, phone=clinic_phone(clinic))


def opt_in_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The confirmation a START gets."""
    return text("consent.opt_in", locale, clinic=clinic.name)


def help_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The HELP/INFO answer: who we are, how to reach a person, how to stop."""
    if not clinic.callback_number:
        return text("consent.help.no_phone", locale, clinic=clinic.name)
    return text("consent.help", locale, clinic=clinic.name, phone=clinic_phone(clinic))


def record_declined(db: Session, *, client: Client, clinic: Clinic, wording: str, method: str,
                    now: datetime) -> None:
    """Record that the client said no to automated messages from this clinic (the words they were asked)."""
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id, action=ConsentAction.DECLINED.value,
                        wording=wording[:MAX_WORDING], method=method, scope=intake_scope(clinic), created_at=now))
    db.flush()


@dataclass(frozen=True)
class ConsentState:
    """A client's consent and opt-out state for one clinic, as staff and the API see it."""

    status: ConsentStatus
    at: datetime | None = None
    method: str | None = None
    wording: str | None = None
    opted_out_at: datetime | None = None
    opted_out_by: str | None = None
    opted_out_method: str | None = None
    request_wording: str | None = None

    @property
    def current(self) -> bool:
        """True when automated messages may go to the client: consent given and no opt-out since."""
        return self.status is ConsentStatus.GIVEN and self.opted_out_at is None

    @property
    def label(self) -> str:
        """A short phrase for staff pages: "given", "declined", "opted out"..."""
        if self.opted_out_at is not None:
            return "opted out"
        return {ConsentStatus.GIVEN: "given", ConsentStatus.DECLINED: "declined",
                ConsentStatus.REQUESTED: "requested, no answer yet", ConsentStatus.WITHDRAWN: "withdrawn",
                ConsentStatus.NONE: "none"}[self.status]

    def as_json(self) -> dict:
        """The API's view of the state."""
        return {
            "status": self.status.value, "current": self.current,
            "at": self.at.isoformat() if self.at else None, "method": self.method, "wording": self.wording,
            "opted_out": self.opted_out_at is not None,
            "opted_out_at": self.opted_out_at.isoformat() if self.opted_out_at else None,
            "opted_out_by": self.opted_out_by, "opted_out_method": self.opted_out_method,
        }


def _latest_action(client_id, clinic_id, *, decisions_only: bool):
    """SQL for the action of the client's latest consent event at the clinic (a request is no decision)."""
    query = select(ConsentEvent.action).where(ConsentEvent.client_id == client_id, ConsentEvent.clinic_id == clinic_id)
    if decisions_only:
        query = query.where(ConsentEvent.action != ConsentAction.REQUESTED.value)
    return query.order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc()).limit(1)


_LATEST_ACTION = _latest_action(bindparam("client_id"), bindparam("clinic_id"), decisions_only=False)


def last_decision(client_id, clinic_id):
    """SQL for the client's last consent decision at the clinic, to read beside a row.

    ``state_of`` reads the whole record; the send job needs only whether consent is current,
    and gets it in the same SELECT as the row it sends (``is_current``), not in a query of its own.
    """
    return _latest_action(client_id, clinic_id, decisions_only=True).scalar_subquery()


def is_current(last_action: str | None, client: Client) -> bool:
    """What ``state_of(...).current`` says, from ``last_decision``'s value: consent given and no opt-out since."""
    status = _STATUS_OF[ConsentAction(last_action)] if last_action is not None else ConsentStatus.NONE
    return ConsentState(status=status, opted_out_at=client.opted_out_at).current


def history(db: Session, client: Client, clinic: Clinic) -> list[ConsentEvent]:
    """Every consent change of a client at one clinic, oldest first."""
    return list(db.scalars(select(ConsentEvent).where(ConsentEvent.client_id == client.id,
                                                      ConsentEvent.clinic_id == clinic.id)
                           .order_by(ConsentEvent.created_at, ConsentEvent.id)))


def state_of(db: Session, client: Client, clinic: Clinic) -> ConsentState:
    """The client's consent for this clinic, read from its consent record."""
    return state_from(client.opted_out_at, history(db, client, clinic))


def state_from(opted_out_at: datetime | None, events: Sequence[Any]) -> ConsentState:
    """The consent state a client's record (one clinic's events, oldest first) and opt-out time make.

    Pure, so a batch can read many clients' records in one query (ConsentEvent rows or selected
    columns: action, created_at, method, wording) and judge each like a single start.
    """
    decisive = [e for e in events if e.action != ConsentAction.REQUESTED.value]
    last = decisive[-1] if decisive else None
    pending = events[-1] if events and events[-1].action == ConsentAction.REQUESTED.value else None
    status = _STATUS_OF[ConsentAction(last.action)] if last is not None else ConsentStatus.NONE
    if pending is not None and status is not ConsentStatus.GIVEN:
        status = ConsentStatus.REQUESTED
    shown = pending if status is ConsentStatus.REQUESTED else last
    stop = next((e for e in reversed(events) if e.action == ConsentAction.OPT_OUT.value), None)
    out = opted_out_at is not None
    return ConsentState(status=status, at=shown.created_at if shown else None, method=shown.method if shown else None,
                        wording=shown.wording if shown else None, opted_out_at=opted_out_at,
                        opted_out_by=stop.wording if (out and stop) else None,
                        opted_out_method=stop.method if (out and stop) else None,
                        request_wording=pending.wording if pending else None)


def require_consent(db: Session, client: Client, clinic: Clinic) -> ConsentState:
    """The client's state when they may get automated messages from this clinic; else ConsentRequired."""
    return require_current(state_of(db, client, clinic))


def require_current(state: ConsentState) -> ConsentState:
    """``state`` when it lets automated messages go out; else ConsentRequired saying why not."""
    if state.opted_out_at is not None:
        raise ConsentRequired("the client has opted out of messages from this clinic; they must text START "
                              "before a plan can start")
    if not state.current:
        why = {ConsentStatus.DECLINED: "declined automated texts and calls",
               ConsentStatus.REQUESTED: "has not yet answered the consent request",
               ConsentStatus.WITHDRAWN: "withdrew consent"}.get(state.status, "has not consented to automated "
                                                                           "texts and calls")
        raise ConsentRequired(f"no current consent: the client {why}; text them a consent request first")
    return state


def request_consent(db: Session, *, client: Client, clinic: Clinic, actor: str, now: datetime) -> OutboxMessage:
    """Queue the one consent-request text (YES/NO) and record its exact wording; the caller schedules it."""
    state = state_of(db, client, clinic)
    if state.opted_out_at is not None:
        raise Conflict("the client has opted out; only they can resubscribe, by texting START")
    if state.current:
        raise Conflict("the client has already consented")
    if not clinic.numbers:
        raise Conflict("the clinic has no number to text from")
    return _queue_request(db, client=client, clinic=clinic, method=f"staff_request by {actor}", now=now)


def confirm_by_text(db: Session, *, client: Client, clinic: Clinic, now: datetime) -> OutboxMessage | None:
    """A "yes" given on a call for a number keyed in by the caller: the number's owner confirms by text first.

    Whoever called may have typed someone else's number, so their "yes" cannot be that
    person's consent: the consent stays requested (nothing automated goes out) until a YES
    comes back from the number itself. None when nothing may be texted: an opted-out number
    (only its owner can resubscribe, by START) or a clinic with nothing to text from.
    """
    state = state_of(db, client, clinic)
    if state.opted_out_at is not None or state.current or not clinic.numbers:
        return None
    return _queue_request(db, client=client, clinic=clinic, method="voice_keyed_number", now=now)


def _queue_request(db: Session, *, client: Client, clinic: Clinic, method: str, now: datetime) -> OutboxMessage:
    body = texts.consent_request(clinic, client.locale)
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id, action=ConsentAction.REQUESTED.value,
                        wording=body, method=method[:32], scope=intake_scope(clinic), created_at=now))
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id, kind=MessageKind.CONSENT_REQUEST,
                        channel=Channel.SMS, to_number=client.phone, from_number=clinic.sending_number, body=body,
                        due_at=now, status=MessageStatus.PENDING, created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def answer_request(db: Session, *, client: Client, clinic: Clinic, agreed: bool, channel: str,
                   now: datetime) -> str | None:
    """Record a YES/NO to a pending consent request with the request's exact words; the reply, or None."""
    # Every yes/no answer mid-intake asks: a request is pending only when it is the latest event,
    # so one indexed row says "no" before the whole record is read.
    latest = db.scalar(_LATEST_ACTION, {"client_id": client.id, "clinic_id": clinic.id})
    if latest != ConsentAction.REQUESTED.value:
        return None
    state = state_of(db, client, clinic)
    if state.status is not ConsentStatus.REQUESTED or state.request_wording is None:
        return None
    method = f"{Channel(channel).value}_consent_request"
    if agreed:
        opt_in(db, client=client, clinic=clinic, wording=state.request_wording, method=method, now=now,
               scope=intake_scope(clinic))
        return texts.consent_given_reply(clinic, client.locale)
    record_declined(db, client=client, clinic=clinic, wording=state.request_wording, method=method, now=now)
    return texts.consent_declined_reply(clinic, client.locale)
