"""Message texts: defaults that carry what the client needs and nothing more, and segment counts."""

from __future__ import annotations

import pytest

from glowline.exceptions import ValidationError
from glowline.messages.dates import format_moment
from glowline.messages.templates import TEMPLATE_KEYS, render, segments, validate_templates
from glowline.plans.timeline import MessageSettings

VALUES = dict(date="Thu Dec 3", time="10:00 AM", until="Sat Dec 5, 11:00 AM", restrictions="intense exercise",
              hours=48, duration="2 days", session_number=2, total_sessions=4,
              choices="Reply 1 for Tue Jan 19 10:00 AM, or 0 and we'll call you.",
              link="https://glowline.example.com/a/1a2b3c4d/en")


def settings(**templates):
    return MessageSettings("Glow Clinic", "+12125550123", "America/New_York", templates=templates)


@pytest.mark.parametrize("key", sorted(TEMPLATE_KEYS))
def test_defaults_carry_clinic_phone_and_fit_one_to_a_few_segments(key):
    body = render(key, settings(), **VALUES)
    assert "Glow Clinic" in body and "(212) 555-0123" in body
    assert len(body) <= 1600
    assert segments(body)[1] == "GSM-7"


@pytest.mark.parametrize("key", ["reminder_confirm", "reminder", "booking_nudge", "plan_confirmation"])
def test_appointment_texts_carry_date_and_time(key):
    body = render(key, settings(), **VALUES)
    assert "Thu Dec 3" in body and "10:00 AM" in body


def test_confirming_reminder_asks_to_reply_and_to_come_early():
    body = render("reminder_confirm", settings(), **VALUES)
    assert "Reply C to confirm or R to reschedule" in body
    assert "15 minutes early" in body and "numbing cream" in body


def test_aftercare_says_for_how_long_and_until_when_and_links_to_the_list():
    body = render("aftercare", settings(), **VALUES)
    assert "2 days" in body and "until Sat Dec 5, 11:00 AM" in body
    assert "https://glowline.example.com/a/1a2b3c4d/en" in body and segments(body)[0] <= 2


def test_a_clinic_aftercare_template_with_the_list_itself_still_works():
    body = render("aftercare", settings(aftercare="{clinic}: avoid {restrictions} for {duration}. {phone}"), **VALUES)
    assert body == "Glow Clinic: avoid intense exercise for 2 days. (212) 555-0123"


def test_a_clinic_template_overrides_the_default():
    body = render("reminder", settings(reminder="{clinic} {date} {time}, call {phone}"), **VALUES)
    assert body == "Glow Clinic Thu Dec 3 10:00 AM, call (212) 555-0123"


@pytest.mark.parametrize("text", ["Hi {name}", "Hi {clinic.__class__}", "Hi {phone[0]}"])
def test_unknown_placeholders_are_refused_naming_the_template(text):
    with pytest.raises(ValidationError, match="'reminder'") as info:
        render("reminder", settings(reminder=text), **VALUES)
    assert info.value.field == "templates.reminder"
    with pytest.raises(ValidationError):
        validate_templates({"reminder": text})


def test_a_placeholder_this_message_cannot_fill_is_refused():
    with pytest.raises(ValidationError, match="until"):
        render("reminder", settings(reminder="{clinic} until {until}"), date="d", time="t")


def test_unknown_template_keys_are_refused():
    with pytest.raises(ValidationError, match="reminders"):
        validate_templates({"reminders": "{clinic}"})
    validate_templates({"reminder": "{clinic} on {date}"})


def test_a_body_over_1600_characters_is_refused():
    with pytest.raises(ValidationError, match="1600"):
        render("reminder", settings(reminder="{clinic} " + "x" * 1600), **VALUES)


@pytest.mark.parametrize("text, expected", [
    ("a" * 160, (1, "GSM-7")),
    ("a" * 161, (2, "GSM-7")),
    ("a" * 306, (2, "GSM-7")),
    ("a" * 307, (3, "GSM-7")),
    ("€" * 80, (1, "GSM-7")),           # extension characters count two septets
    ("€" * 81, (2, "GSM-7")),
    ("a" * 152 + "€" + "a" * 10, (2, "GSM-7")),  # the escape pair is not split across segments
    ("a" * 152 + "€" + "a" * 152, (3, "GSM-7")),
    ("Ł" * 70, (1, "UCS-2")),
    ("Ł" * 71, (2, "UCS-2")),
    ("😀" * 35, (1, "UCS-2")),           # an emoji is two UTF-16 code units
    ("😀" * 36, (2, "UCS-2")),
    ("a" * 66 + "😀" + "a" * 10, (2, "UCS-2")),
    ("a" * 66 + "😀" + "a" * 66, (3, "UCS-2")),
    ("é à ñ ü Ç £ ¥ § ¿", (1, "GSM-7")),
])
def test_segments(text, expected):
    assert segments(text) == expected


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2():
    assert segments("a" * 100 + "’") == (2, "UCS-2")


def test_format_moment_is_what_the_client_reads():
    from datetime import datetime

    assert format_moment(datetime(2026, 12, 5, 11, 0)) == "Sat Dec 5, 11:00 AM"
    assert format_moment(datetime(2026, 12, 5, 0, 5)) == "Sat Dec 5, 12:05 AM"
    assert format_moment(datetime(2026, 12, 5, 12, 30)) == "Sat Dec 5, 12:30 PM"
