"""The intake questionnaire read from schemas/intake.schema.json, and its wording per channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Mapping

from glowline.exceptions import ConfigError

KINDS = ("consent", "yesno", "choice", "multi", "text")
SCHEMA_FILE = "intake.schema.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Choice:
    """One numbered option of a choice question; ``value`` is what the schema stores."""

    number: int
    value: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """One property of the intake schema as a question (prompt and hint are templates)."""

    field: str
    prompt: str
    hint: str
    kind: str
    choices: tuple[Choice, ...] = ()
    speech_hints: tuple[str, ...] = ()
    screening: str | None = None
    voice_prompt: str | None = None
    voice_hint: str | None = None

    def choice(self, number: int) -> Choice | None:
        """The choice with this number, if there is one."""
        return next((c for c in self.choices if c.number == number), None)

    def label_of(self, value) -> str:
        """A stored value as the client would read it back."""
        if isinstance(value, list):
            return ", ".join(self.label_of(v) for v in value)
        for c in self.choices:
            if c.value == value:
                return c.label
        return str(value)


def fill(template: str, values: Mapping[str, object]) -> str:
    """Replace {name} placeholders; unknown or empty ones vanish along with a space before them."""
    def repl(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "" if value in (None, "") else str(value)

    text = _PLACEHOLDER.sub(repl, template)
    text = re.sub(r",\s*([!?.])", r"\1", re.sub(r" {2,}", " ", text))
    return re.sub(r"\s+([,!?.])", r"\1", text).strip()


def load_questions(schema: Mapping, catalog) -> list[Question]:
    """Every property of the schema as a Question, in order; a broken annotation raises ConfigError."""
    properties = schema.get("properties") or {}
    if not properties:
        raise ConfigError(f"{SCHEMA_FILE}: properties: the questionnaire has no questions")
    questions = []
    for name, sub in properties.items():
        where = f"{SCHEMA_FILE}: properties.{name}"
        kind = sub.get("x-kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}.x-kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        for key in ("x-prompt", "x-hint"):
            if not isinstance(sub.get(key), str) or not sub[key].strip():
                raise ConfigError(f"{where}.{key}: every question needs a {key[2:]} text")
        choices = _choices(name, sub, kind, catalog) if kind in ("choice", "multi") else ()
        hints = tuple(sub.get("x-speech-hints") or ())
        if not hints and choices:
            hints = tuple(dict.fromkeys(h for c in choices for h in (c.label, *c.synonyms)))
        questions.append(Question(
            field=name, prompt=sub["x-prompt"], hint=sub["x-hint"], kind=kind, choices=choices,
            speech_hints=hints, screening=sub.get("x-screening"), voice_prompt=sub.get("x-prompt-voice"),
            voice_hint=sub.get("x-hint-voice"),
        ))
    return questions


def _choices(name: str, sub: Mapping, kind: str, catalog) -> tuple[Choice, ...]:
    where = f"{SCHEMA_FILE}: properties.{name}"
    values = (sub.get("items") or {}).get("enum") if kind == "multi" else sub.get("enum")
    if not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: a {kind} question needs an enum of strings")
    if sub.get("x-choices-from") == "conditions":
        # The concern must name a condition a protocol serves, or staff could not plan it.
        expected = list(catalog.conditions())
        if list(values) != expected:
            missing = [c for c in expected if c not in values]
            extra = [v for v in values if v not in expected]
            detail = (f"missing {missing[0]!r}" if missing else f"{extra[0]!r} is served by no protocol"
                      if extra else "order differs from protocols.json conditions")
            raise ConfigError(f"{where}.enum: must equal the conditions in protocols.json ({detail})")
    extras: dict = sub.get("x-choices") or {}
    unknown = [k for k in extras if k not in values]
    if unknown:
        raise ConfigError(f"{where}.x-choices: {unknown[0]!r} is not in the enum")
    built = []
    for number, value in enumerate(values, start=1):
        choice_extra = extras.get(value) or {}
        built.append(Choice(number=number, value=value, label=choice_extra.get("label") or value.capitalize(),
                            synonyms=tuple(choice_extra.get("synonyms") or ())))
    return tuple(built)


def render_question(question: Question, channel: str, values: Mapping[str, object]) -> str:
    """The question as sent on ``channel``: prompt, numbered options and how to answer."""
    prompt = fill(question.voice_prompt if channel == "voice" and question.voice_prompt else question.prompt, values)
    n = len(question.choices)
    if channel == "voice":
        if question.kind in ("consent", "yesno"):
            return f"{prompt} Say yes or no, or press 1 for yes and 2 for no."
        if question.kind in ("choice", "multi"):
            options = "; ".join(f"{c.number} for {c.label.lower()}" for c in question.choices)
            more = " You can say more than one." if question.kind == "multi" else ""
            return f"{prompt} Press or say {options}.{more}"
        return prompt
    if question.kind in ("consent", "yesno"):
        return f"{prompt} Reply YES or NO."
    if question.kind == "choice":
        options = "\n".join(f"{c.number} {c.label}" for c in question.choices)
        return f"{prompt}\n{options}\nReply with a number from 1 to {n}."
    if question.kind == "multi":
        options = "\n".join(f"{c.number} {c.label}" for c in question.choices)
        return f"{prompt}\n{options}\nReply with one or more numbers, e.g. 1 or 1 2."
    return prompt


def render_hint(question: Question, channel: str, values: Mapping[str, object]) -> str:
    """The short hint sent after a reply that does not fit."""
    n = len(question.choices)
    if channel == "voice":
        if question.voice_hint:
            return fill(question.voice_hint, {**values, "n": n})
        if question.kind in ("consent", "yesno"):
            return "Please say yes or no, or press 1 for yes and 2 for no."
        if question.kind == "choice":
            return f"Please say the name, or press a number from 1 to {n}."
        if question.kind == "multi":
            return f"Please say one or more of the names, or press a number from 1 to {n}."
    return fill(question.hint, {**values, "n": n})
