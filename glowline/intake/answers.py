"""From a raw reply to a candidate answer for one question; the schema then decides if it fits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from glowline.intake.questions import Question
from glowline.normalize import clean, fold, match_words, parse_numbers, parse_yes_no, words
from glowline.store.models import Channel

# "my name is Maria", "it's Maria", "Maria here": keep just the name.
_NAME_LEAD = re.compile(r"^(?:hi|hello|hey)?[\s,!.]*(?:my name is|my name's|name is|name's|i am|i'm|im|it is|it's|"
                        r"this is|call me)\s+", re.IGNORECASE)
_NAME_TAIL = re.compile(r"\s+here$", re.IGNORECASE)
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
# A first name: one or two words of letters, each word may join parts with an apostrophe or hyphen
# ("Anne-Marie", "O'Neil", "Mary Jane"). [^\W\d_] is "a letter" in any script, accents included.
_LETTERS = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"
_FIRST_NAME = re.compile(rf"^{_LETTERS}(?: {_LETTERS})?$")
# A refusal or a question back ("no", "why?", "prefer not to say") to a free-text question: the client
# hears why the clinic asks, then the question again.
_REFUSAL = re.compile(r"^(?:no+|nope|nah|no (?:thanks?|thank you|way)|why\b.*|what for\b.*|how come\b.*|"
                      r"(?:i(?:'d| would) )?(?:rather|prefer) not\b.*|i don'?t want to\b.*|not telling\b.*|"
                      r"none of your business|skip|pass|n ?a|"
                      # Spanish, accents folded: "¿por qué?", "prefiero no decirlo", "no quiero".
                      r"por ?que\b.*|para que\b.*|(?:yo )?prefiero no\b.*|no quiero\b.*|no gracias|paso)$",
                      re.IGNORECASE)


# Skipping the optional photo question, in every language the intake speaks ("no" is the same in both).
_SKIP_PHOTO = frozenset({"skip", "no", "nope", "no thanks", "no thank you", "not now", "pass",
                         "omitir", "omite", "saltar", "no gracias", "ahora no", "paso"})
PHOTO_SENT, PHOTO_SKIPPED = "sent", "skipped"


@dataclass(frozen=True)
class Interpretation:
    """The answer a reply seems to give (None when it gives none), or a declined consent."""

    value: object = None
    declined: bool = False
    refused: bool = False
    several: bool = False


def interpret(question: Question, reply: str | None, *, channel: Channel = Channel.SMS) -> Interpretation:
    """Read ``reply`` as an answer to ``question`` (numbers, words, yes/no, emoji)."""
    keypad = channel == Channel.VOICE
    if question.kind == "consent":
        verdict = parse_yes_no(reply, keypad=keypad)
        return Interpretation(declined=verdict is False, value=True if verdict else None)
    if question.kind == "yesno":
        return Interpretation(parse_yes_no(reply, keypad=keypad))
    if question.kind == "choice":
        numbers = parse_numbers(reply)
        if numbers is not None and len(set(numbers)) > 1:
            return Interpretation(several=True)  # "1, 3" to a single choice: ask to pick one
        return Interpretation(_choice(question, reply))
    if question.kind == "multi":
        return Interpretation(_multi(question, reply))
    if question.kind == "photo":
        # Only a photo answers it (see IntakeEngine.photo_received); words can only skip it.
        return Interpretation(PHOTO_SKIPPED if words(reply) in _SKIP_PHOTO else None)
    if _is_refusal(reply):
        return Interpretation(refused=True)
    return Interpretation(_text(question, reply))


def _is_refusal(reply: str | None) -> bool:
    said = re.sub(r"[^\w\s']+", " ", fold(clean(reply)).replace("\u2019", "'"))
    return bool(_REFUSAL.match(" ".join(said.split())))


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
    if question.shape == "first-name":
        return _first_name(text)
    return text or None


def _first_name(text: str) -> str | None:
    name = " ".join(_EDGE_PUNCT.sub("", _NAME_TAIL.sub("", _NAME_LEAD.sub("", text))).split())
    if not _FIRST_NAME.match(name):
        return None  # a sentence, a caption, a number: not a name
    if name.islower() or name.isupper():
        name = name.title()
    return name
