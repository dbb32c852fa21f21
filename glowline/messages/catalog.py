"""The message catalogue: every client-facing sentence by key and locale, and the lookup code uses.

English and Spanish (US); a language is one module of ``TEXTS`` and ``PATTERNS`` with the same
keys as ``en`` (tests/test_catalog.py checks that every key exists in every locale).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from glowline.messages import en, es

DEFAULT_LOCALE = "en"
LOCALES: tuple[str, ...] = ("en", "es")
TEXTS: dict[str, Mapping[str, str]] = {"en": en.TEXTS, "es": es.TEXTS}
PATTERNS: dict[str, Mapping[str, str]] = {"en": en.PATTERNS, "es": es.PATTERNS}

# A value for every placeholder any text uses, so a test can render each key in each locale.
SAMPLES: dict[str, object] = {
    "clinic": "Glow Clinic of the Upper West Side", "phone": "(212) 555-0123", "date": "Thu Dec 3",
    "time": "10:00 AM", "until": "Sat Dec 5, 11:00 AM", "when": "Thursday, December 3 at 10 AM",
    "restrictions": "intense exercise, saunas, swimming pools, direct sun, retinoids and exfoliating acids",
    "duration": "2 days", "hours": 48, "session_number": 2, "total_sessions": 6, "usage": "PLAN <intake> <date>",
    "link": "https://glowline.example.com/a/1a2b3c4d/en",
    "message": "Hi from Glow Clinic! Is it OK to text you?", "hint": "Please reply YES or NO.",
    "heard": "Acne scarring", "name": ", Maria", "first_name": "Maria", "prompt": "What brings you in?",
    "options": "1 Acne scarring\n2 Fine lines\n3 Pigmentation", "n": 3, "number": 1, "label": "Acne scarring",
    "what": "appointment on Thursday, December 3 at 10 AM", "intro": "Hello, this is Glow Clinic.",
    "menu": "Press 1 to confirm. Press 2 to ask us to call you back.",
    "choices": ("Reply 1 for Tue Jan 19 10:00 AM, 2 for Wed Jan 20 2:00 PM, 3 for Thu Jan 21 11:30 AM, "
                "or 0 and we'll call you."),
    "why": "We ask so we can greet you by name.", "question": "What is your first name?",
    "zone": "Hawaii-Aleutian", "zone_long": "Hawaii-Aleutian Time",
}


def locale_of(locale: str | None) -> str:
    """The catalogue locale for a wanted one: itself, its language ("es_US" -> "es"), else English."""
    if locale in TEXTS:
        return locale
    language = (locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in TEXTS else DEFAULT_LOCALE


def template_of(key: str, locale: str | None = DEFAULT_LOCALE) -> str:
    """The raw template for ``key`` in ``locale``; an unknown key is a programming error (KeyError)."""
    return TEXTS[locale_of(locale)][key]


def text(key: str, locale: str | None = DEFAULT_LOCALE, **values: object) -> str:
    """The sentence ``key`` in ``locale`` with its placeholders filled."""
    return template_of(key, locale).format_map(values)


def pattern(name: str, locale: str | None = DEFAULT_LOCALE) -> str:
    """A date or time pattern (Babel/CLDR syntax) for ``locale``."""
    return PATTERNS[locale_of(locale)][name]


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses (raises ValueError when it is malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
