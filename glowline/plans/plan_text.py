"""The PLAN text: a staff member's "PLAN 42 dec 3 10am x5 every 6w" read into a checked request.

Pure: text in, a ``PlanRequest`` (or a ValidationError naming the part) out; nothing is
read from or written to the database. Starting the plan is ``glowline.plans.start``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from babel.dates import format_datetime

from glowline.exceptions import ValidationError
from glowline.plans.timeline import localize, zone

# A year-less date this recently past is refused rather than read as next year.
RECENT_PAST = timedelta(days=30)
USAGE = "PLAN <intake> <date> <time> [xSESSIONS] [every Nw], e.g. PLAN 42 dec 3 10am x5 every 6w"

_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], start=1) for name in names}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(?P<year>\d{4}))?"
_DATE_FORMS = [
    re.compile(r"^(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))\b"),
    re.compile(r"^(?P<slash>(?P<sm>\d{1,2})/(?P<sd>\d{1,2})(?:/(?P<sy>\d{4}))?)\b"),
    re.compile(rf"^{_MONTH}\s*{_DAY}\b{_YEAR}"),
    re.compile(rf"^{_DAY}\s*{_MONTH}{_YEAR}"),
]
_TIME = re.compile(r"^(?:at\s+)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?=\s|$)")
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
    when, rest = _take_moment(rest, tz=tz, now=now)
    sessions = interval = None
    while rest:
        rest = rest.strip(" ,")
        if not rest:
            break
        if (found := _SESSIONS.match(rest)) is not None and sessions is None:
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


def take_moment(rest: str, *, tz: str, now: datetime) -> tuple[datetime, str]:
    """Read a future date and time in ``tz`` from the front of lower-cased ``rest``; aware UTC and what is left."""
    return _take_moment(rest, tz=tz, now=now)


def _take_moment(rest: str, *, tz: str, now: datetime) -> tuple[datetime, str]:
    """Consume a date then a time from the front of ``rest``; return aware UTC and what is left."""
    rest = rest.replace("t", " ", 1) if re.match(r"^\d{4}-\d{1,2}-\d{1,2}t", rest) else rest
    for form in _DATE_FORMS:
        found = form.match(rest)
        if found is not None:
            break
    else:
        raise ValidationError(f"could not read a date at {(rest.split() or ['the end'])[0]!r}; "
                              f"write it like dec 3 or 2026-12-03. {USAGE}", field="first_session_at")
    year, month, day = _date_parts(found)
    rest = rest[found.end():].strip(" ,")
    clock = _TIME.match(rest)
    if clock is None:
        raise ValidationError(f"add the time of the first session, like 10am or 14:30. {USAGE}",
                              field="first_session_at")
    at = _clock(clock)
    rest = rest[clock.end():]
    local_now = now.astimezone(zone(tz))
    if year is None:
        # No year: the next such date that is still ahead, as people mean "dec 3" in November.
        year = local_now.year
        candidate = _combine(year, month, day, at, tz, strict=False)
        if candidate is not None and now - RECENT_PAST < candidate <= now:
            # "dec 1 9am" an hour after it is far likelier a slip than a plan a year out.
            raise ValidationError(f"{_staff_moment(candidate, tz)} has passed; add the year "
                                  f"({year + 1}) if you mean next year", field="first_session_at")
        if candidate is None or candidate <= now:
            year += 1
    when = _combine(year, month, day, at, tz, strict=True)
    assert when is not None  # strict=True raises instead of returning None
    if when <= now:
        raise ValidationError(f"{_staff_moment(when, tz, year=True)} is in the past; "
                              "give a future date", field="first_session_at")
    return when, rest


def _date_parts(found: re.Match) -> tuple[int | None, int, int]:
    groups = found.groupdict()
    if groups.get("iso"):
        return int(groups["iy"]), int(groups["im"]), int(groups["id"])
    if groups.get("slash"):
        return (int(groups["sy"]) if groups["sy"] else None), int(groups["sm"]), int(groups["sd"])
    return (int(groups["year"]) if groups.get("year") else None), _MONTHS[groups["month"]], int(groups["day"])


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
