"""Per-clinic message templates over the catalogue's defaults, and SMS segment counting."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from glowline.exceptions import ValidationError
from glowline.messages.catalog import DEFAULT_LOCALE, LOCALES, locale_of, placeholders, template_of
from glowline.phone import for_people

if TYPE_CHECKING:
    from glowline.messages.settings import MessageSettings

MAX_BODY = 1600  # Twilio refuses longer bodies with error 21617.

# The clinic-facing names of the templates a clinic may override; the default wording of each
# is the catalogue's "template.<key>" in the client's locale.
TEMPLATE_KEYS: tuple[str, ...] = ("reminder_confirm", "reminder", "aftercare", "aftercare_end", "booking_nudge",
                                  "plan_confirmation", "session_moved", "sessions_moved", "missed_session",
                                  "missed_session_offer", "slot_offer", "session_cancelled")

PLACEHOLDERS = frozenset({"clinic", "phone", "date", "time", "until", "restrictions", "hours", "duration",
                          "session_number", "total_sessions", "choices", "link"})

# GSM 03.38 default alphabet (ESC excluded: it only introduces the extension table).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, two septets.
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_GSM_ALL = _GSM_BASIC | _GSM_EXTENDED


def default_template(key: str, locale: str = DEFAULT_LOCALE) -> str:
    """The catalogue's wording of template ``key`` in ``locale``."""
    return template_of(f"template.{key}", locale)


def placeholders_of(text: str, key: str) -> set[str]:
    """The placeholder names a template uses; a malformed template raises ValidationError naming the key."""
    try:
        return placeholders(text)
    except ValueError as exc:
        raise ValidationError(f"template {key!r}: {exc}", field=f"templates.{key}") from None


def validate_templates(templates: Mapping[str, object]) -> None:
    """Check a clinic's overrides: known keys, known locales, known placeholders only.

    An override is either one text (the clinic's English) or ``{"en": ..., "es": ...}`` per locale.
    """
    for key, given in templates.items():
        if key not in TEMPLATE_KEYS:
            raise ValidationError(f"unknown template {key!r}; known templates: {', '.join(TEMPLATE_KEYS)}",
                                  field=f"templates.{key}")
        wordings = given if isinstance(given, Mapping) else {DEFAULT_LOCALE: given}
        if not wordings:
            raise ValidationError(f"template {key!r} must give at least one locale", field=f"templates.{key}")
        for locale, text in wordings.items():
            if locale not in LOCALES:
                raise ValidationError(f"template {key!r}: unknown locale {locale!r}; known: {', '.join(LOCALES)}",
                                      field=f"templates.{key}")
            if not isinstance(text, str) or not text.strip():
                raise ValidationError(f"template {key!r} must be non-empty text", field=f"templates.{key}")
            _check_placeholders(key, text)


def override_of(given: object, locale: str) -> str | None:
    """A clinic's own wording of a template in ``locale``, or None when it gave none for that locale.

    A single text is the clinic's English: a Spanish client then gets the default Spanish, never English.
    """
    if isinstance(given, Mapping):
        wording = given.get(locale_of(locale))
        return wording if isinstance(wording, str) and wording.strip() else None
    if isinstance(given, str) and given.strip() and locale_of(locale) == DEFAULT_LOCALE:
        return given
    return None


# A template's placeholders are a pure function of its text, and a plan start renders the same
# few texts tens of thousands of times: parse each once.
@lru_cache(maxsize=512)
def _check_placeholders(key: str, text: str) -> frozenset[str]:
    names = placeholders_of(text, key)
    # Attribute or index access ({clinic.__class__}) would reach into Python objects: refuse it.
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise ValidationError(f"template {key!r} uses unknown placeholder {{{unknown[0]}}}; "
                              f"allowed: {', '.join(sorted(PLACEHOLDERS))}", field=f"templates.{key}")
    return frozenset(names)


# A clinic's number as people dial it, kept per process: phonenumbers' parse is most of a render's cost,
# and every text of a clinic carries the same number. Clinic numbers only: clients' are not cached.
_clinic_phone = lru_cache(maxsize=256)(for_people)


def render(key: str, settings: MessageSettings, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """Render template ``key`` for a clinic (its override, else the catalogue's); unknown placeholders or a
    body over 1600 chars raise ValidationError."""
    if key not in TEMPLATE_KEYS:
        raise ValidationError(f"unknown template {key!r}", field="key")
    text = override_of(settings.templates.get(key), locale) or default_template(key, locale)
    names = _check_placeholders(key, text)
    # As people dial it in the clinic's country ("(212) 555-0123", not "+12125550123"), as every text does.
    context: dict[str, object] = {"clinic": settings.clinic_name,
                                  "phone": _clinic_phone(settings.clinic_phone, settings.region)}
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
    # Set operations and a length check first: a plan start counts every body it writes, and most
    # fit one segment, so the per-character walk is left for the long ones.
    used = set(text)
    if used <= _GSM_ALL:
        extended = used & _GSM_EXTENDED
        if len(text) + sum(text.count(c) for c in extended) <= 160:
            return 1, "GSM-7"
        if not extended:  # every character one septet: no escape to keep whole, so plain division
            return -(-len(text) // 153), "GSM-7"
        widths = [2 if c in _GSM_EXTENDED else 1 for c in text]
        return _pack(widths, single=160, multi=153), "GSM-7"
    # UCS-2 counts UTF-16 code units: characters outside the BMP (most emoji) take two.
    units = len(text.encode("utf-16-le")) // 2
    if units <= 70:
        return 1, "UCS-2"
    if units == len(text):  # no surrogate pair to keep whole
        return -(-units // 67), "UCS-2"
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
