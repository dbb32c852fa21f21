"""Dates in PLAN and MOVE texts, read by dateparser in the clinic's locale and zone."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from glowline.exceptions import ValidationError
from glowline.plans.plan_text import _year_checked, date_order, parse_plan_text
from glowline.store.models import Plan, TreatmentSession
from tests.helpers import make_clinic, make_intake
from tests.test_staff_sms import _text

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)  # Tue Dec 1, 10:00 in New York
NY, SYDNEY = "America/New_York", "Australia/Sydney"


def first_local(body: str, tz: str = NY):
    return parse_plan_text(body, tz=tz, now=NOW).first_session_at.astimezone(ZoneInfo(tz))


def test_numeric_dates_follow_the_clinics_country():
    assert (date_order(NY), date_order(SYDNEY), date_order("Europe/London")) == ("MDY", "DMY", "DMY")
    us = first_local("PLAN 5 12/3 10:00")
    assert (us.year, us.month, us.day, us.hour) == (2026, 12, 3, 10)
    # At a Sydney clinic 12/3 is 12 March; December 3 (the other reading) comes first, so it asks.
    with pytest.raises(ValidationError, match=r"12/3 reads as Mar 12 2027 10:00 AM \(day/month.*add OK"):
        first_local("PLAN 5 12/3 10:00", SYDNEY)
    au = first_local("PLAN 5 12/3 10:00 ok", SYDNEY)
    assert (au.month, au.day, au.hour, au.utcoffset().total_seconds() / 3600) == (3, 12, 10, 11)


@pytest.mark.parametrize(("body", "expected"), [
    ("PLAN 5 next tuesday 3pm", (2026, 12, 8, 15, 0)),
    ("PLAN 5 martes 15:00", (2026, 12, 8, 15, 0)),
    ("PLAN 5 3 de diciembre a las 10:00", (2026, 12, 3, 10, 0)),
    ("PLAN 5 15 de enero 9:30am", (2027, 1, 15, 9, 30)),
    ("PLAN 5 Dec 3 at 10 am", (2026, 12, 3, 10, 0)),
    ("PLAN 5 2026-12-03T10:00", (2026, 12, 3, 10, 0)),
    ("PLAN 5 jan 12 2027 2:30pm", (2027, 1, 12, 14, 30)),
])
def test_english_and_spanish_dates_and_relative_days(body, expected):
    when = first_local(body)
    assert (when.year, when.month, when.day, when.hour, when.minute) == expected


@pytest.mark.parametrize(("body", "message"), [
    # dateparser reads "a las 10" as the year 2110; the bare hour is asked about before that can happen.
    ("PLAN 5 3 de diciembre a las 10", "write the time as 10am, 10pm or 10:00"),
    ("PLAN 5 dec 3 10", "write the time as 10am, 10pm or 10:00"),
    ("PLAN 5 dec 10am", "could not read a date at 'dec'"),  # a month alone is not a day
    ("PLAN 5 3/12 10:00", "3/12 reads as Mar 12 2027"),  # December 3 would come first: confirm
    ("PLAN 5 feb 29 2027 10am", "2027-02-29 is not a date"),
])
def test_doubtful_dates_are_answered_not_guessed(body, message):
    with pytest.raises(ValidationError, match=message):
        first_local(body)


def test_a_written_year_is_kept_and_a_supplied_far_one_is_refused():
    assert first_local("PLAN 5 dec 3 2031 10am").year == 2031
    # What dateparser made of "3 de diciembre a las 10" (the year 2110) is refused, naming the reading.
    with pytest.raises(ValidationError, match=r"reads as Dec 3 2110 10:00 AM, more than two years ahead"):
        _year_checked(date(2110, 12, 3), time(10), "3 de diciembre", tz=NY, now=NOW)


def test_an_australian_clinic_plans_12_march_by_text(db, runtime):
    clinic = make_clinic(db, tz=SYDNEY, name="Bondi Skin", number="+61291234567", staff=("+61412345678",),
                         contact="+61291234500")
    intake = make_intake(db, clinic, phone="+61412000111")
    asked = _text(db, runtime, clinic, f"PLAN {intake.id} 12/3 10:00", sender="+61412345678")
    assert "reads as Mar 12 2027" in asked and not list(db.scalars(select(Plan)))
    _text(db, runtime, clinic, f"PLAN {intake.id} 12/3 10:00 ok", sender="+61412345678")
    [plan] = db.scalars(select(Plan)).all()
    first = db.scalar(select(TreatmentSession).where(TreatmentSession.plan_id == plan.id, TreatmentSession.number == 1))
    assert first.starts_at.astimezone(ZoneInfo(SYDNEY)).strftime("%m-%d %H:%M") == "03-12 10:00"


@hsettings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=40))
def test_any_unicode_after_a_date_never_raises_anything_but_a_validation_error(tail):
    with contextlib.suppress(ValidationError):
        parse_plan_text("PLAN 4 dec 3 " + tail, tz=SYDNEY, now=NOW)
    with contextlib.suppress(ValidationError):
        parse_plan_text("PLAN 4 " + tail + " 10am", tz=NY, now=NOW)
