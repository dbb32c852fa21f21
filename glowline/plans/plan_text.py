"""The PLAN text: a staff member's "PLAN 42 dec 3 10am x5 every 6w" read into a checked request.

Pure: text in, a ``PlanRequest`` (or a ValidationError naming the part) out; nothing is
read from or written to the database. Starting the plan is ``glowline.plans.start``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dateparser.date import DateDataParser
from babel.core import Locale, UnknownLocaleError, get_global
from babel.dates import format_datetime

from glowline.exceptions import ValidationError
from glowline.plans.timeline import localize, zone

# A year-less date this recently past is refused rather than read as next year.
RECENT_PAST = timedelta(days=30)
# Without a written year, a reading further ahead than this is a misread ("3 de diciembre a las 10"
# once came back from dateparser as the year 2110), never a plan.
MAX_AHEAD = timedelta(days=2 * 366)
USAGE = "PLAN <intake> <date> <time> [xSESSIONS] [every Nw] [OK], e.g. PLAN 42 dec 3 10am x5 every 6w"

# The clock time is read by these rules (am/pm, the bare-hour question), the date by dateparser.
_CLOCK = re.compile(r"^(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$")
_AMPM = re.compile(r"^(?:a\.?m\.?|p\.?m\.?)$")
_BARE_HOUR = re.compile(r"^\d{1,2}$")
_LEADS = ("at", "a", "las", "la", "@", ",")  # "dec 3 at 10am", "3 de diciembre a las 10:00"
_YEAR = re.compile(r"\b\d{4}\b|^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_NUMERIC_DATE = re.compile(r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})(?:[/.-]\d{2,4})?$")
_DAY_NUMBER = re.compile(r"\b(?P<day>29|30|31)\b")
# Staff may write dates in English or Spanish ("dec 3", "3 de diciembre", "next tuesday", "martes").
LANGUAGES = ["en", "es"]
_OK = re.compile(r"^ok(?=\s|$)")
_SESSIONS = re.compile(r"^(?:x\s*(?P<a>\d{1,2})|(?P<b>\d{1,2})\s*(?:sessions?|treatments?|x))(?=\s|$)")
_INTERVAL = re.compile(r"^(?:every\s*)?(?P<weeks>\d{1,2})\s*(?:w|wk|wks|weeks?)(?=\s|$)")


@dataclass(frozen=True)
class PlanRequest:
    """What a staff member asked for: an intake, the first session (aware UTC) and optional counts."""

    intake_id: int
    first_session_at: datetime
    sessions: int | None = None
    interval_weeks: int | None = None

    def as_json(self) -> dict:
        """The request as the plan_request schema describes it (times as ISO 8601 with offset)."""
        data: dict = {"intake_id": self.intake_id, "first_session_at": self.first_session_at.isoformat()}
        if self.sessions is not None:
            data["sessions"] = self.sessions
        if self.interval_weeks is not None:
            data["interval_weeks"] = self.interval_weeks
        return data


def parse_plan_text(text: str, *, tz: str, now: datetime, schema=None) -> PlanRequest:
    """Read ``PLAN <intake> <date> <time> [xN] [every Nw]``; any problem raises ValidationError naming the part."""
    words = " ".join(text.replace(",", " , ").split()).replace(" , ", ", ")
    match = re.match(r"^plan\b[\s:]*(?P<rest>.*)$", words, re.IGNORECASE)
    if match is None:
        raise ValidationError(f"start with PLAN. Write: {USAGE}", field="command")
    rest = match["rest"].lower().strip(" ,")
    id_match = re.match(r"^#?(?P<id>\d{1,9})\b[\s,]*", rest)
    if id_match is None:
        raise ValidationError(f"put the intake number first. Write: {USAGE}", field="intake_id")
    intake_id = int(id_match["id"])
    rest = rest[id_match.end():]
    confirmed = "ok" in rest.replace(",", " ").split()
    when, rest = _take_moment(rest, tz=tz, now=now, confirmed=confirmed)
    sessions = interval = None
    while rest:
        rest = rest.strip(" ,")
        if not rest:
            break
        if (found := _OK.match(rest)) is not None:
            pass  # OK confirms an ambiguous date (read above)
        elif (found := _SESSIONS.match(rest)) is not None and sessions is None:
            sessions = int(found["a"] or found["b"])
        elif (found := _INTERVAL.match(rest)) is not None and interval is None:
            interval = int(found["weeks"])
        else:
            raise ValidationError(f"did not understand {rest.split()[0]!r}. Write: {USAGE}", field="options")
        rest = rest[found.end():]
    request = PlanRequest(intake_id, when, sessions, interval)
    if schema is not None:
        schema.check(request.as_json())
    return request


def parse_local_datetime(text: str, *, tz: str, now: datetime) -> datetime:
    """Read a date and time written in the clinic's zone ("2026-12-03 10:00", "dec 3 10am") as aware UTC."""
    when, rest = _take_moment(" ".join(text.lower().split()), tz=tz, now=now)
    if rest.strip():
        raise ValidationError(f"did not understand {rest.strip()!r} after the date and time",
                              field="first_session_at")
    return when


