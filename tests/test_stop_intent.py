"""The stop classifier: any reasonable way of saying stop opts out; the known false positives do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glowline.compliance.keywords import Keyword, detect
from glowline.compliance.stop_intent import StopIntent, classify
from tests.stop_phrases import APPOINTMENTS, NOT_STOPS, PROBABLY, QUESTIONS, STOPS

def test_the_table_is_at_least_eighty_phrases():
    assert len(set(STOPS)) >= 80


@pytest.mark.parametrize("phrase", STOPS)
def test_every_way_of_saying_stop_is_an_opt_out(phrase):
    assert classify(phrase) is StopIntent.STOP
    assert detect(phrase) is Keyword.OPT_OUT


@pytest.mark.parametrize("phrase", NOT_STOPS)
def test_false_positives_are_kept_out(phrase):
    assert classify(phrase) is None
    assert detect(phrase) is not Keyword.OPT_OUT


@pytest.mark.parametrize("phrase", QUESTIONS)
def test_a_question_about_stopping_is_answered_not_acted_on(phrase):
    assert classify(phrase) is StopIntent.QUESTION
    assert detect(phrase) is Keyword.STOP_QUESTION


@pytest.mark.parametrize("phrase", APPOINTMENTS)
def test_cancelling_an_appointment_is_for_staff_not_an_opt_out(phrase):
    assert classify(phrase) is StopIntent.APPOINTMENT_CANCEL
    assert detect(phrase) is Keyword.APPOINTMENT_CANCEL


@pytest.mark.parametrize("phrase", PROBABLY)
def test_a_probable_stop_gets_one_question(phrase):
    assert classify(phrase) is StopIntent.PROBABLY_STOP


_PUNCT = st.sampled_from(["", ".", "!", "!!!", "...", ",", " :)", " 🙏", "\n", "  ", "\t"])
_LEAD = st.sampled_from(["", " ", "  ", "\n", "Hi. ", "Hello, ", "ok ", "Please, "])
_CASE = st.sampled_from([str.lower, str.upper, str.title, str.capitalize, lambda s: s])


@settings(max_examples=300, deadline=None)
@given(phrase=st.sampled_from(STOPS), case=_CASE, lead=_LEAD, tail=_PUNCT)
def test_wrapping_a_stop_in_case_space_and_punctuation_never_hides_it(phrase, case, lead, tail):
    assert classify(lead + case(phrase) + tail) is StopIntent.STOP


@settings(max_examples=300, deadline=None)
@given(phrase=st.sampled_from([p for p in NOT_STOPS if not p.endswith("?")]), case=_CASE, tail=_PUNCT)
def test_wrapping_a_false_positive_never_makes_it_a_stop(phrase, case, tail):
    assert classify(case(phrase) + tail) is not StopIntent.STOP


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gets_an_answer_never_an_error(text):
    assert classify(text) in (None, *StopIntent)
