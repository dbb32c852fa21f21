"""Clients rebook themselves: up to three open times by text (or keypad), a pick by number, checked again.

A clinic with opening hours and a capacity gets this; without them, R works as before (staff
call back). The pick is checked again under a lock on the clinic's row, so two clients
answering for the same last slot at once end with one booked and one offered fresh times.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.phone import clinic_phone
from glowline.catalog.protocols import Catalog
from glowline.clinics import audit
from glowline.clinics.audit import AuditAction
from glowline.delivery import notices
from glowline.exceptions import Conflict, NeedsConfirmation, ValidationError
from glowline.messages import dates
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.plans.service import move_session
from glowline.plans.slots import Calendar, find_slots, interval_window, is_open, read_preference
from glowline.plans.timeline import zone
from glowline.store.models import (Client, Clinic, ClinicClosure, Intake, OpeningHours, Plan, PlanStatus,
                                   SessionStatus, SlotOffer, SlotOfferStatus, TreatmentSession)

log = logging.getLogger(__name__)


class RebookState(str, enum.Enum):
    """Where a session's rebooking stands, as the staff day view shows it next to its confirmation."""
    ASKED = "asked to reschedule"
    OFFERED = "rebooking offered"

CHOICES = frozenset({"0", "1", "2", "3"})
# Sessions in these states hold a place in the calendar.
BOOKED = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED,
          SessionStatus.ATTENDED)


def enabled(db: Session, clinic: Clinic) -> bool:
    """True when the clinic set a capacity and at least one opening span: clients may rebook by text."""
    if not clinic.capacity:
        return False
    return db.scalar(select(OpeningHours.id).where(OpeningHours.clinic_id == clinic.id).limit(1)) is not None


def calendar_for(db: Session, clinic: Clinic, *, start: datetime, end: datetime,
                 without: int | None = None) -> Calendar:
    """The clinic's calendar between ``start`` and ``end``: hours, closures, capacity and booked sessions."""
    hours: dict[int, list] = {}
    for span in db.scalars(select(OpeningHours).where(OpeningHours.clinic_id == clinic.id)
                           .order_by(OpeningHours.weekday, OpeningHours.opens)):
        hours.setdefault(span.weekday, []).append((span.opens, span.closes))
    closed = frozenset(db.scalars(select(ClinicClosure.day).where(ClinicClosure.clinic_id == clinic.id)))
    margin = timedelta(days=1)
    booked = db.execute(
        select(TreatmentSession.starts_at, TreatmentSession.duration_minutes).join(Plan)
        .where(Plan.clinic_id == clinic.id, Plan.status == PlanStatus.ACTIVE,
               TreatmentSession.status.in_(BOOKED), TreatmentSession.id != (without or -1),
               TreatmentSession.starts_at >= start - margin, TreatmentSession.starts_at <= end + margin)).all()
    return Calendar(timezone=clinic.timezone, hours=hours, capacity=clinic.capacity or 0, closed=closed,
                    quiet_start=clinic.quiet_start, quiet_end=clinic.quiet_end,
                    booked=tuple((s, s + timedelta(minutes=m)) for s, m in booked))


def _neighbours(session: TreatmentSession) -> tuple[TreatmentSession | None, TreatmentSession | None]:
    live = [s for s in session.plan.sessions if s.status not in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)
            or s.id == session.id]
    index = live.index(session)
    return (live[index - 1] if index > 0 else None), (live[index + 1] if index + 1 < len(live) else None)


def open_times(db: Session, session: TreatmentSession, *, catalog: Catalog, now: datetime,
               exclude: tuple[datetime, ...] = ()) -> list[datetime]:
    """Up to three times this session could move to, within the protocol's spacing from its neighbours."""
    plan = session.plan
    protocol = catalog.get(plan.protocol_id)
    before, after = _neighbours(session)
    earliest, latest = interval_window(previous=before.starts_at if before else None,
                                       following=after.starts_at if after else None,
                                       min_weeks=protocol.interval_weeks.min, max_weeks=protocol.interval_weeks.max,
                                       tz=plan.clinic.timezone, now=now)
    if latest < earliest:
        return []
    intake = db.get(Intake, plan.intake_id) if plan.intake_id else None
    preference = read_preference((intake.answers or {}).get("preferred_times") if intake else None)
    calendar = calendar_for(db, plan.clinic, start=earliest, end=latest, without=session.id)
    return find_slots(calendar, length=timedelta(minutes=session.duration_minutes), earliest=earliest,
                      latest=latest, now=now, preference=preference, exclude=exclude)