def take_moment(rest: str, *, tz: str, now: datetime, confirmed: bool = False) -> tuple[datetime, str]:
    """Read a future date and time in ``tz`` from the front of lower-cased ``rest``; aware UTC and what is left."""
    return _take_moment(rest, tz=tz, now=now, confirmed=confirmed)


def date_order(tz: str) -> str:
    """How the clinic's country writes numeric dates ("MDY" in the US, "DMY" in Australia), from CLDR via Babel."""
    territory = get_global("zone_territories").get(tz)
    try:
        pattern = Locale.parse(f"en_{territory}").date_formats["short"].pattern if territory else "M/d/yy"
    except (UnknownLocaleError, ValueError):
        pattern = "M/d/yy"
    return "".join(sorted("DMY", key=lambda part: pattern.find({"D": "d", "M": "M", "Y": "y"}[part])))


def warm() -> None:
    """Load dateparser's language data once (about 90 ms), at start-up rather than in a staff member's first PLAN."""
    _read_date("dec 3", tz="America/New_York", now=datetime(2026, 1, 1, tzinfo=timezone.utc))


def _take_moment(rest: str, *, tz: str, now: datetime, confirmed: bool = False) -> tuple[datetime, str]:
    """Consume a date then a time from the front of ``rest``; return aware UTC and what is left."""
    rest = rest.replace("t", " ", 1) if re.match(r"^\d{4}-\d{1,2}-\d{1,2}t", rest) else rest
    tokens = rest.replace(",", " , ").split()
    found = _find_clock(tokens)
    if found is None:
        raise _no_clock(tokens, tz=tz, now=now)
    start, end, clock = found
    date_words = _strip_leads(tokens[:start])
    day = _read_date(" ".join(date_words), tz=tz, now=now)
    when = _year_checked(day, _clock(clock), " ".join(date_words), tz=tz, now=now)
    if not confirmed:
        _check_ambiguous(date_words, when, tz, now)
    return when, " ".join(tokens[end:]).replace(" , ", ", ")


def _find_clock(tokens: list[str]) -> tuple[int, int, re.Match] | None:
    """The first clock time ("10am", "10 am", "14:30") after at least one date word: (start, end, match)."""
    for i in range(1, len(tokens)):
        pair = f"{tokens[i]} {tokens[i + 1]}" if i + 1 < len(tokens) and _AMPM.match(tokens[i + 1]) else None
        for text, end in ((pair, i + 2), (tokens[i], i + 1)):
            match = _CLOCK.match(text) if text is not None else None
            if match is not None and (match["minute"] is not None or match["ampm"]) and _strip_leads(tokens[:i]):
                return i, end, match
    return None


