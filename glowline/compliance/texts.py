"""The compliance room's client-facing sentences, from the catalogue (``glowline.messages``) by key."""

from __future__ import annotations

from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.phone import clinic_phone
from glowline.store.models import Clinic


def _phone(clinic: Clinic) -> str:
    return clinic_phone(clinic)


def consent_request(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The one message staff may send to ask for consent: exactly this wording is recorded."""
    return text("consent.request", locale, clinic=clinic.name)


def consent_given_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The answer to a YES after a consent request."""
    return text("consent.request.given", locale, clinic=clinic.name)


def consent_declined_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The answer to a NO after a consent request."""
    return text("consent.request.declined", locale, clinic=clinic.name, phone=_phone(clinic))


def confirm_stop_question(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The one question a reply that is only probably a stop gets back."""
    return text("consent.confirm_stop", locale, clinic=clinic.name)


def how_to_stop_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The answer to a question about stopping ("how do I unsubscribe?"): an answer, not an opt-out."""
    return text("consent.how_to_stop", locale, clinic=clinic.name)


def appointment_cancel_reply(clinic: Clinic, locale: str = DEFAULT_LOCALE) -> str:
    """The answer to "cancel my appointment": passed to staff, who will call; no opt-out."""
    return text("consent.appointment_cancel", locale, clinic=clinic.name, phone=_phone(clinic))
