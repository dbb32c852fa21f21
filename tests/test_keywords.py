"""Keywords act whatever the state: opt-out words and phrases, opt-in, help, and the commands."""

from __future__ import annotations

import pytest

from glowline.compliance.keywords import Command, Keyword, command, detect, keyword_language, language_of, looks_spanish


@pytest.mark.parametrize("body", [
    "STOP", "stop", "Stop.", " STOP!! ", "stopall", "STOP ALL", "Unsubscribe", "CANCEL", "end", "Quit", "REVOKE",
    "optout", "opt out", "Opt-Out", "OPT OUT PLEASE", "stop texting me", "Stop texting me!!", "please stop",
    "stop please", "STOP 🛑", "don't text me", "Do not contact me again", "remove me from your list",
    "take me off the list", "stop messaging me", "no more texts", "Unsubscribe me",
    # A stop-sign emoji alone is a reasonable way to say stop (FCC 24-18).
    "🛑",
])
def test_opt_out(body):
    assert detect(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", [
    "cancel my appointment", "I can't stop smiling", "stop by tomorrow?", "the end of the week works",
    "quite good", "yes", "no", "", "start over", "back", "Stephanie",
])
def test_not_opt_out(body):
    assert detect(body) is not Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "UNSTOP!", "opt in", "Opt me back in"])
def test_opt_in(body):
    assert detect(body) is Keyword.OPT_IN


def test_yes_opts_in_only_after_an_opt_out():
    assert detect("YES", opted_out=True) is Keyword.OPT_IN
    assert detect("yes", opted_out=False) is None


@pytest.mark.parametrize("body", ["HELP", "help!", "Info", "INFO?"])
def test_help(body):
    assert detect(body) is Keyword.HELP


@pytest.mark.parametrize("body, expected", [
    ("RESTART", Command.RESTART), ("start over", Command.RESTART), ("Start again!", Command.RESTART),
    ("BACK", Command.BACK), ("go back", Command.BACK), ("back.", Command.BACK),
    ("my back", None), ("restart my plan please", None), ("", None),
])
def test_commands(body, expected):
    assert command(body) is expected


@pytest.mark.parametrize("body", [
    "ALTO", "alto", "Alto.", "PARA", "parar", "DETENER", "baja", "Cancelar", "basta ya", "alto por favor",
    "No me envíes más mensajes", "no me envies mas mensajes", "No me manden más mensajes!", "ya no quiero mensajes",
    "quiero darme de baja", "dejen de enviarme mensajes", "bórrenme de la lista",
])
def test_spanish_opt_out(body):
    assert detect(body) is Keyword.OPT_OUT
    assert keyword_language(body) == "es"


@pytest.mark.parametrize("body", ["para el lunes", "alto riesgo", "no", "sí", "cancelar mi cita del lunes", "bajar"])
def test_spanish_sentences_are_not_opt_outs(body):
    assert detect(body) is not Keyword.OPT_OUT


def test_spanish_help_and_opt_in():
    assert detect("AYUDA") is Keyword.HELP and keyword_language("ayuda") == "es"
    assert detect("sí", opted_out=True) is Keyword.OPT_IN
    assert detect("sí", opted_out=False) is None
    assert keyword_language("STOP") is None and keyword_language("HELP") is None


@pytest.mark.parametrize("body, expected", [
    ("ES", "es"), ("es", "es"), ("Español", "es"), ("espanol", "es"), ("IDIOMA", "es"),
    ("EN", "en"), ("English", "en"), ("LANGUAGE", "en"), ("inglés", "en"), ("es el lunes", None), ("", None),
])
def test_language_words(body, expected):
    assert language_of(body) == expected


@pytest.mark.parametrize("body, expected", [
    ("REINICIAR", Command.RESTART), ("empezar de nuevo", Command.RESTART), ("ATRÁS", Command.BACK),
    ("atras", Command.BACK), ("volver", Command.BACK),
])
def test_spanish_commands(body, expected):
    assert command(body) is expected


@pytest.mark.parametrize("body, expected", [
    ("hola", True), ("Buenas", True), ("información", True), ("Quiero una cita", True), ("hola, buenos días", True),
    ("hi", False), ("Maria", False), ("ok", False), ("hola soy Maria y tengo acne", False),
])
def test_a_clearly_spanish_first_text(body, expected):
    assert looks_spanish(body) is expected
