"""The intake questionnaire read from schemas/intake.schema.json, and its wording per channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Mapping

from glowline.exceptions import ConfigError
from glowline.messages.catalog import DEFAULT_LOCALE, LOCALES, locale_of, text
from glowline.store.models import Channel

KINDS = ("consent", "yesno", "choice", "multi", "text", "photo")
CHANNELS = tuple(c.value for c in Channel)
# The shapes a free-text answer may be declared to take (``x-shape``); see intake.answers.
SHAPES = ("first-name", "free")
SCHEMA_FILE = "intake.schema.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# One text per catalogue locale, as (locale, text) pairs so a Question stays hashable.
Localized = tuple[tuple[str, str], ...]


def pick(texts: Localized, locale: str) -> str:
    """The text for ``locale`` (its language for "es_US"), else English: the schema requires both."""
    by_locale = dict(texts)
    return by_locale.get(locale_of(locale)) or by_locale[DEFAULT_LOCALE]


@dataclass(frozen=True)
class Choice:
    """One numbered option of a choice question; ``value`` is what the schema stores."""

    number: int
    value: str
    labels: Localized
    # Words that pick this option, in every language: a Spanish client typing "acne" still means it.
    synonyms: tuple[str, ...] = ()
    spoken: tuple[tuple[str, tuple[str, ...]], ...] = ()  # per locale: label and synonyms, for speech hints

    @property
    def label(self) -> str:
        """The English label (staff pages and tests read this one)."""
        return pick(self.labels, DEFAULT_LOCALE)

    def label_in(self, locale: str) -> str:
        """The option's label in the client's language."""
        return pick(self.labels, locale)


@dataclass(frozen=True)
class Question:
    """One property of the intake schema as a question: every wording given per locale."""

    field: str
    prompts: Localized
    hints: Localized
    kind: str
    choices: tuple[Choice, ...] = ()
    speech_hints_by_locale: tuple[tuple[str, tuple[str, ...]], ...] = ()
    screening: str | None = None
    voice_prompts: Localized = ()
    voice_hints: Localized = ()
    shape: str = "free"
    whys: Localized = ()
    acks: Localized = ()

    @property
    def prompt(self) -> str:
        """The English prompt template."""
        return pick(self.prompts, DEFAULT_LOCALE)

    @property
    def speech_hints(self) -> tuple[str, ...]:
        """The English speech hints."""
        return self.speech_hints_in(DEFAULT_LOCALE)

    def speech_hints_in(self, locale: str) -> tuple[str, ...]:
        """Words a caller may say to this question, in their language (Twilio's Gather hints)."""
        by_locale = dict(self.speech_hints_by_locale)
        return by_locale.get(locale_of(locale)) or by_locale.get(DEFAULT_LOCALE) or ()

    def prompt_in(self, locale: str, *, voice: bool = False) -> str:
        """The prompt template in ``locale``, the spoken one on a call when the schema has it."""
        return pick(self.voice_prompts if voice and self.voice_prompts else self.prompts, locale)

    def hint_in(self, locale: str, *, voice: bool = False) -> str | None:
        """The hint template in ``locale`` (on a call only the schema's spoken hint, else None)."""
        if voice:
            return pick(self.voice_hints, locale) if self.voice_hints else None
        return pick(self.hints, locale)

    def why_in(self, locale: str) -> str | None:
        """Why the clinic asks, in ``locale``, when the schema says."""
        return pick(self.whys, locale) if self.whys else None

    def ack_in(self, locale: str) -> str | None:
        """The thanks said after an accepted answer, in ``locale``, when the schema has one."""
        return pick(self.acks, locale) if self.acks else None
    # The channels it is asked on (x-channels): a caller cannot send a photo.
    channels: tuple[str, ...] = CHANNELS

    def asked_on(self, channel: Channel | str) -> bool:
        """Whether this question is asked on ``channel``."""
        return Channel(channel).value in self.channels

    def choice(self, number: int) -> Choice | None:
        """The choice with this number, if there is one."""
        return next((c for c in self.choices if c.number == number), None)

    def label_of(self, value, locale: str = DEFAULT_LOCALE) -> str:
        """A stored value as the client would read it back, in their language."""
        if isinstance(value, list):
            return ", ".join(self.label_of(v, locale) for v in value)
        for c in self.choices:
            if c.value == value:
                return c.label_in(locale)
        return str(value)


def fill(template: str, values: Mapping[str, object]) -> str:
    """Replace {name} placeholders; unknown or empty ones vanish along with a space before them."""
    def repl(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "" if value in (None, "") else str(value)

    filled = _PLACEHOLDER.sub(repl, template)
    filled = re.sub(r",\s*([!?.])", r"\1", re.sub(r" {2,}", " ", filled))
    return re.sub(r"\s+([,!?.])", r"\1", filled).strip()


def localized(value, where: str, *, required: bool = True) -> Localized:
    """A schema text given per locale ({"en": ..., "es": ...}); a missing or empty locale raises ConfigError."""
    if value is None and not required:
        return ()
    if not isinstance(value, Mapping):
        wanted = ", ".join(f"{loc!r}: ..." for loc in LOCALES)
        raise ConfigError(f"{where}: give the text in every language, as {{{wanted}}}")
    for locale in LOCALES:
        if not isinstance(value.get(locale), str) or not value[locale].strip():
            raise ConfigError(f"{where}.{locale}: the {locale} text is missing or empty")
    unknown = sorted(set(value) - set(LOCALES))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: not a catalogue language ({', '.join(LOCALES)})")
    return tuple((locale, value[locale]) for locale in LOCALES)


def _word_lists(value, where: str) -> dict[str, tuple[str, ...]]:
    """Words per locale ({"en": [...], "es": [...]}); each locale optional, each a list of strings."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or any(k not in LOCALES for k in value):
        raise ConfigError(f"{where}: give the words per language, as {{\"en\": [...], \"es\": [...]}}")
    for locale, items in value.items():
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise ConfigError(f"{where}.{locale}: must be a list of words")
    return {locale: tuple(items) for locale, items in value.items()}


def load_questions(schema: Mapping, catalog) -> list[Question]:
    """Every property of the schema as a Question, in order; a broken annotation raises ConfigError."""
    properties = schema.get("properties") or {}
    if not properties:
        raise ConfigError(f"{SCHEMA_FILE}: properties: the questionnaire has no questions")
    return [_question(name, sub, catalog) for name, sub in properties.items()]


def _question(name: str, sub: Mapping, catalog) -> Question:
    where = f"{SCHEMA_FILE}: properties.{name}"
    kind = sub.get("x-kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}.x-kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    for key in ("x-prompt", "x-hint"):
        if sub.get(key) is None:
            raise ConfigError(f"{where}.{key}: every question needs a {key[2:]} text")
    texts = {key: localized(sub.get(key), f"{where}.{key}", required=key in ("x-prompt", "x-hint"))
             for key in ("x-prompt", "x-hint", "x-prompt-voice", "x-hint-voice", "x-why", "x-ack")}
    asked_on = tuple(sub.get("x-channels") or CHANNELS)
    if not asked_on or any(c not in CHANNELS for c in asked_on):
        raise ConfigError(f"{where}.x-channels: expected some of {', '.join(CHANNELS)}")
    shape = sub.get("x-shape", "free")
    if shape not in SHAPES:
        raise ConfigError(f"{where}.x-shape: expected one of {', '.join(SHAPES)}, got {shape!r}")
    choices = _choices(name, sub, kind, catalog) if kind in ("choice", "multi") else ()
    hints = _word_lists(sub.get("x-speech-hints"), f"{where}.x-speech-hints")
    for locale in LOCALES:
        if not hints.get(locale) and choices:
            hints[locale] = tuple(dict.fromkeys(h for c in choices for h in dict(c.spoken)[locale]))
    return Question(
        field=name, prompts=texts["x-prompt"], hints=texts["x-hint"], kind=kind, choices=choices,
        speech_hints_by_locale=tuple(hints.items()), screening=sub.get("x-screening"),
        voice_prompts=texts["x-prompt-voice"], voice_hints=texts["x-hint-voice"], shape=shape,
        whys=texts["x-why"], acks=texts["x-ack"], channels=asked_on,
    )


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
        # Every option needs its label in every language, or a Spanish client would read an English word.
        choice_extra = extras.get(value) or {}
        labels = localized(choice_extra.get("label"), f"{where}.x-choices.{value}.label")
        synonyms = _word_lists(choice_extra.get("synonyms"), f"{where}.x-choices.{value}.synonyms")
        spoken = tuple((locale, (label, *synonyms.get(locale, ()))) for locale, label in labels)
        every = tuple(dict.fromkeys(w for locale, _ in labels for w in (dict(labels)[locale], *synonyms.get(locale, ()))))
        built.append(Choice(number=number, value=value, labels=labels, synonyms=every, spoken=spoken))
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
            text(f"question.option{suffix}", locale, number=c.number,
                 label=c.label_in(locale).lower() if voice else c.label_in(locale))
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
        spoken = question.hint_in(locale, voice=True)
        if spoken:
            return fill(spoken, {**values, "n": n})
        if question.kind in ("consent", "yesno"):
            return text("hint.yesno.voice", locale)
        if question.kind == "choice" and n == 2:
            return text("hint.choice.two.voice", locale)
        if question.kind in ("choice", "multi"):
            return text(f"hint.{question.kind}.voice", locale, n=n)
    return fill(question.hint_in(locale) or "", {**values, "n": n})
