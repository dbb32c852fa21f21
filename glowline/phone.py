"""Phone numbers: everything stored is E.164."""

from __future__ import annotations

import re

import phonenumbers

from glowline.exceptions import ValidationError


def to_e164(raw: str, default_region: str = "US", field: str = "phone") -> str:
    """Parse a human-typed number and return it in E.164, or raise ValidationError.

    The error names the field, never the number: a client's number is patient data, and error
    messages reach logs, job records and API responses.
    """
    try:
        parsed = phonenumbers.parse((raw or "").strip(), default_region)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{field}: not a phone number", field=field) from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{field}: not a valid phone number for {default_region} or in +international form",
                              field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_e164(value: str) -> bool:
    """True when ``value`` is already a valid E.164 number."""
    if not isinstance(value, str) or not value.startswith("+"):
        return False
    try:
        return to_e164(value) == value
    except ValidationError:
        return False


DEFAULT_REGION = "US"


def region_of(number: str | None) -> str | None:
    """The country (ISO 3166 region, e.g. "US", "GB") an E.164 number belongs to, or None."""
    try:
        parsed = phonenumbers.parse(number or "", None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(parsed)


def clinic_region(clinic) -> str:
    """The clinic's own country: that of its Twilio number (else its contact phone), US by default."""
    numbers = getattr(clinic, "numbers", None) or []
    for number in [n.number for n in numbers] + [getattr(clinic, "contact_phone", None)]:
        region = region_of(number)
        if region and region != "001":
            return region
    return DEFAULT_REGION


def for_people(number: str, region: str = DEFAULT_REGION) -> str:
    """A number as people dial it from ``region``: national at home ("(212) 555-0100"), else international.

    The one way every text and staff page writes a phone number (phonenumbers' formats, so
    each country reads as its people write it: "020 7946 0958" in the UK, "+44 20 7946 0958" from the US).
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    home = phonenumbers.region_code_for_number(parsed) == region
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, fmt)


def spoken_groups(number: str, region: str = DEFAULT_REGION) -> tuple[bool, list[str]]:
    """The digit groups of a number as people dial it from ``region``, and whether it starts with "+".

    A voice reads each group digit by digit with a pause between groups: "2 1 2, 5 5 5, 0 1 0 0".
    """
    shown = for_people(number, region)
    groups = ["".join(c for c in part if c.isdigit()) for part in re.split(r"[^0-9]+", shown)]
    return shown.startswith("+"), [" ".join(group) for group in groups if group]


def clinic_phone(clinic) -> str:
    """The clinic's call-back number as its clients dial it."""
    return for_people(clinic.callback_number, clinic_region(clinic))