def offer(db: Session, session: TreatmentSession, *, catalog: Catalog, now: datetime,
          exclude: tuple[datetime, ...] = ()) -> SlotOffer | None:
    """Write an open offer of up to three times for the session (replacing older ones), or None when none fit."""
    plan = session.plan
    if not enabled(db, plan.clinic):
        return None
    times = open_times(db, session, catalog=catalog, now=now, exclude=exclude)
    for older in db.scalars(select(SlotOffer).where(SlotOffer.clinic_id == plan.clinic_id,
                                                    SlotOffer.client_id == plan.client_id,
                                                    SlotOffer.status == SlotOfferStatus.OPEN)):
        older.status = SlotOfferStatus.REPLACED
        older.answered_at = now
    if not times:
        return None
    made = SlotOffer(clinic_id=plan.clinic_id, client_id=plan.client_id, plan_id=plan.id, session_id=session.id,
                     slots=[t.isoformat() for t in times], status=SlotOfferStatus.OPEN, created_at=now)
    db.add(made)
    db.flush()
    audit.record(db, clinic_id=plan.clinic_id, actor=f"client #{plan.client_id}", action=AuditAction.TIMES_OFFERED,
                 now=now, plan_id=plan.id, session=session.number, offer=made.id, times=list(made.slots))
    return made


def offered_times(made: SlotOffer) -> list[datetime]:
    """The offer's times, in the order offered."""
    return [datetime.fromisoformat(t) for t in made.slots]


def describe(when: datetime, tz: str, locale: str = DEFAULT_LOCALE, client_tz: str | None = None) -> str:
    """A time as the offer names it: "Tue Jan 19 10:00 AM", with the clinic's zone when the client's differs."""
    local = when.astimezone(zone(tz))
    return f"{dates.format_date(local, locale)} {dates.format_session_time(when, tz, client_tz, locale)}"


def offer_text(clinic: Clinic, made: SlotOffer, locale: str = DEFAULT_LOCALE, *, client: Client | None = None) -> str:
    """ "Reply 1 for Tue Jan 19 10:00 AM, 2 for ..., or 0 and we'll call you." (the clinic's clock, as sessions)"""
    client_tz = clinic.zone_for(client) if client is not None else None
    choices = ", ".join(text("rebook.choice", locale, n=n, when=describe(t, clinic.timezone, locale, client_tz))
                        for n, t in enumerate(offered_times(made), 1))
    return text("rebook.choices", locale, choices=choices)


def open_offer(db: Session, clinic: Clinic, client: Client) -> SlotOffer | None:
    """The client's open offer at this clinic for a session still booked on an active plan, if any.

    An offer for a plan cancelled or a session moved by staff since is stale: a "2" then is
    an ordinary message, never a booking.
    """
    return db.scalars(select(SlotOffer).join(Plan, Plan.id == SlotOffer.plan_id)
                      .join(TreatmentSession, TreatmentSession.id == SlotOffer.session_id)
                      .where(SlotOffer.clinic_id == clinic.id, SlotOffer.client_id == client.id,
                             SlotOffer.status == SlotOfferStatus.OPEN, Plan.status == PlanStatus.ACTIVE,
                             TreatmentSession.status.in_((SessionStatus.CALLBACK_REQUESTED, SessionStatus.NO_SHOW)))
                      .order_by(SlotOffer.id.desc()).limit(1)).first()


