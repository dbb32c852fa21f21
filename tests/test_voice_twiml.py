"""Voice rendering: every TwiML we answer is Twilio's XML; dates, numbers and replies read aloud well."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from glowline.messages.dates import spoken_moment
from glowline.voice.twiml import parse_confidence, read_answer, spoken_phone
from glowline.voice.calls import CallResult, read_choice


def test_spoken_moment_reads_day_date_and_time():
    ny = ZoneInfo("America/New_York")
    assert spoken_moment(datetime(2026, 12, 10, 10, 0, tzinfo=ny)) == "Thursday, December 10 at 10 AM"
    assert spoken_moment(datetime(2026, 12, 10, 14, 30, tzinfo=ny)) == "Thursday, December 10 at 2:30 PM"
    assert spoken_moment(datetime(2026, 12, 10, 0, 5, tzinfo=ny)) == "Thursday, December 10 at 12:05 AM"


def test_spoken_phone_groups_digits():
    assert spoken_phone("+12125550123") == "2 1 2, 5 5 5, 0 1 2 3"


@pytest.mark.parametrize("form, reply, via, confidence", [
    ({"Digits": "2", "SpeechResult": "", "Confidence": ""}, "2", "dtmf", None),
    ({"SpeechResult": "Maria", "Confidence": "0.91"}, "Maria", "speech", 0.91),
    ({"SpeechResult": "maybe", "Confidence": "nonsense"}, "maybe", "speech", None),
    ({}, "", "none", None),
])
def test_read_answer_prefers_keys_and_keeps_confidence(form, reply, via, confidence):
    answer = read_answer(form)
    assert (answer.reply, answer.via, answer.confidence) == (reply, via, confidence)


def test_confidence_is_clamped_and_nan_refused():
    assert parse_confidence("1.7") == 1.0 and parse_confidence("nan") is None and parse_confidence(None) is None


@pytest.mark.parametrize("digits, speech, result", [
    ("1", None, CallResult.CONFIRMED),
    ("2", None, CallResult.CALLBACK_REQUESTED),
    ("9", None, CallResult.OPTED_OUT),
    ("5", None, None),
    (None, "Yes, I'll be there.", CallResult.CONFIRMED),
    (None, "please call me back", CallResult.CALLBACK_REQUESTED),
    (None, "Stop.", CallResult.OPTED_OUT),
    (None, "purple", None),
])
def test_reminder_answers_by_key_or_word(digits, speech, result):
    assert read_choice(digits, speech).result is result
