"""Slot finding: the open times offered when a client rebooks, as tables and as properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glowline.plans.slots import (MIN_LEAD, Calendar, Preference, find_slots, interval_window, is_open,
                                  read_preference)
from glowline.plans.timeline import in_quiet_hours

NY = ZoneInfo("America/New_York")
TZ = "America/New_York"
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=NY)  # a Monday morning
HOUR = timedelta(hours=1)
WEEKDAYS_9_TO_5 = {d: [(time(9), time(17))] for d in range(5)}


def cal(**kwargs) -> Calendar:
    values = dict(timezone=TZ, hours=WEEKDAYS_9_TO_5, capacity=1)
    values.update(kwargs)
    return Calendar(**values)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.mark.parametrize("calendar, earliest, latest, preference, expected", [
    # One per day, the soonest first, starting no sooner than MIN_LEAD from now.
    (cal(), NOW, NOW + timedelta(days=7), Preference(),
     [local(2027, 1, 5, 9), local(2027, 1, 6, 9), local(2027, 1, 7, 9)]),
    # Weekends and a holiday are skipped.
    (cal(closed=frozenset({date(2027, 1, 6)})), local(2027, 1, 7), NOW + timedelta(days=7), Preference(),
     [local(2027, 1, 7, 9), local(2027, 1, 8, 9), local(2027, 1, 11, 9)]),
    # A full morning (capacity 1) pushes the first offer to when the booked session ends.
    (cal(booked=((local(2027, 1, 5, 9), local(2027, 1, 5, 12)),)), NOW, local(2027, 1, 5, 23), Preference(),
     [local(2027, 1, 5, 12)]),
    # Capacity 2: one booking still leaves room at the same time.
    (cal(capacity=2, booked=((local(2027, 1, 5, 9), local(2027, 1, 5, 10)),)), NOW, local(2027, 1, 5, 23),
     Preference(), [local(2027, 1, 5, 9)]),
    # Preferred evenings come first; the clinic's late opening on Thursday fits, quiet hours clip it at 20:00.
    (cal(hours={3: [(time(9), time(21))], 4: [(time(9), time(17))]}), NOW, NOW + timedelta(days=7),
     read_preference("weekday evenings"), [local(2027, 1, 7, 17), local(2027, 1, 8, 9)]),
    # A split day: the session must fit one span.
    (cal(hours={1: [(time(9), time(10, 30)), (time(14), time(15))]},
         booked=((local(2027, 1, 5, 9), local(2027, 1, 5, 10)),)), NOW, local(2027, 1, 5, 23), Preference(),
     [local(2027, 1, 5, 14)]),
    # Nothing open in the window: nothing offered.
    (cal(hours={5: [(time(9), time(17))]}), NOW, local(2027, 1, 8, 23), Preference(), []),
    # No capacity set: nothing offered (R goes to staff).
    (cal(capacity=0), NOW, NOW + timedelta(days=7), Preference(), []),
])
def test_find_slots_table(calendar, earliest, latest, preference, expected):
    assert find_slots(calendar, length=HOUR, earliest=earliest, latest=latest, now=NOW,
                      preference=preference) == expected


@pytest.mark.parametrize("text, days, parts", [
    ("weekday evenings", set(range(5)), 1), ("Saturday mornings", {5}, 1), ("any time", set(), 0),
    ("tue or thu after work, evenings", {1, 3}, 1), (None, set(), 0),
])
def test_read_preference(text, days, parts):
    found = read_preference(text)
    assert set(found.days) == days and len(found.parts) == parts


def test_interval_window_counts_calendar_days_from_both_neighbours():
    earliest, latest = interval_window(previous=local(2027, 1, 7, 10), following=local(2027, 4, 1, 10),
                                       min_weeks=6, max_weeks=8, tz=TZ, now=NOW)
    assert earliest == local(2027, 2, 18, 0)  # 6 weeks after Jan 7, and 6 weeks before Apr 1 is Feb 18
    assert latest == local(2027, 2, 18, 23, 59)


spans = st.lists(st.tuples(st.integers(12, 40), st.integers(1, 12)), min_size=0, max_size=2)


@st.composite
def calendars(draw):
    hours = {}
    for day in range(7):
        day_spans = []
        for start_half, length_half in draw(spans):
            opens = timedelta(minutes=30 * start_half)
            closes = min(opens + timedelta(minutes=30 * length_half), timedelta(hours=23, minutes=30))
            if closes <= opens or any(o < closes and opens < c for o, c in day_spans):
                continue
            day_spans.append((opens, closes))
        hours[day] = [(time(int(o.total_seconds()) // 3600, int(o.total_seconds()) % 3600 // 60),
                       time(int(c.total_seconds()) // 3600, int(c.total_seconds()) % 3600 // 60))
                      for o, c in sorted(day_spans)]
    booked = []
    for _ in range(draw(st.integers(0, 12))):
        start = NOW + timedelta(minutes=30 * draw(st.integers(0, 48 * 40)))
        booked.append((start, start + timedelta(minutes=30 * draw(st.integers(1, 6)))))
    closed = frozenset(NOW.date() + timedelta(days=d) for d in draw(st.sets(st.integers(0, 40), max_size=5)))
    quiet = draw(st.sampled_from([(time(20), time(8)), (time(21), time(9)), (time(22), time(7))]))
    return Calendar(timezone=TZ, hours=hours, capacity=draw(st.integers(1, 3)), closed=closed,
                    quiet_start=quiet[0], quiet_end=quiet[1], booked=tuple(booked))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), minutes=st.sampled_from([30, 45, 60, 90]), previous_days=st.integers(-60, 0),
       min_weeks=st.integers(1, 4), extra_weeks=st.integers(0, 3), preference=st.sampled_from(
           ["", "weekday evenings", "saturday mornings", "mon tue afternoons"]))
def test_every_offered_time_is_bookable(calendar, minutes, previous_days, min_weeks, extra_weeks, preference):
    length = timedelta(minutes=minutes)
    previous = NOW + timedelta(days=previous_days)
    earliest, latest = interval_window(previous=previous, following=None, min_weeks=min_weeks,
                                       max_weeks=min_weeks + extra_weeks, tz=TZ, now=NOW)
    offered = find_slots(calendar, length=length, earliest=earliest, latest=latest, now=NOW,
                         preference=read_preference(preference))
    assert len(offered) <= 3 and offered == sorted(offered)
    assert len({t.astimezone(NY).date() for t in offered}) == len(offered)
    for start in offered:
        wall = start.astimezone(NY)
        end = start + length
        # Inside the opening hours of an open day.
        assert wall.date() not in calendar.closed
        assert any(datetime.combine(wall.date(), o) <= wall.replace(tzinfo=None)
                   and wall.replace(tzinfo=None) + length <= datetime.combine(wall.date(), c)
                   for o, c in calendar.hours.get(wall.weekday(), ()))
        # Never over capacity at any moment of the session.
        for moment in [start + timedelta(minutes=m) for m in range(0, minutes, 5)]:
            assert sum(1 for s, e in calendar.booked if s <= moment < e) < calendar.capacity
        # Never in quiet hours, so the texts about it (sent at the same wall time) are allowed.
        assert not in_quiet_hours(start, TZ, calendar.quiet_start, calendar.quiet_end)
        assert not in_quiet_hours(end - timedelta(minutes=1), TZ, calendar.quiet_start, calendar.quiet_end)
        # Inside the protocol's interval from the previous session, in calendar days.
        gap = (wall.date() - previous.astimezone(NY).date()).days
        assert min_weeks * 7 <= gap <= (min_weeks + extra_weeks) * 7
        assert start >= NOW + MIN_LEAD
        assert is_open(calendar, start, length)


def test_times_are_aware_utc_in_and_out():
    found = find_slots(cal(), length=HOUR, earliest=NOW, latest=NOW + timedelta(days=3), now=NOW)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in found)
    assert found[0] == datetime(2027, 1, 5, 14, tzinfo=timezone.utc)
