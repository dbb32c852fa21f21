"""Phone numbers: everything stored is E.164."""

from __future__ import annotations

import phonenumbers

from glowline.exceptions import ValidationError


def to_e164(raw: str, default_region: str = "US", field: str = "phone") -> str:
    """Parse a human-typed number and return it in E.164, or raise ValidationError."""
    try:
        parsed = phonenumbers.parse((raw or "").strip(), default_region)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{field}: {raw!r} is not a phone number", field=field) from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{field}: {raw!r} is not a valid phone number", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_e164(value: str) -> bool:
    """True when ``value`` is already a valid E.164 number."""
    if not isinstance(value, str) or not value.startswith("+"):
        return False
    try:
        return to_e164(value) == value
    except ValidationError:
        return False


def pretty(e164: str) -> str:
    """Format an E.164 number for people, e.g. (212) 555-0100 for a US number."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, fmt)
