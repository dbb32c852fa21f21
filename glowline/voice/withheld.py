"""A caller whose number is withheld: put through to the clinic's phone, or asked for a call-back number by keypad.

We cannot text or call back a hidden number, and a caller must never be hung up on for hiding
it. A clinic with a phone of its own takes the call there (<Dial>); a clinic without one offers
the intake anyway, once the caller has keyed in a number we can reach them on. The number is
read with phonenumbers for the clinic's country (a caller dials it as they would locally) and
asked again when it is not a valid number.
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from glowline.exceptions import ValidationError
from glowline.messages.catalog import text
from glowline.phone import clinic_region, to_e164
from glowline.store.models import Clinic

# Three tries at a number, then the caller hears how to reach the clinic another way.
MAX_NUMBER_ATTEMPTS = 3
# Long enough to find the keys and type 10-15 digits; "#" ends the number at once.
NUMBER_TIMEOUT_SECONDS = 10


def withheld_twiml(clinic: Clinic, *, action_url: str) -> str:
    """The first answer to a withheld number: the clinic's phone when it has one, else a keypad number."""
    response = VoiceResponse()
    if clinic.contact_phone:
        # Its contact phone, never a Twilio number of its own (that would ring this webhook again).
        response.say(text("call.withheld.forward", clinic=clinic.name))
        response.dial(clinic.contact_phone)
        return str(response)
    return ask_number_twiml(clinic, action_url=action_url, lead=text("call.withheld.ask", clinic=clinic.name))


def ask_number_twiml(clinic: Clinic, *, action_url: str, lead: str) -> str:
    """Ask for a call-back number by keypad, ended by the pound key."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", finish_on_key="#", timeout=NUMBER_TIMEOUT_SECONDS, action=action_url,
                    method="POST", action_on_empty_result=True)
    gather.say(f"{lead} {text('call.withheld.how')}")
    response.append(gather)
    response.say(text("call.withheld.no_phone", clinic=clinic.name))
    response.hangup()
    return str(response)


def read_number(clinic: Clinic, digits: str | None) -> str | None:
    """The keyed-in number in E.164 when it is a valid number for the clinic's country, else None."""
    keyed = "".join(c for c in (digits or "") if c.isdigit())
    if not keyed:
        return None
    try:
        return to_e164(keyed, clinic_region(clinic), field="number")
    except ValidationError:
        return None


def number_retry_twiml(clinic: Clinic, *, attempt: int, action_url: str) -> str:
    """A number that is not valid: ask again, or after the last try say how else to reach the clinic."""
    if attempt >= MAX_NUMBER_ATTEMPTS:
        response = VoiceResponse()
        response.say(text("call.withheld.no_phone", clinic=clinic.name))
        response.hangup()
        return str(response)
    return ask_number_twiml(clinic, action_url=action_url, lead=text("call.withheld.invalid"))