def _call_back(db: Session, rt, made: SlotOffer, session: TreatmentSession, *, now: datetime, why: str) -> None:
    made.status = SlotOfferStatus.CALL_BACK
    made.answered_at = now
    clinic = session.plan.clinic
    audit.record(db, clinic_id=clinic.id, actor=f"client #{made.client_id}", action=AuditAction.REBOOK_CALL_BACK,
                 now=now, plan_id=session.plan_id, session=session.number, offer=made.id)
    notices.notify_staff(db, rt, clinic=clinic, now=now,
                        body=f"{clinic.name}: plan {session.plan_id} session {session.number}: {why} "
                             f"Please call the client back; details on the staff page.")


def pick(db: Session, rt, made: SlotOffer, choice: str, *, now: datetime,
         locale: str = DEFAULT_LOCALE) -> list[str]:
    """Answer a reply of 0-3 to an open offer: book the pick if still free, else offer fresh times."""
    session = db.get(TreatmentSession, made.session_id)
    assert session is not None  # the offer's foreign key keeps it
    clinic, client = session.plan.clinic, session.plan.client
    if choice == "0":
        _call_back(db, rt, made, session, now=now, why="the client asked for a call to find a new time.")
        return [text("reply.reschedule", locale, clinic=clinic.name, phone=clinic_phone(clinic))]
    times = offered_times(made)
    if int(choice) > len(times):
        return [text("rebook.not_a_choice", locale, clinic=clinic.name, choices=offer_text(clinic, made, locale, client=client))]
    wanted = times[int(choice) - 1]
    # One booking at a time per clinic: a second client picking the same last slot waits here,
    # then sees the first one's session in the calendar read below.
    db.execute(select(Clinic.id).where(Clinic.id == clinic.id).with_for_update())
    length = timedelta(minutes=session.duration_minutes)
    calendar = calendar_for(db, clinic, start=wanted, end=wanted + length, without=session.id)
    taken = wanted <= now or not is_open(calendar, wanted, length)
    if not taken:
        try:
            move_session(db, session.plan, session.number, wanted, shift_later=False,
                         actor=f"client #{made.client_id}", now=now, catalog=rt.catalog, links=rt.links, dispatcher=rt.dispatcher,
                         notify=False)
        except (NeedsConfirmation, ValidationError, Conflict):
            # The sessions around it moved since the offer: the time no longer fits the protocol.
            taken = True
    if taken:
        fresh = offer(db, session, catalog=rt.catalog, now=now, exclude=(wanted,))
        if fresh is None:
            _call_back(db, rt, made, session, now=now, why="the time the client picked was taken and no other fits.")
            return [text("rebook.taken.none", locale, clinic=clinic.name, phone=clinic_phone(clinic))]
        return [text("rebook.taken", locale, clinic=clinic.name, choices=offer_text(clinic, fresh, locale, client=client))]
    session.status = SessionStatus.CONFIRMED
    session.confirmed_at = now
    made.status = SlotOfferStatus.BOOKED
    made.answered_at = now
    log.info("client %s rebooked session %s by offer %s", made.client_id, session.id, made.id)
    when = describe(wanted, clinic.timezone, locale, clinic.zone_for(client))
    return [text("rebook.booked", locale, clinic=clinic.name, when=when, phone=clinic_phone(clinic))]


def rebook_states(db: Session, clinic: Clinic, session_ids: list[int]) -> dict[int, RebookState]:
    """For the staff day view: which of these sessions the client asked to move (R), or were offered new times.

    A session waiting for a call-back (R, or "press 2" on a call) is "asked to reschedule"; a
    no-show with an open offer of times is "rebooking offered". Others are left out.
    """
    if not session_ids:
        return {}
    states: dict[int, RebookState] = {}
    for sid in db.scalars(select(TreatmentSession.id).join(Plan)
                          .where(Plan.clinic_id == clinic.id, TreatmentSession.id.in_(session_ids),
                                 TreatmentSession.status == SessionStatus.CALLBACK_REQUESTED)):
        states[sid] = RebookState.ASKED
    offered = db.scalars(select(SlotOffer.session_id).where(SlotOffer.clinic_id == clinic.id,
                                                            SlotOffer.session_id.in_(session_ids),
                                                            SlotOffer.status == SlotOfferStatus.OPEN))
    for sid in offered:
        states.setdefault(sid, RebookState.OFFERED)
    return states