def _no_clock(tokens: list[str], *, tz: str, now: datetime) -> ValidationError:
    """The error for a moment without a clock time: a bare hour is asked about, a missing time named."""
    for i in range(len(tokens) - 1, 0, -1):
        before = _strip_leads(tokens[:i])
        # A number is an hour when the date reads without it and not with it ("dec 3 10" is year 2110).
        if (_BARE_HOUR.match(tokens[i]) and before and _parses(" ".join(before), tz, now)
                and not _sane(_parse(" ".join(tokens[:i + 1]), tz, now), now)):
            # "10" alone could be morning or evening; asking is cheaper than a wrong appointment.
            return ValidationError(f"write the time as {tokens[i]}am, {tokens[i]}pm or {tokens[i]}:00",
                                   field="first_session_at")
    if tokens and _parses(" ".join(tokens), tz, now):
        return ValidationError(f"add the time of the first session, like 10am or 14:30. {USAGE}",
                               field="first_session_at")
    return _unreadable(tokens)


def _unreadable(tokens: list[str]) -> ValidationError:
    return ValidationError(f"could not read a date at {(tokens or ['the end'])[0]!r}; "
                           f"write it like dec 3 or 2026-12-03. {USAGE}", field="first_session_at")


def _strip_leads(words: list[str]) -> list[str]:
    kept = list(words)
    while kept and kept[-1] in _LEADS:
        kept.pop()
    return kept


def _settings(tz: str, now: datetime) -> dict:
    """dateparser's settings for a clinic: its date order, its clock as the base of "next tuesday", dates ahead."""
    local_now = now.astimezone(zone(tz)).replace(tzinfo=None)
    return {"DATE_ORDER": date_order(tz), "PREFER_DATES_FROM": "future", "RELATIVE_BASE": local_now,
            "RETURN_AS_TIMEZONE_AWARE": False}


def _parse(text: str, tz: str, now: datetime) -> datetime | None:
    """dateparser's reading of a day ("dec 3", "3 de diciembre", "next tuesday"); a month or week alone is none."""
    try:
        data = DateDataParser(languages=LANGUAGES, settings=_settings(tz, now)).get_date_data(text)
    except Exception:  # dateparser can raise on odd Unicode (its regexes, overflowing numbers): unreadable, never a 5xx
        return None
    # "dec" alone reads as Dec 1 and "3" as March: a day was not given, so nothing was read.
    return data.date_obj if data.date_obj is not None and data.period in ("day", "time") else None


def _sane(parsed: datetime | None, now: datetime) -> bool:
    """True for a reading inside the planning window (from a month ago to two years ahead)."""
    if parsed is None:
        return False
    naive_now = now.replace(tzinfo=None)
    return naive_now - RECENT_PAST <= parsed <= naive_now + MAX_AHEAD


def _parses(text: str, tz: str, now: datetime) -> bool:
    return bool(text) and _parse(text, tz, now) is not None


def _read_date(text: str, *, tz: str, now: datetime) -> date:
    """The calendar date ``text`` names, read by dateparser in English or Spanish with the clinic's date order."""
    parsed = _parse(text, tz, now) if text else None
    if parsed is not None:
        return parsed.date()
    invalid = _DAY_NUMBER.search(text)
    if invalid is not None:
        # "feb 30": dateparser only says no; with day 1 it reads, so say which date does not exist.
        first = _parse(text[:invalid.start()] + "1" + text[invalid.end():], tz, now)
        if first is not None:
            raise ValidationError(f"{first.year}-{first.month:02d}-{invalid['day']} is not a date",
                                  field="first_session_at")
    raise _unreadable(text.split())


