"""Client replies to reminders: C/Y confirms the next session, R asks to move it, 0-3 answers a rebooking offer.

R offers open times when the clinic set opening hours (else staff call back); anything else goes to the inbox.

The SMS router calls ``handle_reply`` only for a client with an active plan and no intake in
progress, after STOP-type words were handled. CANCEL is one of those words (US carriers
treat it as an opt-out), so it can never mean "cancel my appointment" here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.phone import clinic_phone
from glowline.clinics.clients import first_name
from glowline.delivery import notices
from glowline.messages import dates, templates
from glowline.messages.catalog import text
from glowline.store.models import (Client, Clinic, HandledAs, InboundMessage, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)
from glowline.normalize import words
from glowline.messages.settings import MessageSettings
from glowline.plans import rebooking
from glowline.plans.holds import hold_session
from glowline.plans.timeline import zone

log = logging.getLogger(__name__)

# "sí"/"si" and "confirmo" from Spanish-speaking clients; CANCELAR is an opt-out word, never a reply here.
CONFIRM_WORDS = frozenset({"c", "confirm", "confirmed", "y", "yes", "si", "sí", "confirmo", "confirmar", "confirmado"})
RESCHEDULE_WORDS = frozenset({"r", "reschedule"})
UPCOMING = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED)


def next_session(db: Session, *, clinic: Clinic, client: Client, now: datetime) -> TreatmentSession | None:
    """The client's next session at this clinic that has not started and is not cancelled."""
    return db.scalars(
        select(TreatmentSession).join(Plan)
        .where(Plan.clinic_id == clinic.id, Plan.client_id == client.id, Plan.status == PlanStatus.ACTIVE,
               TreatmentSession.status.in_(UPCOMING), TreatmentSession.starts_at > now)
        .order_by(TreatmentSession.starts_at).limit(1)).first()


def _when(session: TreatmentSession, client: Client, clinic: Clinic, locale: str = "en") -> str:
    # The clinic's clock (the visit is there), the zone named when the client's differs.
    local = session.starts_at.astimezone(zone(clinic.timezone))
    clock = dates.format_session_time(session.starts_at, clinic.timezone, clinic.zone_for(client), locale)
    return text("moment.at", locale, date=dates.format_date(local, locale), time=clock)


def handle_reply(db: Session, rt, *, clinic: Clinic, client: Client, body: str | None, now: datetime,
                 inbound: InboundMessage | None = None) -> list[str] | None:
    """Act on a reply and return the texts to answer with; None means "for the clinic inbox" (staff notified).

    Never commits. ``inbound``, when given, is marked for the inbox too.
    """
    said = words(body)
    if said in rebooking.CHOICES:
        offered = rebooking.open_offer(db, clinic, client)
        if offered is not None:
            return rebooking.pick(db, rt, offered, said, now=now)
    if said in CONFIRM_WORDS:
        return _confirm(db, clinic=clinic, client=client, now=now)
    if said in RESCHEDULE_WORDS:
        if inbound is not None:
            # A person has to find the new time: the request waits in the inbox until done,
            # and staff see an R in the inbox whether or not the client is offered times by text.
            inbound.handled_as = HandledAs.RESCHEDULE.value
            inbound.needs_attention = True
        return _reschedule(db, rt, clinic=clinic, client=client, now=now)
    if inbound is not None:
        inbound.needs_attention = True
    notices.notify_staff(db, rt, clinic=clinic, now=now,
                        body=f"{clinic.name}: {who(db, rt, clinic, client)} sent a text that needs a reply: "
                             f"{client_page(rt, client)}")
    log.info("client %s: reply for the inbox of clinic %s", client.id, clinic.id)
    return None


def who(db: Session, rt, clinic: Clinic, client: Client) -> str:
    """How a staff SMS names a client: first name only (minimum necessary), else their client number."""
    return first_name(db, clinic.id, client.id) or f"client #{client.id}"


def client_page(rt, client: Client) -> str:
    """The staff page of a client, which a staff phone opens behind the login."""
    return f"{rt.config.public_base_url.rstrip('/')}/staff/clients/{client.id}"


def _confirm(db: Session, *, clinic: Clinic, client: Client, now: datetime) -> list[str]:
    session = next_session(db, clinic=clinic, client=client, now=now)
    if session is None:
        return [text("reply.nothing_to_confirm", client.locale, clinic=clinic.name, phone=clinic_phone(clinic))]
    if session.status is not SessionStatus.CONFIRMED:
        session.status = SessionStatus.CONFIRMED
        session.confirmed_at = now
    log.info("client %s confirmed session %s", client.id, session.id)
    return [text("reply.confirmed", client.locale, clinic=clinic.name, when=_when(session, client, clinic, client.locale),
                 phone=clinic_phone(clinic))]


def _reschedule(db: Session, rt, *, clinic: Clinic, client: Client, now: datetime) -> list[str]:
    session = next_session(db, clinic=clinic, client=client, now=now)
    if session is not None:
        hold_session(db, session, actor=f"client #{client.id}", now=now)
        offered = rebooking.offer(db, session, catalog=rt.catalog, now=now)
        if offered is not None:
            log.info("client %s offered times for session %s", client.id, session.id)
            return [templates.render("slot_offer", MessageSettings.from_clinic(clinic, links=rt.links), client.locale,
                                     choices=rebooking.offer_text(clinic, offered, client.locale, client=client))]
        what = f"session {session.number} ({_when(session, client, clinic)})"
    else:
        what = "an appointment"
    notices.notify_staff(db, rt, clinic=clinic, now=now,
                        body=f"{clinic.name}: {who(db, rt, clinic, client)} asked to reschedule {what}. "
                             f"{client_page(rt, client)}")
    log.info("client %s asked for a callback (session %s)", client.id, session.id if session else None)
    return [text("reply.reschedule", client.locale, clinic=clinic.name, phone=clinic_phone(clinic))]
