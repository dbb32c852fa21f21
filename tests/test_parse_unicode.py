"""Reply parsing over arbitrary Unicode: it may not understand, but it never raises."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glowline.compliance.keywords import command, detect
from glowline.exceptions import ValidationError
from glowline.intake.answers import interpret
from glowline.intake.engine import build_engine
from glowline.normalize import clean, match_words, parse_number, parse_numbers, parse_yes_no, words
from glowline.plans.plan_text import parse_plan_text

# Every category, surrogates and unassigned code points included: what a handset or a
# speech recogniser sends is not ours to choose.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
# Digit-like characters that str.isdigit() accepts but int() refuses, and digits of other scripts.
DIGIT_LIKE = st.text(st.sampled_from("᧚²³¹①⑴⒈፩𝟙١۲५๓0123456789 ,)#"), min_size=1, max_size=6)
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def questions():
    from glowline.config import Config
    from glowline.runtime import Runtime

    return build_engine(Runtime(Config())).questions()


@pytest.mark.parametrize("reply", ["᧚", "᧚)", "᧚ and 2", "#᧚"])
def test_digit_like_characters_are_not_numbers(reply):
    assert parse_numbers(reply) is None


def test_a_choice_question_answered_with_a_digit_like_character_is_a_miss_not_an_error(questions):
    choice = next(q for q in questions if q.kind == "choice")
    assert interpret(choice, "᧚").value is None
    assert interpret(choice, "1").value == choice.choice(1).value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=st.one_of(ANY_TEXT, DIGIT_LIKE))
def test_no_reply_makes_a_parser_raise(questions, reply):
    clean(reply), words(reply), parse_yes_no(reply), parse_yes_no(reply, keypad=True)
    parse_numbers(reply), parse_number(reply), match_words(reply, ["acne scars", "face", "neck"])
    detect(reply), detect(reply, opted_out=True), command(reply)
    for question in questions:
        interpret(question, reply, channel="sms")
        interpret(question, reply, channel="voice")
    with contextlib.suppress(ValidationError):
        parse_plan_text("PLAN 4 " + reply, tz="America/New_York", now=NOW)
