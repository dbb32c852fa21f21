"""The intake questionnaire read from schemas/intake.schema.json, and its wording per channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Mapping

from glowline.exceptions import ConfigError
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.store.models import Channel

KINDS = ("consent", "yesno", "choice", "multi", "text")
# The shapes a free-text answer may be declared to take (``x-shape``); see intake.answers.
SHAPES = ("first-name", "free")
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
    shape: str = "free"
    why: str | None = None
    ack: str | None = None

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

    filled = _PLACEHOLDER.sub(repl, template)
    filled = re.sub(r",\s*([!?.])", r"\1", re.sub(r" {2,}", " ", filled))
    return re.sub(r"\s+([,!?.])", r"\1", filled).strip()


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
        shape = sub.get("x-shape", "free")
        if shape not in SHAPES:
            raise ConfigError(f"{where}.x-shape: expected one of {', '.join(SHAPES)}, got {shape!r}")
        for key in ("x-why", "x-ack"):
            if sub.get(key) is not None and (not isinstance(sub[key], str) or not sub[key].strip()):
                raise ConfigError(f"{where}.{key}: must be a sentence")
        choices = _choices(name, sub, kind, catalog) if kind in ("choice", "multi") else ()
        hints = tuple(sub.get("x-speech-hints") or ())
        if not hints and choices:
            hints = tuple(dict.fromkeys(h for c in choices for h in (c.label, *c.synonyms)))
        questions.append(Question(
            field=name, prompt=sub["x-prompt"], hint=sub["x-hint"], kind=kind, choices=choices,
            speech_hints=hints, screening=sub.get("x-screening"), voice_prompt=sub.get("x-prompt-voice"),
            voice_hint=sub.get("x-hint-voice"), shape=shape, why=sub.get("x-why"),
            ack=sub.get("x-ack"),
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


def render_question(question: Question, channel: Channel, values: Mapping[str, object],
                    locale: str = DEFAULT_LOCALE) -> str:
    """The question as sent on ``channel``: prompt, numbered options and how to answer."""
    voice = channel == Channel.VOICE
    prompt = fill(question.voice_prompt if voice and question.voice_prompt else question.prompt, values)
    suffix = ".voice" if voice else ""
    if question.kind in ("consent", "yesno"):
        return text(f"question.yesno{suffix}", locale, prompt=prompt)
    if question.kind in ("choice", "multi"):
        # A caller hears the options in one sentence ("1 for acne; 2 for ..."); a text lists them a line each.
        options = ("; " if voice else "\n").join(
            text(f"question.option{suffix}", locale, number=c.number, label=c.label.lower() if voice else c.label)
            for c in question.choices)
        key = f"question.{question.kind}"
        if question.kind == "choice" and len(question.choices) == 2 and not voice:
            key += ".two"  # "Reply 1 or 2", not "a number from 1 to 2"
        return text(f"{key}{suffix}", locale, prompt=prompt, options=options, n=len(question.choices))
    return prompt


def render_hint(question: Question, channel: Channel, values: Mapping[str, object], locale: str = DEFAULT_LOCALE) -> str:
    """The short hint sent after a reply that does not fit."""
    n = len(question.choices)
    if channel == Channel.VOICE:
        if question.voice_hint:
            return fill(question.voice_hint, {**values, "n": n})
        if question.kind in ("consent", "yesno"):
            return text("hint.yesno.voice", locale)
        if question.kind == "choice" and n == 2:
            return text("hint.choice.two.voice", locale)
        if question.kind in ("choice", "multi"):
            return text(f"hint.{question.kind}.voice", locale, n=n)
    return fill(question.hint, {**values, "n": n})
