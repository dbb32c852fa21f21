"""Rebooking by keypad: "press 2" on a reminder call or a call the client makes offers the same open times a text would.

The times, the re-check of a pick and the booking are ``glowline.plans.rebooking``'s; this
module only says them and reads the key pressed. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from glowline.plans import rebooking
from glowline.plans.holds import hold_session
from glowline.store.models import (Client, Clinic, OutboxMessage, PlanStatus, SessionStatus, SlotOffer, SlotOfferStatus,
                                   TreatmentSession)
from glowline.voice.calls import keypad_gather
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.messages.dates import spoken_session_moment
from glowline.normalize import fold
from glowline.phone import clinic_phone
from glowline.voice.twiml import AnswerVia, SpokenResponse, spoken_clinic_phone

LIVE = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED)
_SPOKEN = {"zero": "0", "none": "0", "one": "1", "first": "1", "two": "2", "second": "2", "to": "2", "too": "2",
           "three": "3", "third": "3",
           # Spanish, accents folded ("el primero", "la dos", "ninguno").
           "cero": "0", "ninguno": "0", "ninguna": "0", "uno": "1", "una": "1", "primero": "1", "primera": "1",
           "dos": "2", "segundo": "2", "segunda": "2", "tres": "3", "tercero": "3", "tercera": "3"}


def key_of(reply: str | None, via: AnswerVia) -> str | None:
    """The key a caller pressed, or the number they said ("two", "the second one")."""
    text = fold((reply or "").strip().lower())
    if via is AnswerVia.DTMF:
        return text[:1] or None
    for word in text.replace(".", " ").replace(",", " ").split():
        if word in _SPOKEN or word in rebooking.CHOICES:
            return _SPOKEN.get(word, word)
    return None


def offer_twiml(made: SlotOffer, tz: str, action_url: str, *, lead: str, locale: str = DEFAULT_LOCALE,
                client_tz: str | None = None) -> str:
    """Say the offered times as keys 1-3 and 0 for a call back, and listen for one key, in the caller's language.

    Times are on the clinic's clock (the visit is there), its zone named when the client's differs.
    """
    choices = ". ".join(text("call.rebook.choice", locale, n=n, when=spoken_session_moment(t, tz, client_tz, locale))
                        for n, t in enumerate(rebooking.offered_times(made), 1))
    response = SpokenResponse(locale)
    response.append(keypad_gather(action_url, text("call.rebook.offer", locale, intro=lead, choices=choices), locale))
    response.say(text("call.rebook.no_choice", locale))
    response.hangup()
    return str(response)


def offer_on_call(db: Session, rt, message: OutboxMessage, *, now: datetime, action_url: str) -> str | None:
    """Hold the call's session and offer open times by keypad; None when the clinic has none to offer."""
    session = message.session
    if session is None or not rebooking.enabled(db, message.clinic):
        return None
    return offer_for_session(db, rt, session, now=now, action_url=action_url)


def offer_for_session(db: Session, rt, session: TreatmentSession, *, now: datetime, action_url: str) -> str | None:
    """ "Press 2" on any call: hold the session like a text R, then offer open times by keypad if there are any.

    None when the session is no longer live or the clinic has no time to offer (the caller
    then hears the call-back answer, and the session stays held for staff).
    """
    plan = session.plan
    if session.status not in LIVE or plan is None or plan.status is not PlanStatus.ACTIVE:
        return None
    hold_session(db, session, actor=f"client #{plan.client_id}", now=now)
    made = rebooking.offer(db, session, catalog=rt.catalog, now=now) if rebooking.enabled(db, plan.clinic) else None
    if made is None:
        return None
    locale = plan.client.locale
    return offer_twiml(made, plan.clinic.timezone, action_url, lead=text("call.rebook.lead", locale), locale=locale,
                       client_tz=plan.clinic.zone_for(plan.client))


def answer_on_call(db: Session, rt, message: OutboxMessage, key: str | None, *, now: datetime,
                   action_url: str) -> str:
    """Book the key pressed (re-checked), offer fresh times if it was taken, or ask for a call back."""
    return answer_pick(db, rt, message.clinic, message.client, key, now=now, action_url=action_url)


def answer_pick(db: Session, rt, clinic: Clinic, client: Client | None, key: str | None, *, now: datetime,
                action_url: str) -> str:
    """The caller's key for an offered time, on any call: booked (re-checked), fresh times, or a call back."""
    phone = spoken_clinic_phone(clinic)
    made = rebooking.open_offer(db, clinic, client) if client is not None else None
    locale = client.locale if client is not None else DEFAULT_LOCALE
    response = SpokenResponse(locale)
    if made is None or client is None:
        response.say(text("call.rebook.closed", locale, phone=phone))
        response.hangup()
        return str(response)
    if key not in rebooking.CHOICES or int(key) > len(made.slots):
        return offer_twiml(made, clinic.timezone, action_url, lead=text("call.rebook.not_a_choice", locale),
                           locale=locale, client_tz=clinic.zone_for(client))
    before = made.id
    texts = rebooking.pick(db, rt, made, key, now=now, locale=locale)
    fresh = rebooking.open_offer(db, clinic, client)
    if fresh is not None and fresh.id != before:
        return offer_twiml(fresh, clinic.timezone, action_url, lead=text("call.rebook.taken", locale), locale=locale,
                           client_tz=clinic.zone_for(client))
    if made.status is SlotOfferStatus.BOOKED:
        # Said, not read: "Thursday, December 3 at 10 AM" rather than the text's "Thu Dec 3 at 10:00 AM".
        booked = db.get(TreatmentSession, made.session_id)
        assert booked is not None  # the offer's foreign key keeps it
        when = spoken_session_moment(booked.starts_at, clinic.timezone, clinic.zone_for(client), locale)
        response.say(text("call.rebook.booked", locale, when=when, phone=phone))
        response.hangup()
        return str(response)
    # The text answer, without the clinic's name in front: the call already said who it is.
    spoken = texts[0].split(": ", 1)[-1]
    # On a call "reply R" means nothing: keep only the call-back part ("Responda R o llame" -> "Llame").
    spoken = spoken.replace("Reply R or call", "Call").replace("Responda R o llame", "Llame")
    response.say(f"{spoken.replace(clinic_phone(clinic), phone)} {text('voice.goodbye', locale)}")
    response.hangup()
    return str(response)


def missed_call_twiml(db: Session, message: OutboxMessage, *, answered_by_machine: bool, action_url: str) -> str:
    """A voice-preferring client's "we missed you" call: the open times by keypad, or the call-back number."""
    clinic, client, session = message.clinic, message.client, message.session
    made = rebooking.open_offer(db, clinic, client) if client is not None else None
    locale = client.locale if client is not None else DEFAULT_LOCALE
    when = (spoken_session_moment(session.starts_at, clinic.timezone, clinic.zone_for(client), locale)
            if session is not None else None)
    what = text("call.appointment_on", locale, when=when) if when else text("call.upcoming_appointment", locale)
    intro = text("call.missed", locale, clinic=clinic.name, what=what)
    if made is None or answered_by_machine:
        response = SpokenResponse(locale)
        response.say(text("call.machine", locale, intro=intro, phone=spoken_clinic_phone(clinic)))
        response.hangup()
        return str(response)
    return offer_twiml(made, clinic.timezone, action_url, lead=intro, locale=locale,
                       client_tz=clinic.zone_for(client))
