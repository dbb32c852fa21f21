"""Dates, times and durations as clients read or hear them, in their locale, formatted by Babel.

Babel (CLDR data) rather than strftime, whose %a and %b follow the process locale, and
rather than hand-written month and day tables, which would need one per language.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_date_raw
from babel.dates import get_timezone_name, tokenize_pattern
from babel.dates import format_time as _babel_time_raw
from babel.units import format_unit

from glowline.messages.catalog import DEFAULT_LOCALE, locale_of, pattern, text

# CLDR puts narrow and plain no-break spaces inside some forms (Spanish "10:00 a.\u202fm."); neither is
# in GSM-7, so one of them would turn a whole text into UCS-2 and double its segments.
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


# Babel parses its pattern and walks CLDR data on every call, most of a plan timeline's cost, and a
# batch of plans formats the same days and clock times again and again: remember the answers by
# what the pattern shows. A date-only pattern ("EEE MMM d") reads only the wall-clock date and a
# time-only one ("h:mm a") only the wall-clock time, so ten thousand different first sessions
# still share a few hundred answers. A pattern with a zone field keys on the instant, its zone and
# offset, because aware datetimes at the same instant compare equal whatever their zone.
_DATE_FIELDS = frozenset("GyYuUQqMLlwWdDFgEec")
_TIME_FIELDS = frozenset("abBhHKkmsSA")
_CACHE_SIZE = 8192
_answers: dict[tuple, str] = {}


@lru_cache(maxsize=128)
def _fields(fmt: str) -> frozenset[str]:
    """The field letters of a Babel pattern: "EEE MMM d 'de'" -> {"E", "M", "d"}."""
    return frozenset(value[0] for kind, value in tokenize_pattern(fmt) if kind == "field")


def _shown(when: datetime, fmt: str) -> object:
    """What of ``when`` the pattern can show: its wall-clock date, time, both, or the instant in its zone."""
    fields = _fields(fmt)
    if fields <= _DATE_FIELDS:
        return when.date()
    if fields <= _TIME_FIELDS:
        return when.time()
    if fields <= _DATE_FIELDS | _TIME_FIELDS:
        return when.replace(tzinfo=None)
    return (when, when.tzinfo, when.utcoffset())


def _babel(kind: str, when: datetime, fmt: str, locale: str) -> str:
    key = (kind, _shown(when, fmt), fmt, locale)
    found = _answers.get(key)
    if found is None:
        if len(_answers) >= _CACHE_SIZE:
            _answers.clear()  # bounded; a batch refills what it uses in a few hundred calls
        formatter = _babel_date_raw if kind == "date" else _babel_time_raw
        found = _answers[key] = formatter(when, fmt, locale=locale).translate(_SPACES)
    return found


def _babel_date(when: datetime, fmt: str, locale: str) -> str:
    return _babel("date", when, fmt, locale)


def _babel_time(when: datetime, fmt: str, locale: str) -> str:
    return _babel("time", when, fmt, locale)


def format_date(when: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """A local date as clients read it: "Thu Dec 5" in English."""
    locale = locale_of(locale)
    return _babel_date(when, pattern("date", locale), locale=locale)


def format_time(when: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """A local time as clients read it: "10:00 AM" in English (in ``when``'s own zone)."""
    locale = locale_of(locale)
    return _babel_time(when, pattern("time", locale), locale=locale)


def format_moment(when: datetime, *, year: bool = False, locale: str = DEFAULT_LOCALE) -> str:
    """A local date and time: "Thu Dec 5, 11:00 AM" (with ``year``: "Thu Dec 5 2026, 11:00 AM")."""
    locale = locale_of(locale)
    day = _babel_date(when, pattern("date_year" if year else "date", locale), locale=locale)
    return text("moment", locale, date=day, time=format_time(when, locale))


def format_month(when: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """A month and year, for a calendar axis: "Dec 2026" in English."""
    locale = locale_of(locale)
    return _babel_date(when, pattern("month", locale), locale=locale)


def format_when(when: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """A local date and time inside a sentence: "Thu Dec 5 at 10:00 AM"."""
    return text("moment.at", locale, date=format_date(when, locale), time=format_time(when, locale))


def spoken_moment(when: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """A local date and time as a voice reads it well: "Thursday, December 5 at 10 AM"."""
    locale = locale_of(locale)
    day = _babel_date(when, pattern("spoken_date", locale), locale=locale)
    clock = _babel_time(when, pattern("spoken_time" if when.minute == 0 else "spoken_time_minutes", locale),
                        locale=locale)
    return text("moment.at", locale, date=day, time=clock)


@lru_cache(maxsize=256)
def format_duration(hours: int, locale: str = DEFAULT_LOCALE) -> str:
    """Hours as clients say them: "2 days", "1 day", "36 hours" (whole days when they divide)."""
    locale = locale_of(locale)
    if hours % 24 == 0:
        return format_unit(hours // 24, "duration-day", locale=locale).translate(_SPACES)
    return format_unit(hours, "duration-hour", locale=locale).translate(_SPACES)


# Two zones with the same offsets in January and July keep the same clock all year (America/Detroit
# and America/New_York): naming the zone, or asking about it, would only be noise.
_PROBES = (datetime(2026, 1, 15, 12, tzinfo=timezone.utc), datetime(2026, 7, 15, 12, tzinfo=timezone.utc))
_BABEL_LOCALES = {"en": "en_US", "es": "es_US"}


@lru_cache(maxsize=256)
def same_clock(a: str, b: str) -> bool:
    """True when two zones show the same wall-clock time all year."""
    try:
        za, zb = ZoneInfo(a), ZoneInfo(b)
    except (KeyError, ValueError):
        return a == b
    return all(p.astimezone(za).utcoffset() == p.astimezone(zb).utcoffset() for p in _PROBES)


def zone_name(tz: str, locale: str = DEFAULT_LOCALE) -> str:
    """A zone as people of the locale name it: "Pacific Time", "hora del Pacífico" (CLDR's generic name)."""
    name = get_timezone_name(ZoneInfo(tz), width="long", zone_variant="generic", locale=_BABEL_LOCALES[locale_of(locale)])
    return name.translate(_SPACES)


def short_zone_name(tz: str, locale: str = DEFAULT_LOCALE) -> str:
    """The zone's name without "Time" / "hora de", for after a clock time: "10:00 AM Eastern"."""
    name = zone_name(tz, locale)
    for cut in (" Time", "hora de las ", "hora del ", "hora de "):
        name = name.replace(cut, "")
    return name.strip()


def spoken_session_moment(when: datetime, clinic_tz: str, client_tz: str | None,
                           locale: str = DEFAULT_LOCALE) -> str:
    """A session's day and time as a voice says it, on the clinic's clock, the zone named when the client's differs."""
    said = spoken_moment(when.astimezone(ZoneInfo(clinic_tz)), locale)
    if client_tz is None or same_clock(clinic_tz, client_tz):
        return said
    return text("moment.zoned.voice", locale, when=said, zone_long=zone_name(clinic_tz, locale))


def format_session_time(when: datetime, clinic_tz: str, client_tz: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """A session's time on the clinic's clock (the visit is there), the zone named when the client's clock differs.

    "10:00 AM" for a client in the clinic's zone, "10:00 AM Eastern" for one in Hawaii.
    """
    local = when.astimezone(ZoneInfo(clinic_tz))
    clock = format_time(local, locale)
    if client_tz is None or same_clock(clinic_tz, client_tz):
        return clock
    return text("time.zoned", locale, time=clock, zone=short_zone_name(clinic_tz, locale),
                zone_long=zone_name(clinic_tz, locale))
