"""What Twilio's error codes mean, in words staff can act on."""

from __future__ import annotations

# The codes a clinic's messages and calls actually meet; the rest link to Twilio's docs.
MEANINGS: dict[int, str] = {
    20003: "Twilio rejected the account credentials",
    20429: "too many requests to Twilio at once",
    21211: "the phone number is not valid",
    21408: "sending to this country is not enabled on the Twilio account",
    21606: "the clinic's number cannot send texts",
    21610: "the recipient has opted out (replied STOP)",
    21612: "this route cannot carry the message",
    21614: "the number is not a mobile phone (a landline cannot get texts)",
    21617: "the message is longer than 1600 characters",
    30003: "the phone is off or out of reach",
    30004: "the recipient blocked the message",
    30005: "the number does not exist",
    30006: "a landline or a carrier that cannot take texts",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier reported an unknown error",
    30034: "the clinic's number is not registered for US texting (A2P 10DLC)",
}


# What staff should do about the codes that need a person (Twilio's own limits, named).
ADVICE: dict[int, str] = {
    30003: "Try again later or call the client; if it keeps happening, check the number with them.",
    30005: "Check the number with the client and correct it; retrying will not help.",
    30006: "Call the client instead (turn on voice fallback to do it automatically) and ask for a mobile number.",
    30007: ("Check the clinic's texts for link shorteners, all-caps or promotional wording, and that they match the "
            "sample messages of the clinic's A2P 10DLC campaign; the same text will be filtered again."),
    30034: ("Register for A2P 10DLC in the Twilio console (brand, then campaign), add the sending number to the "
            "clinic's Messaging Service, and set it with `glowline clinic set --messaging-service MG...`; "
            "then retry the failed texts (see the README, Messaging Services)."),
}


def advice(code: int | None) -> str | None:
    """What staff should do about an error code, when there is something to do."""
    return ADVICE.get(code) if code is not None else None


def explain(code: int | None) -> str:
    """The meaning of a code and, when there is one, what to do about it: what staff read on the queue page."""
    todo = advice(code)
    return f"{describe(code)}. {todo}" if todo else describe(code)


def describe(code: int | None) -> str:
    """A sentence for a Twilio error code, always naming the code so staff can look it up."""
    if code is None:
        return "no error code"
    meaning = MEANINGS.get(code)
    return f"{meaning} (Twilio error {code})" if meaning else f"Twilio error {code}"
