"""The protocol catalog: the sheet's numbers, and broken files that stop start-up clearly."""

from __future__ import annotations

import json

import pytest

from glowline.config import ROOT
from glowline.exceptions import ConfigError, NotFound
from glowline.catalog.protocols import load_catalog
from glowline.catalog.schemas import SchemaRegistry

SCHEMA = ROOT / "schemas" / "protocols.schema.json"
# The nine kinds of restriction in the sheet's After Care paragraph.
NINE_KINDS = {"uv", "exercise", "clinical-treatments", "tattooing", "active-skincare", "hot-water", "heat",
              "self-tanning", "swimming"}
SHEET_CONDITIONS = ["acne scars", "dark spots", "large pores", "reduced elasticity", "scars", "stretch marks",
                    "sun damage", "fine lines and wrinkles", "pigmentation"]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "protocols.json", SCHEMA)


@pytest.mark.parametrize("protocol_id, sessions, interval", [
    ("skin-rejuvenation", (3, 6), (6, 8)),
    ("acne-scarring", (4, 6), (6, 8)),
    ("stretch-marks", (4, 8), (6, 8)),
    ("pigmentation", (4, 6), (2, 4)),
    ("superficial", (4, 6), (4, 4)),
])
def test_protocol_numbers_match_the_sheet(catalog, protocol_id, sessions, interval):
    protocol = catalog.get(protocol_id)
    assert (protocol.sessions.min, protocol.sessions.max) == sessions
    assert (protocol.interval_weeks.min, protocol.interval_weeks.max) == interval
    assert protocol.sessions.min <= protocol.sessions.default <= protocol.sessions.max
    assert protocol.interval_weeks.min <= protocol.interval_weeks.default <= protocol.interval_weeks.max
    assert protocol.aftercare_hours >= 48
    assert {r.id for r in protocol.restrictions} == NINE_KINDS
    assert protocol.source


def test_defaults_follow_typical_four_to_six_treatments(catalog):
    assert all(p.sessions.default == 4 for p in catalog)


def test_every_sheet_condition_is_offered_once_in_sheet_order(catalog):
    assert catalog.conditions() == SHEET_CONDITIONS


@pytest.mark.parametrize("condition, protocol_id", [
    ("acne scars", "acne-scarring"), ("scars", "acne-scarring"), ("dark spots", "pigmentation"),
    ("pigmentation", "pigmentation"), ("large pores", "skin-rejuvenation"), ("Sun  Damage", "skin-rejuvenation"),
    ("stretch marks", "stretch-marks"), ("fine lines and wrinkles", "skin-rejuvenation"),
    ("reduced elasticity", "skin-rejuvenation"),
])
def test_for_condition(catalog, condition, protocol_id):
    assert catalog.for_condition(condition).id == protocol_id


def test_the_silent_choices_are_recorded_in_the_file(catalog):
    assert "large pores" in catalog.get("skin-rejuvenation").note.lower()
    assert "no count" in catalog.get("superficial").note


def test_unknown_protocol_lists_the_valid_ids(catalog):
    with pytest.raises(NotFound, match="skin-rejuvenation, acne-scarring"):
        catalog.get("laser")
    with pytest.raises(NotFound, match="acne scars"):
        catalog.for_condition("tattoo removal")


def _document():
    return json.loads((ROOT / "protocols.json").read_text())


def _break_min(d):
    d["protocols"][2]["sessions"]["min"] = -1


def _break_default(d):
    d["protocols"][0]["interval_weeks"]["default"] = 9


def _break_order(d):
    d["protocols"][1]["sessions"]["min"] = 7


def _duplicate_id(d):
    d["protocols"][1]["id"] = d["protocols"][0]["id"]


def _missing_name(d):
    del d["protocols"][3]["name"]


def _twice_served(d):
    d["protocols"][4]["conditions"] = ["scars"]


def _bad_date(d):
    d["updated"] = "2026-02-30"


def _restriction_without_spanish(d):
    del d["protocols"][0]["aftercare"]["restrictions"][0]["text"]["es"]


def _duplicate_restriction(d):
    d["protocols"][0]["aftercare"]["restrictions"][1]["id"] = "uv"


@pytest.mark.parametrize("breaker, expected", [
    (_break_min, "protocols.json: protocols[2].sessions.min: -1 is less than the minimum of 1"),
    (_break_default, "protocols.json: protocols[0].interval_weeks.default: 9 is outside 6..8"),
    (_break_order, "protocols.json: protocols[1].sessions.min: 7 is greater than max 6"),
    (_duplicate_id, "protocols.json: protocols[1].id: duplicate protocol id 'skin-rejuvenation'"),
    (_missing_name, "protocols.json: protocols[3].name: 'name' is a required property"),
    (_twice_served, "protocols.json: protocols[4].conditions: 'scars' is already served by 'acne-scarring'"),
    (_bad_date, "protocols.json: updated: '2026-02-30' is not a 'date'"),
    (_duplicate_restriction, "protocols.json: protocols[0].aftercare.restrictions[1].id: duplicate 'uv'"),
    (_restriction_without_spanish, "protocols.json: protocols[0].aftercare.restrictions[0].text.es: "
                                   "'es' is a required property"),
])
def test_a_broken_file_names_the_file_and_field(tmp_path, breaker, expected):
    document = _document()
    breaker(document)
    path = tmp_path / "protocols.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError) as info:
        load_catalog(path, SCHEMA)
    assert str(info.value) == expected


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "protocols.json"
    path.write_text('{"version": "1",\n "protocols": [,]}')
    with pytest.raises(ConfigError, match=r"^protocols.json: not valid JSON \(line 2"):
        load_catalog(path, SCHEMA)


def test_long_schema_errors_stay_on_one_line(tmp_path):
    document = _document()
    document["protocols"][0]["aftercare"] = ["not", "an", "object"] * 40
    path = tmp_path / "protocols.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError) as info:
        load_catalog(path, SCHEMA)
    message = str(info.value)
    assert message.startswith("protocols.json: protocols[0].aftercare: ")
    assert "\n" not in message and len(message) < 240


@pytest.mark.parametrize("value", ["2026-12-03 10:00", "2026-12-03T10:00:00", "next tuesday", "2026-13-03T10:00:00Z"])
def test_api_bodies_refuse_a_first_session_that_is_not_an_iso_datetime_with_offset(value):
    # jsonschema checks "date-time" only when rfc3339-validator is installed: a direct dependency.
    schema = SchemaRegistry.load(ROOT / "schemas")["api_plan_create"]
    problems = schema.errors({"intake_id": 1, "protocol": "skin-rejuvenation", "first_session_at": value})
    assert problems == [("first_session_at", f"{value!r} is not a 'date-time'")]
    assert schema.errors({"intake_id": 1, "protocol": "skin-rejuvenation",
                          "first_session_at": "2026-12-03T10:00:00-05:00"}) == []
