"""Spanish through the signed SMS webhook: ALTO/AYUDA/START answered in Spanish, EN/ES switch and re-ask."""

from __future__ import annotations

from sqlalchemy import select

from glowline.store.models import Client
from tests.conversations import intake_of, sms

CLIENT = "+12125550177"


def language_of(runtime, phone: str = CLIENT) -> str | None:
    with runtime.sessions() as s:
        return s.scalar(select(Client.language).where(Client.phone == phone))


def test_alto_ayuda_and_start_are_answered_in_spanish(client, runtime, clinic, fake_twilio):
    stopped = sms(client, "ALTO", sender=CLIENT)[1]
    assert "se ha dado de baja" in stopped and "unsubscribed" not in stopped
    assert language_of(runtime) == "es"
    helped = sms(client, "AYUDA", sender=CLIENT)[1]
    assert "Responda ALTO" in helped and "(212) 555-0123" in helped
    assert sms(client, "hola", sender=CLIENT)[1] == ""
    resumed = sms(client, "START", sender=CLIENT)[1]
    assert "ha vuelto a suscribirse" in resumed


def test_a_spanish_phrase_opts_out_mid_intake(client, runtime, clinic, fake_twilio):
    sms(client, "hi", sender=CLIENT)
    stopped = sms(client, "No me envíes más mensajes", sender=CLIENT)[1]
    assert "se ha dado de baja" in stopped


def test_switching_language_mid_intake_asks_the_same_question_again(client, runtime, clinic, fake_twilio):
    sms(client, "hi", sender=CLIENT)
    assert "first name" in sms(client, "yes", sender=CLIENT)[1]
    asked = intake_of(runtime, CLIENT).current_field
    again = sms(client, "ES", sender=CLIENT)[1]
    assert language_of(runtime) == "es"
    # The question itself comes from the schema's Spanish wording, not the English one.
    assert intake_of(runtime, CLIENT).current_field == asked
    assert "nombre de pila" in again and "first name" not in again
    # The client's words around the question are Spanish now; BACK works in Spanish too.
    assert "Responda SÍ o NO" in sms(client, "atrás", sender=CLIENT)[1]
    assert intake_of(runtime, CLIENT).current_field == "consent"
    english = sms(client, "LANGUAGE", sender=CLIENT)[1]
    assert language_of(runtime) == "en" and "Reply YES or NO" in english


def test_a_language_word_without_an_intake_says_what_changed(client, runtime, clinic, fake_twilio):
    sms(client, "ALTO", sender=CLIENT)
    sms(client, "START", sender=CLIENT)
    sms(client, "EN", sender=CLIENT)
    assert language_of(runtime) == "en"


def test_a_spanish_first_text_starts_the_intake_in_spanish(client, runtime, clinic, fake_twilio):
    welcome = sms(client, "Hola, buenas", sender=CLIENT)[1]
    assert "Gracias por escribir a Glow Clinic" in welcome and "For English reply EN" in welcome
    assert "Responda SÍ o NO" in welcome
    assert language_of(runtime) == "es"


def test_an_english_first_text_says_how_to_switch_to_spanish(client, runtime, clinic, fake_twilio):
    welcome = sms(client, "hi", sender=CLIENT)[1]
    assert "Para español responda ES" in welcome and "Reply YES or NO" in welcome
    assert language_of(runtime) is None


def test_a_name_or_ok_does_not_choose_spanish(client, runtime, clinic, fake_twilio):
    sms(client, "Maria", sender=CLIENT)
    assert language_of(runtime) is None
