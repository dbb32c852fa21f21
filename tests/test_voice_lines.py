"""Every spoken line reads well aloud: no written-only forms a voice would stumble on or spell out.

Checked by ear with espeak-ng (``espeak-ng -v en-us -x``) when these were written; this test keeps
the forms that read badly from coming back: "e.g.", brackets, "10:00" clock times, "a. m.",
doubled stops, and numbers not read digit by digit.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from glowline.intake.questions import render_hint, render_question
from glowline.messages.catalog import LOCALES, SAMPLES, TEXTS, text
from glowline.messages.dates import spoken_moment
from glowline.store.models import Channel
from glowline.voice.twiml import spoken_phone

ON_THE_HOUR = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc).astimezone(ZoneInfo("America/New_York"))
HALF_PAST = datetime(2026, 12, 3, 19, 30, tzinfo=timezone.utc).astimezone(ZoneInfo("America/New_York"))
WRITTEN_ONLY = [
    (re.compile(r"\be\.g\.|\bi\.e\.|\betc\."), "an abbreviation a voice spells out"),
    (re.compile(r"[()\[\]]"), "brackets, which a voice reads without a pause"),
    (re.compile(r"\b\d{1,2}:00\b"), "a whole hour written 10:00 (say 10 AM)"),
    (re.compile(r"\b[ap]\. m\."), "a. m. / p. m., read out letter by letter"),
    (re.compile(r"\.\.|\s\.|,,"), "a doubled or stray stop"),
    (re.compile(r"\+?\d{5,}"), "a long run of digits, read as one big number"),
]


def _spoken_lines() -> list[tuple[str, str, str]]:
    lines = []
    for locale in LOCALES:
        when = spoken_moment(ON_THE_HOUR, locale)
        what = text("call.appointment_on", locale, when=when)
        values = {**SAMPLES, "clinic": "Glow Clinic", "phone": spoken_phone("+12125550123"), "when": when,
                  "what": what, "menu": text("call.menu.session", locale), "options": "1 for face; 2 for neck",
                  "intro": text("call.intro.reminder", locale, clinic="Glow Clinic", what=what),
                  "choices": text("call.rebook.choice", locale, n=1, when=spoken_moment(HALF_PAST, locale))}
        for key in TEXTS[locale]:
            # call.opt_out_record is the consent record's wording, never said.
            if (key.endswith(".voice") or key.startswith(("call.", "voice.", "hint."))) and key != "call.opt_out_record":
                lines.append((locale, key, text(key, locale, **values)))
    return lines


SPOKEN = _spoken_lines()


@pytest.mark.parametrize("locale, key, line", SPOKEN, ids=[f"{loc}:{key}" for loc, key, _ in SPOKEN])
def test_every_catalogue_line_a_caller_hears_reads_well_aloud(locale, key, line):
    for pattern, why in WRITTEN_ONLY:
        assert not pattern.search(line), f"{why}: {line!r}"


def test_every_voice_question_and_hint_reads_well_aloud(runtime):
    for question in runtime.intake_engine.questions():
        for line in (render_question(question, Channel.VOICE, {"clinic": "Glow Clinic"}),
                     render_hint(question, Channel.VOICE, {"clinic": "Glow Clinic"})):
            for pattern, why in WRITTEN_ONLY:
                assert not pattern.search(line), f"{question.field}: {why}: {line!r}"


@pytest.mark.parametrize("locale, hour, half", [("en", "10 AM", "2:30 PM"),
                                               ("es", "10 de la mañana", "2:30 de la tarde")])
def test_times_are_said_as_people_say_them(locale, hour, half):
    assert spoken_moment(ON_THE_HOUR, locale).endswith(hour)
    assert spoken_moment(HALF_PAST, locale).endswith(half)
