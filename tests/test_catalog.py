"""The message catalogue: every key in every locale, each renders to a sendable text; dates through Babel."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from glowline.messages import catalog
from glowline.messages.catalog import DEFAULT_LOCALE, PATTERNS, SAMPLES, TEXTS, placeholders, text
from glowline.messages.dates import format_date, format_duration, format_moment, format_time, format_when
from glowline.messages.templates import MAX_BODY, TEMPLATE_KEYS

CASES = [(locale, key) for locale in sorted(TEXTS) for key in sorted(TEXTS[DEFAULT_LOCALE])]


@pytest.mark.parametrize("locale", sorted(TEXTS))
def test_every_locale_has_every_key_and_pattern(locale):
    assert set(TEXTS[locale]) == set(TEXTS[DEFAULT_LOCALE])
    assert set(PATTERNS[locale]) == set(PATTERNS[DEFAULT_LOCALE])


@pytest.mark.parametrize(("locale", "key"), CASES)
def test_every_text_renders_within_one_twilio_body(locale, key):
    names = placeholders(TEXTS[locale][key])
    assert names <= SAMPLES.keys(), f"no sample value for {sorted(names - SAMPLES.keys())}"
    body = text(key, locale, **SAMPLES)
    assert body.strip() and "{" not in body
    assert len(body) <= MAX_BODY


def test_every_clinic_template_has_a_default_in_the_catalogue():
    for key in TEMPLATE_KEYS:
        assert f"template.{key}" in TEXTS[DEFAULT_LOCALE]


def test_an_unknown_locale_falls_back_to_its_language_then_english():
    assert catalog.locale_of("en_US") == "en"
    assert catalog.locale_of("xx") == "en"
    assert catalog.locale_of(None) == "en"
    assert text("consent.opt_in", "en-GB", clinic="Glow") == text("consent.opt_in", clinic="Glow")


def test_dates_read_as_clients_expect_them():
    when = datetime(2026, 9, 3, 14, 5, tzinfo=ZoneInfo("America/New_York"))
    assert format_date(when) == "Thu Sep 3"
    assert format_time(when) == "2:05 PM"
    assert format_when(when) == "Thu Sep 3 at 2:05 PM"
    assert format_moment(when, year=True) == "Thu Sep 3 2026, 2:05 PM"


@pytest.mark.parametrize(("hours", "said"), [(48, "2 days"), (24, "1 day"), (36, "36 hours"), (1, "1 hour")])
def test_durations_are_said_in_days_when_they_divide(hours, said):
    assert format_duration(hours) == said


def test_remembered_dates_and_times_follow_each_wall_clock():
    # Babel's answers are remembered by the wall-clock date or time a pattern shows: the same instant
    # in two zones must still read as two clocks, and two instants on one clock as one text.
    instant = datetime(2026, 12, 4, 3, 30, tzinfo=ZoneInfo("UTC"))
    new_york, honolulu = instant.astimezone(ZoneInfo("America/New_York")), instant.astimezone(ZoneInfo("Pacific/Honolulu"))
    assert (format_date(new_york), format_time(new_york)) == ("Thu Dec 3", "10:30 PM")
    assert (format_date(honolulu), format_time(honolulu)) == ("Thu Dec 3", "5:30 PM")
    next_day = datetime(2026, 12, 4, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    assert (format_date(next_day), format_time(next_day, "es")) == ("Fri Dec 4", "10:30 p. m.")
    assert format_moment(next_day, year=True) == "Fri Dec 4 2026, 10:30 PM"
