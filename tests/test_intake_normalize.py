"""Forgiving parsing: what a client types becomes an answer the schema can check."""

from __future__ import annotations

import pytest

from glowline.intake.engine import build_engine
from glowline.intake.answers import interpret
from glowline.normalize import clean, parse_number, parse_yes_no


@pytest.fixture(scope="module")
def engine():
    from glowline.config import Config
    from glowline.runtime import Runtime

    return build_engine(Runtime(Config()))


@pytest.mark.parametrize("reply, expected", [
    ("yes", True), ("Y", True), ("yeah", True), ("Yes!!", True), ("  YES  ", True), ("👍", True), ("✅", True),
    ("yes i am", True), ("no", False), ("n", False), ("Nope.", False), ("no thanks", False), ("👎", False),
    ("I'm not", False), ("maybe", None), ("", None), ("🙂", None), ("yes no", None), ("1", None),
])
def test_yes_no(reply, expected):
    assert parse_yes_no(reply) is expected


def test_keypad_yes_no_only_on_calls():
    assert parse_yes_no("1", keypad=True) is True and parse_yes_no("2", keypad=True) is False


@pytest.mark.parametrize("reply, expected", [
    ("1", 1), ("1)", 1), ("#1", 1), ("one", 1), ("  3. ", 3), ("number 2", 2), ("option 4", 4), ("Nine", 9),
    ("1 2", None), ("abc", None), ("", None),
])
def test_numbers(reply, expected):
    assert parse_number(reply) == expected


def test_clean_drops_control_characters_and_keeps_words():
    assert clean("  Ma\x00ria \n\t ") == "Ma ria"
    assert clean("x" * 5000) == "x" * 1600


@pytest.mark.parametrize("reply, expected", [
    ("1", "acne scars"), ("1)", "acne scars"), ("one", "acne scars"), ("Acne", "acne scars"),
    ("ACNE SCARS!", "acne scars"), ("scars", "scars"), ("wrinkles", "fine lines and wrinkles"),
    ("melasma", "pigmentation"), ("acne scars on my cheeks", "acne scars"),
    ("10", None), ("0", None), ("purple", None), ("1 and 2", None), ("🙂", None), ("", None),
])
def test_concern(engine, reply, expected):
    assert interpret(engine.question("concern"), reply).value == expected


@pytest.mark.parametrize("reply, expected", [
    ("1", ["face"]), ("1 2", ["face", "neck"]), ("1, 3", ["face", "chest"]), ("face and neck", ["face", "neck"]),
    ("Belly!", ["stomach"]), ("2 2", ["neck"]), ("7", None), ("purple", None),
])
def test_area(engine, reply, expected):
    assert interpret(engine.question("area"), reply).value == expected


@pytest.mark.parametrize("reply, expected", [
    ("maria", "Maria"), ("My name is Maria.", "Maria"), ("it's Jean-Luc", "Jean-Luc"), ("Mary Ann", "Mary Ann"),
    ("I'm ANA", "Ana"), ("  ", None), ("😀", None),
])
def test_first_name(engine, reply, expected):
    assert interpret(engine.question("first_name"), reply).value == expected


@pytest.mark.parametrize("reply, expected", [
    ("Maria", "Maria"), ("José", "José"), ("Anne-Marie", "Anne-Marie"), ("O'Neil", "O'Neil"), ("O’Neil", "O’Neil"),
    ("mary jane", "Mary Jane"), ("o'neil", "O'Neil"),
    ("123", None), ("Here is my face", None), ("Maria 2", None), ("my name is what you see", None),
])
def test_first_name_is_one_or_two_words_of_letters(engine, reply, expected):
    result = interpret(engine.question("first_name"), reply)
    assert result.value == expected and not result.refused


@pytest.mark.parametrize("reply", ["no", "No!", "nope", "why", "Why?", "why do you need my name", "prefer not",
                                   "I'd rather not say", "none of your business"])
def test_a_refusal_to_a_free_text_question_is_not_an_answer(engine, reply):
    for field in ("first_name", "preferred_times"):
        result = interpret(engine.question(field), reply)
        assert result.refused and result.value is None


def test_consent_no_is_a_decline_not_a_miss(engine):
    result = interpret(engine.question("consent"), "No thanks")
    assert result.declined and result.value is None
