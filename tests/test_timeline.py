"""Plan timelines: the sheet's plans, quiet hours, and DST that moves nothing by an hour."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings as hsettings, strategies as st

from glowline.config import ROOT
from glowline.messages.links import PublicLinks
from glowline.exceptions import ValidationError
from glowline.store.models import MessageKind
from glowline.plans.preview import format_preview
from glowline.catalog.protocols import load_catalog
from glowline.plans.timeline import (MessageSettings, aftercare_ends, build_timeline, evening_allows, in_quiet_hours,
                               next_allowed_time, shift_out_of_quiet_hours)

CATALOG = load_catalog(ROOT / "protocols.json", ROOT / "schemas" / "protocols.schema.json")
NY = "America/New_York"
ZONES = ["America/New_York", "America/Phoenix", "Pacific/Honolulu", "Europe/London", "Australia/Lord_Howe"]
UTC = timezone.utc


def clinic(tz: str = NY, **changes) -> MessageSettings:
    return MessageSettings("Glow Clinic", "+12125550123", tz, **changes)


def local(year, month, day, hour, minute=0, tz=NY) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def by_key(timeline, number, key):
    [message] = [m for m in timeline.messages if m.session_number == number and m.key == key]
    return message


@pytest.mark.parametrize("protocol_id, default_count, default_weeks", [
    ("skin-rejuvenation", 4, 6), ("acne-scarring", 4, 6), ("stretch-marks", 4, 6),
    ("pigmentation", 4, 2), ("superficial", 4, 4),
])
def test_default_plan_of_each_protocol(protocol_id, default_count, default_weeks):
    timeline = build_timeline(CATALOG.get(protocol_id), local(2026, 12, 3, 10), clinic())
    assert len(timeline.sessions) == default_count
    gaps = {(b.starts_at.astimezone(ZoneInfo(NY)).date() - a.starts_at.astimezone(ZoneInfo(NY)).date()).days
            for a, b in zip(timeline.sessions, timeline.sessions[1:], strict=False)}
    assert gaps == {7 * default_weeks}
    kinds = [m.kind for m in timeline.messages]
    assert kinds.count("reminder") == 2 * default_count
    assert kinds.count("aftercare") == kinds.count("aftercare_end") == default_count
    assert kinds.count("booking_nudge") == default_count - 1
    assert set(kinds) <= {k.value for k in MessageKind}
    # Minimum necessary: no condition or protocol name in anything the client receives.
    for message in timeline.messages:
        text = message.body.lower()
        assert not any(c in text for c in CATALOG.conditions())
        assert CATALOG.get(protocol_id).name.lower() not in text


@pytest.mark.parametrize("protocol_id, sessions, interval, message", [
    ("skin-rejuvenation", 7, None, "sessions must be between 3 and 6 for Skin rejuvenation"),
    ("skin-rejuvenation", 2, None, "sessions must be between 3 and 6 for Skin rejuvenation"),
    ("stretch-marks", 9, None, "sessions must be between 4 and 8 for Stretch marks"),
    ("pigmentation", None, 5, "interval_weeks must be between 2 and 4 weeks for Pigmentation"),
    ("acne-scarring", None, 4, "interval_weeks must be between 6 and 8 weeks for Acne scarring and scars"),
    ("superficial", None, 3, "interval_weeks must be 4 weeks for Superficial treatment"),
])
def test_values_outside_the_protocol_are_refused_naming_the_range(protocol_id, sessions, interval, message):
    with pytest.raises(ValidationError) as info:
        build_timeline(CATALOG.get(protocol_id), local(2026, 12, 3, 10), clinic(), sessions=sessions,
                       interval_weeks=interval)
    assert str(info.value) == message
    assert info.value.field == ("sessions" if sessions else "interval_weeks")


def test_edges_of_the_range_are_accepted():
    timeline = build_timeline(CATALOG.get("stretch-marks"), local(2026, 12, 3, 10), clinic(), sessions=8,
                              interval_weeks=8)
    assert len(timeline.sessions) == 8


def test_naive_first_session_is_refused():
    with pytest.raises(ValidationError) as info:
        build_timeline(CATALOG.get("pigmentation"), datetime(2026, 12, 3, 10), clinic())
    assert info.value.field == "first_session_at"


def test_reminders_aftercare_and_nudge_of_a_morning_session():
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, 10), clinic())
    first = timeline.sessions[0]
    confirm = by_key(timeline, 1, "reminder-48h")
    assert confirm.local_time == local(2026, 12, 1, 10)
    assert "Reply C to confirm" in confirm.body and "Thu Dec 3 at 10:00 AM" in confirm.body
    assert confirm.not_after == first.starts_at
    assert by_key(timeline, 1, "reminder-2h").local_time == local(2026, 12, 3, 8)
    aftercare = by_key(timeline, 1, "aftercare")
    assert aftercare.due_at == first.ends_at
    assert "until Sat Dec 5, 11:00 AM" in aftercare.body
    # The list itself is on the protocol's public page; the text links to it in the client's language.
    assert PublicLinks().aftercare("skin-rejuvenation", "en") in aftercare.body and aftercare.segments <= 2
    assert by_key(timeline, 1, "aftercare-end").local_time == local(2026, 12, 5, 11)
    nudge = by_key(timeline, 2, "booking-nudge")
    # Two weeks (the width of the 6-8 week window) before session 2 on Thu Jan 14.
    assert nudge.local_time == local(2026, 12, 31, 10)
    assert "Thu Jan 14 at 10:00 AM" in nudge.body


def test_an_early_session_pulls_its_reminder_back_to_the_evening_before():
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, 7), clinic())
    assert by_key(timeline, 1, "reminder-2h").local_time == local(2026, 12, 2, 19, 45)
    assert by_key(timeline, 1, "reminder-48h").local_time == local(2026, 11, 30, 19, 45)


def test_a_session_ending_after_the_evening_limit_sends_aftercare_next_morning():
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, 20, 30), clinic())
    aftercare = by_key(timeline, 1, "aftercare")
    assert aftercare.local_time == local(2026, 12, 4, 8)
    assert aftercare.rule.startswith("after the evening limit (21:00)")
    assert "until Sat Dec 5, 9:30 PM" in aftercare.body
    assert by_key(timeline, 1, "aftercare-end").local_time == local(2026, 12, 6, 8)


@pytest.mark.parametrize("start, expected, rule", [
    ((18, 30), (2026, 12, 3, 19, 30), "at the session's end"),
    ((19, 30), (2026, 12, 3, 20, 30), "evening aftercare: at the session's end (allowed until 21:00)"),
    ((19, 59), (2026, 12, 3, 20, 59), "evening aftercare"),
    ((20, 0), (2026, 12, 4, 8, 0), "after the evening limit"),
    ((20, 30), (2026, 12, 4, 8, 0), "after the evening limit"),
])
def test_evening_aftercare_goes_out_at_the_session_end_up_to_the_clinic_limit(start, expected, rule):
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, *start), clinic())
    aftercare = by_key(timeline, 1, "aftercare")
    assert aftercare.local_time == local(*expected) and aftercare.rule.startswith(rule)
    assert f"rule: {aftercare.rule}" in format_preview(timeline, NY)


def test_a_clinic_may_set_its_own_evening_limit():
    settings = clinic(aftercare_evening_until=time(20, 0))
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, 19, 30), settings)
    assert by_key(timeline, 1, "aftercare").local_time == local(2026, 12, 4, 8)


def test_sessions_keep_local_time_across_spring_forward():
    # Feb 18 2027 is EST; six weeks later (Apr 1) is EDT: still 10:00 on the wall, 6 weeks less an hour.
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2027, 2, 18, 10), clinic(), sessions=3)
    assert [s.starts_at.astimezone(ZoneInfo(NY)).hour for s in timeline.sessions] == [10, 10, 10]
    assert timeline.sessions[1].starts_at - timeline.sessions[0].starts_at == timedelta(weeks=6, hours=-1)


def test_aftercare_is_never_shorter_than_the_sheet_across_spring_forward():
    end = local(2027, 3, 13, 11)
    closes = aftercare_ends(end.astimezone(UTC), 48, NY)
    assert closes - end >= timedelta(hours=48)
    assert closes.astimezone(ZoneInfo(NY)).hour == 12
    autumn = local(2026, 10, 31, 11)
    assert aftercare_ends(autumn.astimezone(UTC), 48, NY) == local(2026, 11, 2, 11)


def test_client_zone_shows_times_and_drives_quiet_hours():
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), local(2026, 12, 3, 10), clinic(),
                              client_timezone="America/Los_Angeles")
    confirm = by_key(timeline, 1, "reminder-48h")
    # The visit is at the clinic: its own clock, with the zone named, never the client's 7:00 AM.
    assert "10:00 AM Eastern" in confirm.body and "7:00 AM" not in confirm.body
    # 07:00 in Los Angeles is quiet, so the confirming reminder goes the evening before there.
    assert confirm.local_time == local(2026, 11, 30, 19, 45, tz="America/Los_Angeles")


def test_clinic_quiet_hours_and_offsets_are_used():
    settings = clinic(quiet_start=time(21, 0), quiet_end=time(9, 0), reminder_offsets_hours=(24,))
    timeline = build_timeline(CATALOG.get("pigmentation"), local(2026, 12, 3, 8, 30), settings)
    reminders = [m for m in timeline.messages if m.session_number == 1 and m.kind == "reminder"]
    assert [m.key for m in reminders] == ["reminder-24h"]
    assert "Reply C" in reminders[0].body
    assert reminders[0].local_time == local(2026, 12, 1, 20, 45)


@pytest.mark.parametrize("when, tz, quiet", [
    (local(2026, 12, 3, 20), NY, True),
    (local(2026, 12, 3, 19, 59), NY, False),
    (local(2026, 12, 3, 7, 59), NY, True),
    (local(2026, 12, 3, 8), NY, False),
    (local(2026, 12, 3, 2), NY, True),
])
def test_in_quiet_hours_edges(when, tz, quiet):
    assert in_quiet_hours(when.astimezone(UTC), tz, time(20), time(8)) is quiet


def test_next_allowed_time_is_the_next_morning():
    late = local(2026, 12, 3, 22).astimezone(UTC)
    assert next_allowed_time(late, NY, time(20), time(8)) == local(2026, 12, 4, 8)
    early = local(2026, 12, 3, 6).astimezone(UTC)
    assert next_allowed_time(early, NY, time(20), time(8)) == local(2026, 12, 3, 8)


def test_quiet_end_in_a_dst_gap_moves_past_the_gap():
    # Lord Howe jumps 02:00 -> 02:30 on Oct 4 2026: a 02:15 quiet end lands at 02:45.
    tz = "Australia/Lord_Howe"
    night = local(2026, 10, 4, 1, 0, tz=tz).astimezone(UTC)
    allowed = next_allowed_time(night, tz, time(20), time(2, 15))
    assert not in_quiet_hours(allowed, tz, time(20), time(2, 15))
    assert allowed - night == timedelta(minutes=75)


def test_preview_lists_sessions_and_every_message():
    timeline = build_timeline(CATALOG.get("acne-scarring"), local(2026, 12, 3, 10), clinic())
    text = format_preview(timeline, NY)
    assert "Session 4: Thu Apr 8 2027, 10:00 AM" in text
    assert "booking-nudge" in text and "reminder-48h" in text
    assert text.count("aftercare-end") == 4
    assert "Tue 2026-12-01 10:00 EST  2026-12-01 15:00  sms" in text


@st.composite
def plans(draw):
    protocol = draw(st.sampled_from(list(CATALOG)))
    count = draw(st.integers(protocol.sessions.min, protocol.sessions.max))
    interval = draw(st.integers(protocol.interval_weeks.min, protocol.interval_weeks.max))
    clinic_tz = draw(st.sampled_from(ZONES))
    client_tz = draw(st.sampled_from([clinic_tz, *ZONES]))
    day = draw(st.dates(min_value=datetime(2026, 1, 1).date(), max_value=datetime(2029, 12, 31).date()))
    # Clinics open between 07:00 and 20:45, on the quarter hour.
    hour = draw(st.integers(7, 20))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    first = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(clinic_tz))
    return protocol, count, interval, clinic_tz, client_tz, first


@hsettings(max_examples=150, deadline=None)
@given(plans())
# Session 1 ends at 20:00 New York time on the Thursday before New York falls back: the window
# closes at 20:00 on Saturday and the note waits for 08:00 across a 13-hour night (found on main).
@example((CATALOG.get("skin-rejuvenation"), 3, 6, "Australia/Lord_Howe", "America/New_York",
          datetime(2028, 11, 3, 10, 0, tzinfo=ZoneInfo("Australia/Lord_Howe"))))
def test_property_quiet_hours_order_and_wall_clock(plan):
    protocol, count, interval, clinic_tz, client_tz, first = plan
    settings = clinic(clinic_tz)
    timeline = build_timeline(protocol, first, settings, sessions=count, interval_weeks=interval,
                              client_timezone=client_tz)
    sessions = {s.number: s for s in timeline.sessions}
    assert len(sessions) == count
    wall = first.replace(tzinfo=None)
    for session in timeline.sessions:
        local_start = session.starts_at.astimezone(ZoneInfo(clinic_tz)).replace(tzinfo=None)
        assert local_start == wall + timedelta(weeks=interval * (session.number - 1))
    for message in timeline.messages:
        session = sessions[message.session_number]
        assert message.due_at.tzinfo is not None and message.due_at.utcoffset() == timedelta(0)
        # The same instant, told in the client's own zone (aware datetimes compare by instant,
        # so the zone is checked separately).
        assert message.local_time == message.due_at
        assert message.local_time.tzinfo.key == client_tz
        # The one exception: aftercare at the end of an evening session, up to the clinic's limit (21:00).
        evening_aftercare = message.kind == "aftercare" and evening_allows(message.due_at, client_tz, time(20), time(21))
        assert evening_aftercare or not in_quiet_hours(message.due_at, client_tz, time(20), time(8)), message
        assert 0 < len(message.body) <= 1600 and message.segments >= 1
        if message.kind == "reminder":
            hours = int(message.key.removeprefix("reminder-").removesuffix("h"))
            planned = session.starts_at - timedelta(hours=hours)
            assert message.due_at < session.starts_at and message.not_after == session.starts_at
            # Exactly the offset in real time, unless quiet hours pulled it earlier.
            assert message.due_at == planned or (message.due_at < planned and in_quiet_hours(
                planned, client_tz, time(20), time(8)))
        elif message.kind == "aftercare":
            assert message.due_at >= session.ends_at
            assert message.due_at == session.ends_at or in_quiet_hours(session.ends_at, client_tz, time(20), time(8))
            assert message.due_at - session.ends_at <= timedelta(hours=13)
        elif message.kind == "aftercare_end":
            assert message.due_at >= session.ends_at + timedelta(hours=protocol.aftercare_hours)
            # 12 quiet hours plus the hour a fall-back night repeats: the bound is reached, not just approached.
            assert message.due_at - session.ends_at <= timedelta(hours=protocol.aftercare_hours + 13)
            # When the window closes at night the note comes when quiet hours end, not later.
            window_end = aftercare_ends(session.ends_at, protocol.aftercare_hours, client_tz)
            assert message.due_at == window_end or (
                in_quiet_hours(window_end, client_tz, time(20), time(8))
                and message.due_at.astimezone(ZoneInfo(client_tz)).time() == time(8))
        elif message.kind == "booking_nudge":
            assert sessions[message.session_number - 1].ends_at < message.due_at < session.starts_at - timedelta(hours=48)


@hsettings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(ZONES))
def test_property_shifts_leave_quiet_hours_in_the_right_direction(when, tz):
    later = shift_out_of_quiet_hours(when, tz, time(20), time(8), direction="later")
    earlier = shift_out_of_quiet_hours(when, tz, time(20), time(8), direction="earlier")
    assert not in_quiet_hours(later, tz, time(20), time(8))
    assert not in_quiet_hours(earlier, tz, time(20), time(8))
    assert earlier <= when <= later
    # Quiet hours last 12 hours, so no shift is longer than that (plus a DST hour and the margin).
    assert later - when <= timedelta(hours=13) and when - earlier <= timedelta(hours=13, minutes=15)


@pytest.mark.parametrize("protocol_id, interval", [("pigmentation", 2), ("pigmentation", 4), ("skin-rejuvenation", 6)])
def test_no_two_texts_of_a_plan_arrive_at_the_same_moment(protocol_id, interval):
    protocol = CATALOG.get(protocol_id)
    timeline = build_timeline(protocol, local(2027, 3, 2, 10), clinic(), sessions=protocol.sessions.min,
                              interval_weeks=interval)
    times = [m.due_at for m in timeline.messages]
    assert len(times) == len(set(times))
    nudges = [m for m in timeline.messages if m.kind == "booking_nudge"]
    ends = {m.session_number: m.due_at for m in timeline.messages if m.kind == "aftercare_end"}
    assert nudges and all(n.due_at - ends[n.session_number - 1] >= timedelta(days=1) for n in nudges)
