"""From a raw reply to a candidate answer for one question; the schema then decides if it fits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from glowline.intake.questions import Question
from glowline.normalize import clean, match_words, parse_numbers, parse_yes_no, words
from glowline.store.models import Channel

# "my name is Maria", "it's Maria", "Maria here": keep just the name.
_NAME_LEAD = re.compile(r"^(?:hi|hello|hey)?[\s,!.]*(?:my name is|my name's|name is|name's|i am|i'm|im|it is|it's|"
                        r"this is|call me)\s+", re.IGNORECASE)
_NAME_TAIL = re.compile(r"\s+here$", re.IGNORECASE)
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class Interpretation:
    """The answer a reply seems to give (None when it gives none), or a declined consent."""

    value: object = None
    declined: bool = False


def interpret(question: Question, reply: str | None, *, channel: Channel = Channel.SMS) -> Interpretation:
    """Read ``reply`` as an answer to ``question`` (numbers, words, yes/no, emoji)."""
    keypad = channel == Channel.VOICE
    if question.kind == "consent":
        verdict = parse_yes_no(reply, keypad=keypad)
        return Interpretation(declined=verdict is False, value=True if verdict else None)
    if question.kind == "yesno":
        return Interpretation(parse_yes_no(reply, keypad=keypad))
    if question.kind == "choice":
        return Interpretation(_choice(question, reply))
    if question.kind == "multi":
        return Interpretation(_multi(question, reply))
    return Interpretation(_text(question, reply))


def _choice(question: Question, reply: str | None):
    numbers = parse_numbers(reply)
    if numbers is not None:
        picked = {n for n in numbers}
        if len(picked) != 1:
            return None
        choice = question.choice(numbers[0])
        return choice.value if choice else None
    values = _by_words(question, reply)
    return values[0] if len(values) == 1 else None


def _multi(question: Question, reply: str | None):
    numbers = parse_numbers(reply)
    if numbers is not None:
        chosen = [question.choice(n) for n in dict.fromkeys(numbers)]
        if any(c is None for c in chosen):
            return None
        return [c.value for c in chosen if c is not None]
    values = _by_words(question, reply)
    return values or None


def _by_words(question: Question, reply: str | None) -> list[str]:
    names: list[str] = []
    owners: list[str] = []
    for choice in question.choices:
        for name in (choice.value, choice.label, *choice.synonyms):
            names.append(name)
            owners.append(choice.value)
    hits = match_words(reply, names)
    ordered = [c.value for c in question.choices if c.value in {owners[i] for i in hits}]
    return ordered


def _text(question: Question, reply: str | None):
    text = clean(reply)
    if not words(text):
        return None
    if question.field == "first_name":
        text = _NAME_TAIL.sub("", _NAME_LEAD.sub("", text))
        text = _EDGE_PUNCT.sub("", text)
        if text and (text.islower() or text.isupper()):
            text = text.title()
    return text or None
