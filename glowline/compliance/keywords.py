"""Keywords that act whatever the conversation state: opt-out, opt-in, help, and intake commands."""

from __future__ import annotations

import enum
import re

from glowline.compliance.stop_intent import StopIntent, classify
from glowline.normalize import fold, words


class Keyword(str, enum.Enum):
    """Compliance keywords recognised before anything else."""
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    # Only probably a stop ("no more", "not interested"): one confirming question, nothing stored.
    PROBABLY_OPT_OUT = "probably_opt_out"
    # Asks how to stop ("how do I unsubscribe?"): answered, not acted on.
    STOP_QUESTION = "stop_question"
    # "cancel my appointment": for staff; never an opt-out.
    APPOINTMENT_CANCEL = "appointment_cancel"


_FROM_INTENT = {StopIntent.PROBABLY_STOP: Keyword.PROBABLY_OPT_OUT, StopIntent.QUESTION: Keyword.STOP_QUESTION,
                StopIntent.APPOINTMENT_CANCEL: Keyword.APPOINTMENT_CANCEL}


class Command(str, enum.Enum):
    """Conversation commands (RESTART, BACK)."""
    RESTART = "restart"
    BACK = "back"


# Spanish. Twilio's default STOP filtering knows only the English words above (STOP, STOPALL,
# UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT; https://www.twilio.com/docs/messaging/tutorials/
# advanced-opt-out and https://help.twilio.com/articles/223134027); Advanced Opt-Out lets a Messaging
# Service add its own keywords, and CTIA's Messaging Principles and Best Practices (2023, sec. 5.1.2)
# ask senders to honour any reasonable request to stop "in any language" used by the campaign. US
# carriers and the CTIA handbook name no Spanish list, so ours is the words Spanish-speaking clients
# use (ALTO is the word Spanish-language US programmes advertise; PARA, PARAR, DETENER, BAJA,
# CANCELAR, "darme de baja", and the common "no me envíes/manden más mensajes"). Matching is on the
# whole message, accents folded, so "para" inside a sentence ("para el lunes") is an answer, not STOP.
# A number that texts one of these gets the confirmation in Spanish. CANCELAR, like CANCEL, can
# therefore never mean "cancel my appointment".
SPANISH_OPT_OUT_WORDS = frozenset({"alto", "para", "parar", "pare", "detener", "detente", "baja", "cancelar",
                                   "basta", "darme de baja", "dar de baja", "desuscribir", "desuscribirme",
                                   "anular suscripcion"})
_ES_FILLER = r"(?:por favor|porfa|ya|gracias|ok|ahora)"
_ES_OPT_OUT_PHRASES = [
    rf"^(?:{_ES_FILLER} )*(?:{'|'.join(sorted(SPANISH_OPT_OUT_WORDS))})(?: {_ES_FILLER})*$",
    r"^(?:por favor )?(?:ya )?no (?:me )?(?:envie|envies|envien|mande|mandes|manden|escriba|escribas|escriban"
    r"|llame|llames|llamen|contacte|contactes|contacten)(?: (?:mas|ningun|ninguno))?(?: (?:mensajes|textos|sms))?"
    r"(?: (?:mas|por favor))*$",
    r"^(?:por favor )?(?:ya )?no (?:quiero|deseo) (?:recibir )?(?:mas )?(?:mensajes|textos|sms)(?: por favor)?$",
    r"^(?:por favor )?(?:quiero )?(?:darme de baja|que me den de baja|dejar de recibir mensajes)(?: por favor)?$",
    r"^(?:por favor )?(?:deje|dejen|deja) de (?:enviarme|mandarme|escribirme)(?: mensajes)?(?: por favor)?$",
    r"^(?:por favor )?(?:borreme|borrenme|eliminenme|quitenme) de (?:la|su|esta) lista(?: por favor)?$",
]
_ES_OPT_OUT = [re.compile(p) for p in _ES_OPT_OUT_PHRASES]
_ES_OPT_IN = re.compile(r"^(?:por favor )?(?:alta|darme de alta|reanudar|suscribirme|volver a suscribirme)"
                        r"(?: por favor)?$")
