"""A Spanish-speaking client from "hola" to a finished intake, by text and by phone, without one English sentence."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from glowline.catalog.schemas import load_schema_file
from glowline.config import ROOT
from glowline.exceptions import ConfigError
from glowline.intake.answers import interpret
from glowline.intake.engine import IntakeEngine, build_engine
from glowline.normalize import parse_number, parse_yes_no
from glowline.store.models import Client, IntakeStatus
from tests.helpers import gather_of
from tests.conversations import Call, call_intake_of, intake_of, sms

CLIENT = "+12125550188"  # a New York number at the New York clinic: no zone question
# Words that only an English sentence of ours would hold (the clinic's name and "SMS" aside).
ENGLISH = re.compile(r"\b(?:Reply|Please|Thanks|Thank you|What|Which|Are you|Do you|Have you|Sorry|your)\b")


def spanish(reply: str) -> str:
    assert reply and not ENGLISH.search(reply), reply
    return reply


def test_a_full_intake_in_spanish_through_the_signed_webhook(client, runtime, clinic, fake_twilio):
    welcome = spanish(sms(client, "Hola, quiero una cita", sender=CLIENT)[1])
    assert "Gracias por escribir a Glow Clinic" in welcome and "Responda SÍ o NO" in welcome
    again = spanish(sms(client, "quizás", sender=CLIENT)[1])  # a re-ask, in Spanish, with the hint
    assert again.startswith("Disculpe") and "responda sí o no" in again
    assert "nombre de pila" in spanish(sms(client, "sí", sender=CLIENT)[1])
    asked = spanish(sms(client, "María", sender=CLIENT)[1])
    assert "¡Mucho gusto, María!" in asked and "1 Cicatrices de acné" in asked and "Manchas oscuras" in asked
    assert "¿Qué zona" in spanish(sms(client, "dos", sender=CLIENT)[1])
    assert intake_of(runtime, CLIENT).answers["concern"] == "dark spots"
    # ATRÁS goes back to the concern, asked in Spanish again; "uno" then picks the first option.
    assert "¿Qué le gustaría tratar" in spanish(sms(client, "ATRÁS", sender=CLIENT)[1])
    spanish(sms(client, "uno", sender=CLIENT)[1])
    helped = spanish(sms(client, "AYUDA", sender=CLIENT)[1])
    assert "Responda ALTO" in helped
    assert "¿Quiere enviar una foto" in spanish(sms(client, "cara y cuello", sender=CLIENT)[1])
    assert "¿Está embarazada" in spanish(sms(client, "omitir", sender=CLIENT)[1])
    for answer in ("no", "No, nunca", "no", "sí", "no"):
        spanish(sms(client, answer, sender=CLIENT)[1])
    assert "¿qué días u horas" in spanish(sms(client, "2", sender=CLIENT)[1])
    done = spanish(sms(client, "sábados por la mañana", sender=CLIENT)[1])
    assert done.startswith("¡Gracias, María!")
    intake = intake_of(runtime, CLIENT)
    assert intake.status is IntakeStatus.COMPLETE
    assert intake.answers["concern"] == "acne scars" and intake.answers["area"] == ["face", "neck"]
    assert intake.answers["keloid"] is True and intake.answers["reminder_channel"] == "voice"
    assert intake.answers["consent"]["wording"].startswith("¿Acepta que Glow Clinic")
    stopped = spanish(sms(client, "ALTO", sender=CLIENT)[1])
    assert "se ha dado de baja" in stopped
    assert "ha vuelto a suscribirse" in spanish(sms(client, "START", sender=CLIENT)[1])


def test_switching_language_mid_intake_re_asks_the_open_question_with_its_options(client, runtime, clinic, fake_twilio):
    sms(client, "hi", sender=CLIENT)
    sms(client, "yes", sender=CLIENT)
    english = sms(client, "Maria", sender=CLIENT)[1]
    assert "1 Acne scars" in english
    switched = spanish(sms(client, "IDIOMA", sender=CLIENT)[1])
    assert "¿Qué le gustaría tratar" in switched and "1 Cicatrices de acné" in switched
    assert intake_of(runtime, CLIENT).current_field == "concern"
    back = sms(client, "EN", sender=CLIENT)[1]
    assert "What would you most like to treat?" in back and "1 Acne scars" in back


def test_a_spanish_caller_hears_es_us_and_is_heard_in_spanish(client, db, clinic, runtime):
    db.add(Client(clinic_id=clinic.id, phone="+12125550111", language="es"))
    db.commit()
    call = Call(client, "CA" + "e" * 32)
    call.start()
    says = call.root.iter("Say")
    assert all(s.get("language") == "es-US" and s.get("voice") == "Polly.Lupe" for s in says)
    gather = gather_of(call.root)
    assert gather.get("language") == "es-US" and gather.get("hints") == "sí, no"
    assert "Gracias por llamar a Glow Clinic" in call.text
    call.say("sí")
    assert "nombre de pila" in call.text
    call.say("María")
    assert "1 para cicatrices de acné" in call.text.lower()
    assert "cicatrices de acné" in gather_of(call.root).get("hints").lower()
    call.say("la dos")
    assert call_intake_of(db).answers["concern"] == "dark spots"
    assert "¿Qué zona" in call.text
    call.say("la cara")
    for _ in range(5):  # the health questions, by keypad: 2 is no
        assert gather_of(call.root).get("hints") == "sí, no"
        call.press("2")
    call.press("1")  # reminders by text message
    call.say("sábados por la mañana")
    assert call.ended and all(s.get("language") == "es-US" for s in call.root.iter("Say"))
    assert "Adiós" in call.text and not ENGLISH.search(call.text)
    intake = call_intake_of(db)
    assert intake.status is IntakeStatus.COMPLETE and intake.answers["area"] == ["face"]
    assert intake.answers["consent"]["channel"] == "voice" and "¿Acepta" in intake.answers["consent"]["wording"]


def test_an_english_caller_can_say_espanol(client, db, clinic):
    call = Call(client, "CA" + "f" * 32)
    call.start()
    assert "Para español, diga español" in call.text
    call.say("español")
    assert "¿Acepta que Glow Clinic" in call.text and gather_of(call.root).get("language") == "es-US"
    assert db.scalar(select(Client.language).where(Client.phone == "+12125550111")) == "es"
    call.say("English")  # and back: the same question again, in English, with Twilio's default voice
    assert "May Glow Clinic send you" in call.text and gather_of(call.root).get("language") is None


@pytest.mark.parametrize(("reply", "yes"), [("sí", True), ("Si", True), ("SÍ, acepto", True), ("claro", True),
                                           ("no", False), ("No, gracias", False), ("nunca", False)])
def test_spanish_yes_and_no(reply, yes):
    assert parse_yes_no(reply) is yes


@pytest.mark.parametrize(("reply", "number"), [("uno", 1), ("dos", 2), ("la tres", 3), ("número cuatro", 4),
                                              ("opción cinco", 5), ("el primero", 1)])
def test_spanish_number_words(reply, number):
    assert parse_number(reply) == number


def test_a_spanish_label_or_synonym_picks_the_option(runtime):
    concern = build_engine(runtime).question("concern")
    assert interpret(concern, "manchas oscuras").value == "dark spots"
    assert interpret(concern, "Estrías").value == "stretch marks"
    assert interpret(concern, "arrugas").value == "fine lines and wrinkles"


def _broken_schema(tmp_path, change):
    schema = json.loads((ROOT / "schemas" / "intake.schema.json").read_text())
    change(schema["properties"])
    path = tmp_path / "intake.schema.json"
    path.write_text(json.dumps(schema))
    return load_schema_file(path)


@pytest.mark.parametrize(("change", "where"), [
    (lambda p: p["keloid"]["x-prompt"].pop("es"), r"intake\.schema\.json: properties\.keloid\.x-prompt\.es"),
    (lambda p: p["first_name"].__setitem__("x-hint", "Just your first name."),
     r"intake\.schema\.json: properties\.first_name\.x-hint: give the text in every language"),
    (lambda p: p["area"]["x-choices"]["neck"]["label"].__setitem__("es", " "),
     r"properties\.area\.x-choices\.neck\.label\.es"),
    (lambda p: p["first_name"]["x-why"].pop("es"), r"properties\.first_name\.x-why\.es"),
])
def test_a_schema_missing_a_language_stops_start_up_naming_file_and_field(runtime, tmp_path, change, where):
    with pytest.raises(ConfigError, match=where):
        IntakeEngine(_broken_schema(tmp_path, change), runtime.catalog)
