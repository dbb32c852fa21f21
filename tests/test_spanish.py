"""Spanish end to end, piece by piece: the catalogue, reminders and aftercare, per-locale clinic templates."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from glowline.catalog.protocols import load_catalog
from glowline.config import ROOT
from glowline.exceptions import ValidationError
from glowline.messages.catalog import SAMPLES, TEXTS, text
from glowline.messages.links import PublicLinks
from glowline.messages.settings import MessageSettings
from glowline.messages.templates import TEMPLATE_KEYS, render, segments, validate_templates
from glowline.plans.timeline import build_timeline

CATALOG = load_catalog(ROOT / "protocols.json", ROOT / "schemas" / "protocols.schema.json")
NY = "America/New_York"
# Words that only an English sentence would contain (none is Spanish).
ENGLISH = re.compile(r"\b(?:the|your|please|reply|call|thank|appointment|avoid|until|questions)\b", re.I)


def clinic(**changes) -> MessageSettings:
    return MessageSettings("Glow Clinic", "+12125550123", NY, **changes)


@pytest.mark.parametrize("key", sorted(TEXTS["es"]))
def test_no_spanish_text_is_left_in_english(key):
    # The SAMPLES are English (a clinic name, a prompt): look at the catalogue's own words only.
    # "For English reply EN" is the one English sentence on purpose: how to switch back.
    body = text(key, "es", **{name: "·" for name in SAMPLES}).replace("For English reply EN.", "")
    assert not ENGLISH.search(body), body


def test_a_spanish_plan_reads_in_spanish_with_spanish_dates_and_restrictions():
    timeline = build_timeline(CATALOG.get("skin-rejuvenation"), datetime(2026, 12, 3, 10, tzinfo=ZoneInfo(NY)),
                              clinic(), locale="es")
    bodies = {m.key: m.body for m in timeline.messages if m.session_number == 1}
    bodies["booking-nudge"] = next(m.body for m in timeline.messages if m.key == "booking-nudge")
    assert "jue 3 dic, 10:00 a. m." in bodies["reminder-48h"]
    assert "Responda C para confirmar" in bodies["reminder-48h"]
    assert "Durante 2 días (hasta el sáb 5 dic, 11:00 a. m.) evite lo que se indica" in bodies["aftercare"]
    assert PublicLinks().aftercare("skin-rejuvenation", "es") in bodies["aftercare"]
    assert "jue 14 ene" in bodies["booking-nudge"]
    for body in bodies.values():
        assert not ENGLISH.search(body.replace("Glow Clinic", "")), body


def test_a_clinic_template_in_english_only_leaves_spanish_clients_the_default_spanish():
    settings = clinic(templates={"reminder": "{clinic}: see you {date} {time}."})
    assert render("reminder", settings, "en", date="Thu Dec 3", time="10:00 AM") == "Glow Clinic: see you Thu Dec 3 10:00 AM."
    spanish = render("reminder", settings, "es", date="jue 3 dic", time="10:00 a. m.")
    assert spanish.startswith("Glow Clinic: le esperamos el jue 3 dic, 10:00 a. m.")


def test_a_clinic_template_may_be_given_per_locale():
    templates = {"reminder": {"en": "{clinic}: see you {date}.", "es": "{clinic}: nos vemos el {date}."}}
    validate_templates(templates)
    settings = clinic(templates=templates)
    assert render("reminder", settings, "es", date="jue 3 dic") == "Glow Clinic: nos vemos el jue 3 dic."
    assert render("reminder", settings, "en", date="Thu Dec 3") == "Glow Clinic: see you Thu Dec 3."
    only_en = clinic(templates={"reminder": {"en": "{clinic}: see you {date}."}})
    assert render("reminder", only_en, "es", date="jue", time="10").startswith("Glow Clinic: le esperamos")


@pytest.mark.parametrize("bad, message", [
    ({"reminder": {"fr": "{clinic}"}}, "unknown locale 'fr'"),
    ({"reminder": {"es": "{clinic} {secret}"}}, "unknown placeholder {secret}"),
    ({"reminder": {"es": " "}}, "must be non-empty text"),
    ({"reminder": {}}, "at least one locale"),
])
def test_per_locale_templates_are_checked(bad, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate_templates(bad)


def test_segment_counts_of_the_default_templates_stay_small():
    # Written for SMS: the clinic's reminders fit three segments in either language with a long name.
    for locale in ("en", "es"):
        for key in TEMPLATE_KEYS:
            count, _ = segments(text(f"template.{key}", locale, **SAMPLES))
            assert count <= 4, (locale, key, count)