_ES_HELP = re.compile(r"^(?:ayuda|ayudame|informacion de ayuda)(?: por favor)?$")
_OPT_IN = re.compile(r"^(?:please )?(?:start|unstop|opt (?:me )?(?:back )?in|resubscribe|subscribe)"
                     r"(?: again)?(?: please)?$")
_HELP = re.compile(r"^(?:help|info)(?: please| me)?$")
_RESTART = re.compile(r"^(?:restart|start over|start again|begin again|reset|redo|start from the beginning"
                      r"|reiniciar|empezar de nuevo|volver a empezar|comenzar de nuevo)$")
_BACK = re.compile(r"^(?:back|go back|previous|undo|back up|previous question"
                   r"|atras|volver|regresar|anterior|pregunta anterior)$")
# EN/ES choose directly; LANGUAGE (read by someone reading English) and IDIOMA (by someone
# reading Spanish) ask for the other one: the word a person types is in the language they want.
_LANGUAGES = {"en": "en", "english": "en", "ingles": "en", "language": "en",
              "es": "es", "espanol": "es", "spanish": "es", "idioma": "es", "en espanol": "es"}


def language_of(body: str | None) -> str | None:
    """The language a whole message asks for: "en" for EN/ENGLISH/LANGUAGE, "es" for ES/ESPAÑOL/IDIOMA."""
    return _LANGUAGES.get(fold(words(body)))


def keyword_language(body: str | None, *, opted_out: bool = False) -> str | None:
    """"es" when the compliance keyword in ``body`` is a Spanish one (ALTO, AYUDA...), else None."""
    said = fold(words(body))
    if not said:
        return None
    if (any(p.match(said) for p in _ES_OPT_OUT) or _ES_HELP.match(said) or _ES_OPT_IN.match(said)
            or (opted_out and said == "si")):
        return "es"
    return None


def detect(body: str | None, *, opted_out: bool = False) -> Keyword | None:
    """The compliance keyword a whole message means, if any (any case and punctuation).

    Opt-out is any reasonable way of saying stop (``stop_intent.classify``). YES opts back in only
    for a client who opted out; otherwise it is an answer.
    """
    said = words(body)
    intent = classify(body)
    if intent is StopIntent.STOP:
        return Keyword.OPT_OUT
    if not said:
        return None
    folded = fold(said)
    if any(p.match(folded) for p in _ES_OPT_OUT):
        return Keyword.OPT_OUT
    if _OPT_IN.match(said) or _ES_OPT_IN.match(folded) or (opted_out and folded in ("yes", "y", "si")):
        return Keyword.OPT_IN
    if _HELP.match(said) or _ES_HELP.match(folded):
        return Keyword.HELP
    return _FROM_INTENT.get(intent) if intent is not None else None


def command(body: str | None) -> Command | None:
    """The conversation command a whole message means: RESTART or BACK."""
    said = fold(words(body))
    if _RESTART.match(said):
        return Command.RESTART
    if _BACK.match(said):
        return Command.BACK
    return None


# A first text that is clearly Spanish starts the intake in Spanish. Whole greetings and requests only:
# a name or "ok" says nothing about the language.
_SPANISH_FIRST = re.compile(
    r"^(?:hola|buenas|buenos dias|buenas tardes|buenas noches|informacion|info por favor|quiero informacion"
    r"|quisiera informacion|quiero una cita|quisiera una cita|necesito una cita|quiero hacer una cita"
    r"|hola buenas|hola buenos dias|hola quiero una cita|hola quiero informacion|me interesa|necesito informacion)"
    r"(?: (?:por favor|gracias))?$")


def looks_spanish(body: str | None) -> bool:
    """True for a first text that is clearly Spanish ("hola", "buenas", "información", "quiero una cita")."""
    return bool(_SPANISH_FIRST.match(fold(words(body))))
