"""One way to write a phone number: as people dial it in the clinic's country, in every text and staff page."""

from __future__ import annotations

from itertools import count

import pytest

from glowline.compliance import consent, texts
from glowline.messages.catalog import LOCALES, SAMPLES, TEXTS, placeholders, text
from glowline.messages.settings import MessageSettings
from glowline.messages.templates import TEMPLATE_KEYS, render
from glowline.exceptions import ValidationError
from glowline.phone import clinic_phone, clinic_region, for_people, to_e164
from glowline.voice.twiml import spoken_phone
from tests.helpers import CLINIC_NUMBER, make_clinic, make_client, start_plan, twilio_post

_sids = count(1)
PHONE_KEYS = [(locale, key) for locale in LOCALES for key, template in TEXTS[locale].items()
              if "phone" in placeholders(template) and not key.endswith(".voice") and not key.startswith("call.")]


@pytest.mark.parametrize("number, region, shown", [
    ("+12125550123", "US", "(212) 555-0123"),
    ("+12125550123", "CA", "+1 212-555-0123"),  # another country, even on the same country code
    ("+442079460958", "GB", "020 7946 0958"),
    ("+442079460958", "US", "+44 20 7946 0958"),
    ("+12125550123", "GB", "+1 212-555-0123"),
    ("+34912345678", "ES", "912 34 56 78"),
])
def test_a_number_is_written_as_dialled_from_the_clinics_country(number, region, shown):
    assert for_people(number, region) == shown


@pytest.mark.parametrize("number, region, spoken", [
    ("+12125550123", "US", "2 1 2, 5 5 5, 0 1 2 3"),
    ("+442079460958", "GB", "0 2 0, 7 9 4 6, 0 9 5 8"),
    ("+442079460958", "US", "plus 4 4, 2 0, 7 9 4 6, 0 9 5 8"),
])
def test_a_number_is_spoken_digit_by_digit_in_its_groups(number, region, spoken):
    assert spoken_phone(number, region) == spoken


def test_a_clinics_country_is_that_of_its_own_number(db):
    london = make_clinic(db, name="Glow London", number="+442079460100", contact="+442079460958",
                         tz="Europe/London")
    assert clinic_region(london) == "GB" and clinic_phone(london) == "020 7946 0958"


@pytest.mark.parametrize("locale, key", PHONE_KEYS, ids=lambda v: str(v))
def test_every_catalogue_text_with_a_phone_shows_it_as_dialled(db, clinic, locale, key):
    values = {**SAMPLES, "phone": clinic_phone(clinic)}
    shown = text(key, locale, **values)
    assert "(212) 555-0123" in shown and "+1" not in shown and "2125550123" not in shown


@pytest.mark.parametrize("key", TEMPLATE_KEYS)
def test_every_template_renders_the_clinic_phone_as_dialled(key):
    settings = MessageSettings("Glow Clinic", "+12125550123", "America/New_York")
    values = {k: v for k, v in SAMPLES.items() if k not in ("clinic", "phone")}
    for locale in LOCALES:
        body = render(key, settings, locale, **values)
        if "{phone}" in TEXTS[locale][f"template.{key}"]:
            assert "(212) 555-0123" in body and "+12125550123" not in body


def test_a_foreign_clinic_writes_its_number_its_own_way_in_templates():
    settings = MessageSettings("Glow London", "+442079460958", "Europe/London", region="GB")
    assert "Call 020 7946 0958." in render("reminder", settings, date="Thu Dec 3", time="10:00 AM")


def test_every_reply_a_client_gets_writes_the_number_the_same_way(db, clinic):
    replies = [consent.opt_out_reply(clinic), consent.help_reply(clinic), texts.consent_declined_reply(clinic),
               texts.appointment_cancel_reply(clinic)]
    for reply in replies:
        assert "(212) 555-0123" in reply and "+1212" not in reply, reply


def _sms(http, body):
    params = {"MessageSid": f"SM{next(_sids) + 7000:032d}", "From": "+12125550111", "To": CLINIC_NUMBER,
              "Body": body, "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
    return twilio_post(http, "/twilio/sms", params).get_data(as_text=True)


def test_the_reschedule_reply_writes_the_number_as_the_help_reply_does(client, db, runtime, clinic, clock):
    # Without opening hours an R is answered with the call-back number: it once said "+12125550123".
    start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)
    reply = _sms(client, "R")
    assert "(212) 555-0123" in reply and "+12125550123" not in reply
    assert "(212) 555-0123" in _sms(client, "HELP")


@pytest.mark.parametrize("typed", ["212 555 01", "+1 999 555 0123", "12345678901234567", "+44 20 7946", "call me"])
def test_a_number_that_is_not_one_is_refused_without_repeating_it(typed):
    with pytest.raises(ValidationError) as info:
        to_e164(typed, "US", field="contact")
    # Error messages reach logs and API responses: they name the field, never the number.
    assert info.value.field == "contact" and "phone number" in str(info.value)
    assert not any(ch.isdigit() for ch in str(info.value))


@pytest.mark.parametrize("key", sorted(TEXTS["en"]))
def test_texts_and_calls_say_call_us_at_the_same_way(key):
    # One wording for the same invitation, whether read in a text or heard on a call.
    assert "call us on" not in TEXTS["en"][key].lower()
