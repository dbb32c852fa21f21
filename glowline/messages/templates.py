"""Message texts: per-clinic templates over sensible defaults, and SMS segment counting."""

from __future__ import annotations

import string
from datetime import datetime
from typing import TYPE_CHECKING
from collections.abc import Mapping

from glowline.exceptions import ValidationError
from glowline.phone import pretty

if TYPE_CHECKING:
    from glowline.messages.settings import MessageSettings

MAX_BODY = 1600  # Twilio refuses longer bodies with error 21617.

# Minimum necessary: clinic, date, time, what to do and a call-back number. No condition or
# treatment names; a clinic that wants more writes its own template.
DEFAULTS: dict[str, str] = {
    "reminder_confirm": (
        "{clinic}: reminder of your appointment on {date} at {time}. Please arrive 15 minutes early "
        "so the numbing cream has time to work. Reply C to confirm or R to reschedule. "
        "Questions? Call {phone}."
    ),
    "reminder": (
        "{clinic}: see you on {date} at {time}. Please arrive 15 minutes early. "
        "Need to change it? Call {phone}."
    ),
    "aftercare": (
        "{clinic}: thank you for coming in. For {duration} after your visit (until {until}) please avoid: "
        "{restrictions}. Questions? Call {phone}."
    ),
    "aftercare_end": (
        "{clinic}: your aftercare period ended {until}. You can return to your usual routine. "
        "Questions? Call {phone}."
    ),
    "booking_nudge": (
        "{clinic}: your next appointment is planned for {date} at {time}. Reply C to confirm or "
        "R to reschedule, or call {phone}."
    ),
    "plan_confirmation": (
        "{clinic}: your series of {total_sessions} appointments is booked. The first is on {date} "
        "at {time}. We will text you reminders before each visit. Reply C to confirm or R to "
        "reschedule. Call {phone} with questions. Reply STOP to opt out."
    ),
}

PLACEHOLDERS = frozenset({"clinic", "phone", "date", "time", "until", "restrictions", "hours", "duration",
                          "session_number", "total_sessions"})

# GSM 03.38 default alphabet (ESC excluded: it only introduces the extension table).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, two septets.
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def placeholders_of(text: str, key: str) -> set[str]:
    """The placeholder names a template uses; a malformed template raises ValidationError naming the key."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValidationError(f"template {key!r}: {exc}", field=f"templates.{key}") from None


def validate_templates(templates: Mapping[str, str]) -> None:
    """Check a clinic's overrides: known keys, known placeholders only."""
    for key, text in templates.items():
        if key not in DEFAULTS:
            raise ValidationError(f"unknown template {key!r}; known templates: {', '.join(DEFAULTS)}",
                                  field=f"templates.{key}")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"template {key!r} must be non-empty text", field=f"templates.{key}")
        _check_placeholders(key, text)


def _check_placeholders(key: str, text: str) -> set[str]:
    names = placeholders_of(text, key)
    # Attribute or index access ({clinic.__class__}) would reach into Python objects: refuse it.
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise ValidationError(f"template {key!r} uses unknown placeholder {{{unknown[0]}}}; "
                              f"allowed: {', '.join(sorted(PLACEHOLDERS))}", field=f"templates.{key}")
    return names


def render(key: str, settings: MessageSettings, **values: object) -> str:
    """Render template ``key`` for a clinic; unknown placeholders or a body over 1600 chars raise ValidationError."""
    if key not in DEFAULTS:
        raise ValidationError(f"unknown template {key!r}", field="key")
    text = settings.templates.get(key) or DEFAULTS[key]
    names = _check_placeholders(key, text)
    # People read and dial "(212) 555-0123" more easily than "+12125550123"; HELP replies already do.
    context: dict[str, object] = {"clinic": settings.clinic_name, "phone": pretty(settings.clinic_phone)}
    context.update({k: v for k, v in values.items() if v is not None})
    missing = sorted(names - context.keys())
    if missing:
        raise ValidationError(f"template {key!r} uses {{{missing[0]}}}, which this message cannot fill",
                              field=f"templates.{key}")
    body = text.format_map(context)
    if len(body) > MAX_BODY:
        raise ValidationError(f"template {key!r} renders to {len(body)} characters; the limit is {MAX_BODY}",
                              field=f"templates.{key}")
    return body


def segments(text: str) -> tuple[int, str]:
    """How many SMS segments ``text`` takes and in which encoding: GSM-7 (160/153) or UCS-2 (70/67)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        widths = [2 if c in _GSM_EXTENDED else 1 for c in text]
        return _pack(widths, single=160, multi=153), "GSM-7"
    # UCS-2 counts UTF-16 code units: characters outside the BMP (most emoji) take two.
    widths = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _pack(widths, single=70, multi=67), "UCS-2"


def _pack(widths: list[int], *, single: int, multi: int) -> int:
    # An escape sequence or a surrogate pair is never split across two segments,
    # so a segment may end a unit short; count by filling greedily.
    if sum(widths) <= single:
        return 1
    count, used = 1, 0
    for width in widths:
        if used + width > multi:
            count, used = count + 1, 0
        used += width
    return count


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(when: datetime) -> str:
    """A local date as clients read it: "Thu Dec 5" (English whatever the process locale)."""
    return f"{_DAYS[when.weekday()]} {_MONTHS[when.month - 1]} {when.day}"


def format_time(when: datetime) -> str:
    """A local time as clients read it: "10:00 AM" (no locale dependence)."""
    hour = when.hour % 12 or 12
    return f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def format_moment(when: datetime, *, year: bool = False) -> str:
    """A local date and time: "Thu Dec 5, 11:00 AM" (with ``year``: "Thu Dec 5 2026, 11:00 AM")."""
    day = f"{format_date(when)} {when.year}" if year else format_date(when)
    return f"{day}, {format_time(when)}"


def format_duration(hours: int) -> str:
    """Hours as clients say them: "2 days", "1 day", "36 hours"."""
    if hours % 24 == 0:
        days = hours // 24
        return "1 day" if days == 1 else f"{days} days"
    return "1 hour" if hours == 1 else f"{hours} hours"