def _year_checked(day: date, at: time, written: str, *, tz: str, now: datetime) -> datetime:
    """The moment, with the year people mean when they give none, and inside a sane window ahead."""
    when = _combine(day.year, day.month, day.day, at, tz, strict=True)
    assert when is not None  # strict=True raises instead of returning None
    if not _YEAR.search(written):
        for candidate in (when, _combine(day.year - 1, day.month, day.day, at, tz, strict=False)):
            if candidate is not None and now - RECENT_PAST < candidate <= now:
                # "dec 1 9am" an hour after it is far likelier a slip than a plan a year out.
                raise ValidationError(f"{_staff_moment(candidate, tz)} has passed; add the year "
                                      f"({candidate.year + 1}) if you mean next year", field="first_session_at")
        if when <= now:
            when = _combine(day.year + 1, day.month, day.day, at, tz, strict=False) or when
    if when <= now:
        raise ValidationError(f"{_staff_moment(when, tz, year=True)} is in the past; "
                              "give a future date", field="first_session_at")
    if when > now + MAX_AHEAD and not _YEAR.search(written):
        # Only a year dateparser supplied is doubted: one the staff member wrote is what they meant.
        raise ValidationError(f"{written!r} reads as {_staff_moment(when, tz, year=True)}, more than two years "
                              "ahead; write the date like dec 3 or 2026-12-03", field="first_session_at")
    return when


def _check_ambiguous(date_words: list[str], when: datetime, tz: str, now: datetime) -> None:
    """A numeric date whose other reading is sooner ("3/12" in the US on Dec 1) is answered with the reading, to confirm.

    The clinic's order wins ("12/3" is December 3 in the US, 12 March in Australia); when the
    swapped reading would come first, the staff member may have meant it, so we ask.
    """
    found = _NUMERIC_DATE.match(" ".join(date_words))
    if found is None or found["a"] == found["b"] or int(found["a"]) > 12 or int(found["b"]) > 12:
        return
    local = when.astimezone(zone(tz))
    month, day = (int(found["b"]), int(found["a"])) if (local.month, local.day) == (int(found["a"]), int(found["b"])) \
        else (int(found["a"]), int(found["b"]))
    other = next((c for year in (local.year - 1, local.year, local.year + 1)
                  if (c := _combine(year, month, day, local.time(), tz, strict=False)) is not None and c > now), None)
    if other is None or other >= when:
        return
    order = "month/day" if date_order(tz).startswith("M") else "day/month"
    raise ValidationError(f"{found.group(0)} reads as {_staff_moment(when, tz, year=True)} ({order}, as dates are "
                          f"written at this clinic), not {_staff_moment(other, tz, year=True)}; add OK at the end "
                          "to confirm, or write the month's name", field="first_session_at")


def _clock(found: re.Match) -> time:
    hour, minute = int(found["hour"]), int(found["minute"] or 0)
    ampm = (found["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValidationError(f"{hour}{ampm} is not a time; use 1-12 with am/pm", field="first_session_at")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif found["minute"] is None:
        # "10" alone could be morning or evening; asking is cheaper than a wrong appointment.
        raise ValidationError(f"write the time as {hour}am, {hour}pm or {hour}:00", field="first_session_at")
    if hour > 23 or minute > 59:
        raise ValidationError(f"{found.group(0).strip()} is not a time of day", field="first_session_at")
    return time(hour, minute)


def _combine(year: int, month: int, day: int, at: time, tz: str, *, strict: bool) -> datetime | None:
    try:
        wall = datetime.combine(date(year, month, day), at)
    except ValueError:
        if not strict:
            return None
        raise ValidationError(f"{year}-{month:02d}-{day:02d} is not a date", field="first_session_at") from None
    return localize(wall, tz)


def _staff_moment(when: datetime, tz: str, *, year: bool = False) -> str:
    """A moment as the staff member typed it ("Dec 1 9:00 AM"): Babel, since strftime's %b follows the process locale."""
    # The PLAN syntax is English, so its error messages are too, whatever the clients' locales.
    return format_datetime(when.astimezone(zone(tz)), "MMM d y h:mm a" if year else "MMM d h:mm a", locale="en")
