"""Open times for a session: opening hours, closures, capacity, booked sessions, preferences and spacing.

Pure and database-free: ``find_slots`` takes what the clinic's calendar says and returns up
to three start times. An offered time is always inside the opening hours of an open day,
never over capacity, outside quiet hours (so every text about it can go out at a decent
hour), and inside the window the protocol's interval allows from the sessions around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from glowline.plans.timeline import in_quiet_hours, localize, require_aware, zone

STEP = timedelta(minutes=30)
OFFERS = 3
# Never offer a time sooner than this: the client needs time to read, and the clinic to prepare.
MIN_LEAD = timedelta(hours=12)
# With nothing around the session to bound it, look this far ahead.
HORIZON = timedelta(weeks=8)

_DAY_WORDS = {"mon": 0, "monday": 0, "mondays": 0, "tue": 1, "tues": 1, "tuesday": 1, "tuesdays": 1, "wed": 2,
              "wednesday": 2, "wednesdays": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "thursdays": 3,
              "fri": 4, "friday": 4, "fridays": 4, "sat": 5, "saturday": 5, "saturdays": 5, "sun": 6,
              "sunday": 6, "sundays": 6}
_PARTS = {"morning": (time(0), time(12)), "mornings": (time(0), time(12)), "am": (time(0), time(12)),
          "afternoon": (time(12), time(17)), "afternoons": (time(12), time(17)), "lunch": (time(11), time(14)),
          "evening": (time(17), time(23, 59)), "evenings": (time(17), time(23, 59)),
          "night": (time(17), time(23, 59)), "pm": (time(12), time(23, 59))}


@dataclass(frozen=True)
class Preference:
    """When the client said visits suit them best; empty means any time. It orders offers, never excludes."""

    days: frozenset[int] = frozenset()
    parts: tuple[tuple[time, time], ...] = ()

    def matches(self, local: datetime) -> bool:
        """True when a local start time fits both the preferred days and parts of the day (each if given)."""
        day_ok = not self.days or local.weekday() in self.days
        part_ok = not self.parts or any(start <= local.time() < end for start, end in self.parts)
        return day_ok and part_ok


def read_preference(text: str | None) -> Preference:
    """Read the intake's free-text answer ("weekday evenings", "Saturday mornings", "any time")."""
    words = re.findall(r"[a-z]+", (text or "").lower())
    days: set[int] = set()
    parts: list[tuple[time, time]] = []
    for word in words:
        if word in _DAY_WORDS:
            days.add(_DAY_WORDS[word])
        elif word in ("weekday", "weekdays"):
            days.update(range(5))
        elif word in ("weekend", "weekends"):
            days.update((5, 6))
        elif word in _PARTS and _PARTS[word] not in parts:
            parts.append(_PARTS[word])
    return Preference(frozenset(days), tuple(parts))


@dataclass(frozen=True)
class Calendar:
    """What the clinic's calendar says: weekly hours (weekday 0 = Monday), closed dates, capacity."""

    timezone: str
    hours: Mapping[int, Sequence[tuple[time, time]]]
    capacity: int
    closed: frozenset[date] = frozenset()
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    booked: Sequence[tuple[datetime, datetime]] = field(default_factory=tuple)

    def load_at(self, start: datetime, end: datetime) -> int:
        """How many booked sessions overlap [start, end) at their busiest moment."""
        overlapping = [(s, e) for s, e in self.booked if s < end and e > start]
        points = sorted({start, *(s for s, _ in overlapping if s > start)})
        return max((sum(1 for s, e in overlapping if s <= p < e) for p in points), default=0)


def _day_starts(calendar: Calendar, day: date, length: timedelta) -> Iterable[datetime]:
    """Every STEP-aligned start on a local day whose whole session fits one opening span."""
    for opens, closes in calendar.hours.get(day.weekday(), ()):
        wall = datetime.combine(day, opens)
        last = datetime.combine(day, closes) - length
        while wall <= last:
            yield localize(wall, calendar.timezone)
            wall += STEP


def is_open(calendar: Calendar, start: datetime, length: timedelta) -> bool:
    """True when [start, start + length) is a bookable time: open day, inside hours, outside quiet hours, free."""
    start = require_aware(start, "start")
    end = start + length
    local = start.astimezone(zone(calendar.timezone))
    if local.date() in calendar.closed:
        return False
    inside = any(datetime.combine(local.date(), opens) <= local.replace(tzinfo=None)
                 and local.replace(tzinfo=None) + length <= datetime.combine(local.date(), closes)
                 for opens, closes in calendar.hours.get(local.weekday(), ()))
    if not inside:
        return False
    quiet = (calendar.timezone, calendar.quiet_start, calendar.quiet_end)
    if in_quiet_hours(start, *quiet) or in_quiet_hours(end - timedelta(minutes=1), *quiet):
        return False
    return calendar.load_at(start, end) < calendar.capacity


def find_slots(calendar: Calendar, *, length: timedelta, earliest: datetime, latest: datetime, now: datetime,
               preference: Preference = Preference(), count: int = OFFERS,
               exclude: Iterable[datetime] = ()) -> list[datetime]:
    """Up to ``count`` open starts in [earliest, latest], one per day, preferred times first, then soonest.

    One per day gives the client a real choice (Tue, Wed, Thu rather than 10:00, 10:30, 11:00).
    """
    if calendar.capacity < 1 or not calendar.hours:
        return []
    earliest = max(require_aware(earliest, "earliest"), require_aware(now, "now") + MIN_LEAD)
    latest = require_aware(latest, "latest")
    skip = set(exclude)
    tz = zone(calendar.timezone)
    day = earliest.astimezone(tz).date()
    last_day = latest.astimezone(tz).date()
    preferred: list[datetime] = []
    other: list[datetime] = []
    while day <= last_day:
        if day not in calendar.closed:
            for start in _day_starts(calendar, day, length):
                if earliest <= start <= latest and start not in skip and is_open(calendar, start, length):
                    bucket = preferred if preference.matches(start.astimezone(tz)) else other
                    bucket.append(start)
                    if bucket is preferred:
                        break
        day += timedelta(days=1)
    chosen: list[datetime] = []
    days: set[date] = set()
    for start in preferred + other:
        local_day = start.astimezone(tz).date()
        if local_day in days:
            continue
        chosen.append(start)
        days.add(local_day)
        if len(chosen) == count:
            break
    return sorted(chosen)


def interval_window(*, previous: datetime | None, following: datetime | None, min_weeks: int, max_weeks: int,
                    tz: str, now: datetime) -> tuple[datetime, datetime]:
    """The [earliest, latest] a session may start so the protocol's spacing holds to its neighbours.

    Counted in local calendar days, as ``glowline.plans.moves.interval_breaks`` checks a move.
    """
    local = zone(tz)
    earliest = now
    latest = now + HORIZON
    if previous is not None:
        first_day = previous.astimezone(local).date() + timedelta(weeks=min_weeks)
        last_day = previous.astimezone(local).date() + timedelta(weeks=max_weeks)
        earliest = max(earliest, localize(datetime.combine(first_day, time(0)), tz))
        latest = localize(datetime.combine(last_day, time(23, 59)), tz)
    if following is not None:
        first_day = following.astimezone(local).date() - timedelta(weeks=max_weeks)
        last_day = following.astimezone(local).date() - timedelta(weeks=min_weeks)
        earliest = max(earliest, localize(datetime.combine(first_day, time(0)), tz))
        latest = min(latest, localize(datetime.combine(last_day, time(23, 59)), tz))
    return earliest, latest
