"""The intake questionnaire read from schemas/intake.schema.json, and its wording per channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as _field
from collections.abc import Mapping

from glowline.exceptions import ConfigError
from glowline.messages.catalog import DEFAULT_LOCALE, text
from glowline.store.models import Channel

KINDS = ("consent", "yesno", "choice", "multi", "text", "photo")
CHANNELS = tuple(c.value for c in Channel)
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
    # Wording per locale when the schema gives {"en": ..., "es": ...}; prompt and hint above are the English.
    prompts: Mapping[str, str] = _field(default_factory=dict)
    hints: Mapping[str, str] = _field(default_factory=dict)
    # The channels it is asked on (x-channels): a caller cannot send a photo.
    channels: tuple[str, ...] = CHANNELS

    def prompt_in(self, locale: str, *, voice: bool = False) -> str:
        """The prompt template in ``locale`` (English when the schema gives only one wording)."""
        if voice and self.voice_prompt:
            return self.voice_prompt
        return self.prompts.get(locale) or self.prompt

    def hint_in(self, locale: str) -> str:
        """The hint template in ``locale`` (English when the schema gives only one wording)."""
        return self.hints.get(locale) or self.hint

    def asked_on(self, channel: Channel | str) -> bool:
        """Whether this question is asked on ``channel``."""
        return Channel(channel).value in self.channels

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
        wordings = {key: _wording(sub, key, where) for key in ("x-prompt", "x-hint", "x-prompt-voice", "x-hint-voice",
                                                                "x-why", "x-ack")}
        for key in ("x-prompt", "x-hint"):
            if not wordings[key]:
                raise ConfigError(f"{where}.{key}: every question needs a {key[2:]} text")
        asked_on = tuple(sub.get("x-channels") or CHANNELS)
        if not asked_on or any(c not in CHANNELS for c in asked_on):
            raise ConfigError(f"{where}.x-channels: expected some of {', '.join(CHANNELS)}")
        shape = sub.get("x-shape", "free")
        if shape not in SHAPES:
            raise ConfigError(f"{where}.x-shape: expected one of {', '.join(SHAPES)}, got {shape!r}")
        choices = _choices(name, sub, kind, catalog) if kind in ("choice", "multi") else ()
        hints = tuple(sub.get("x-speech-hints") or ())
        if not hints and choices:
            hints = tuple(dict.fromkeys(h for c in choices for h in (c.label, *c.synonyms)))
        english = {key: (given.get(DEFAULT_LOCALE) or next(iter(given.values()))) if given else None
                   for key, given in wordings.items()}
        questions.append(Question(
            field=name, prompt=english["x-prompt"] or "", hint=english["x-hint"] or "", kind=kind, choices=choices,
            speech_hints=hints, screening=sub.get("x-screening"), voice_prompt=english["x-prompt-voice"],
            voice_hint=english["x-hint-voice"], shape=shape, why=english["x-why"], ack=english["x-ack"],
            prompts=wordings["x-prompt"], hints=wordings["x-hint"], channels=asked_on,
        ))
    return questions


def _wording(sub: Mapping, key: str, where: str) -> dict[str, str]:
    """A wording given as one sentence or as {"en": ..., "es": ...}, as a dict by locale (empty when absent)."""
    given = sub.get(key)
    if given is None:
        return {}
    if isinstance(given, str):
        given = {DEFAULT_LOCALE: given}
    if not isinstance(given, Mapping) or not given or not all(
            isinstance(v, str) and v.strip() for v in given.values()):
        raise ConfigError(f"{where}.{key}: must be a sentence, or one per locale ({{\"en\": ..., \"es\": ...}})")
    return dict(given)


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
    prompt = fill(question.prompt_in(locale, voice=voice), values)
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
    return fill(question.hint_in(locale), {**values, "n": n})
