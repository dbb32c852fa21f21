"""Forgiving parsing of client replies: case, spacing, punctuation, number words, yes/no, emoji."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MAX_REPLY = 1600  # Twilio's longest body; anything longer is not a reply we try to read.

_YES = frozenset({
    "yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "yes please", "sure", "ok", "okay", "k", "correct",
    "right", "that s right", "thats right", "i do", "i agree", "agree", "agreed", "absolutely", "of course",
    "yes i do", "yes i am", "i am", "definitely", "affirmative", "si", "oui", "true",
    # Spanish, compared without accents ("sí" -> "si"): see fold().
    "si por favor", "si acepto", "acepto", "claro", "claro que si", "por supuesto", "de acuerdo", "vale",
    "correcto", "asi es", "si estoy", "si tengo", "si tomo", "si he tomado", "si suelo", "afirmativo", "dale",
    "esta bien", "ok si", "si claro", "cierto",
})
_NO = frozenset({
    "no", "n", "nope", "nah", "no thanks", "no thank you", "not", "never", "none", "i don t", "i dont",
    "i do not", "no i don t", "no i dont", "i m not", "im not", "i am not", "not really", "negative",
    "wrong", "false", "no i am not", "no i m not", "no i have not", "no i haven t", "i haven t", "i have not",
    "no gracias", "nunca", "negativo", "para nada", "no estoy", "no tengo", "no tomo", "no he tomado", "no suelo",
    "ninguno", "ninguna", "no acepto", "no no", "falso", "incorrecto",
})
_YES_EMOJI = frozenset({"👍", "✅", "✔", "👌", "🙆", "☑"})
_NO_EMOJI = frozenset({"👎", "❌", "✖", "🚫", "🙅", "❎"})

_NUMBER_WORDS = {
    "one": 1, "first": 1, "won": 1, "two": 2, "second": 2, "to": 2, "too": 2, "three": 3, "third": 3,
    "four": 4, "fourth": 4, "for": 4, "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7,
    "seventh": 7, "eight": 8, "eighth": 8, "ate": 8, "nine": 9, "ninth": 9, "ten": 10, "tenth": 10,
    "eleven": 11, "twelve": 12,
    # Spanish, typed or spoken (accents folded): "uno", "la dos", "número tres", "opción cuatro".
    "uno": 1, "una": 1, "un": 1, "primero": 1, "primera": 1, "dos": 2, "segundo": 2, "segunda": 2, "tres": 3,
    "tercero": 3, "tercera": 3, "cuatro": 4, "cuarto": 4, "cuarta": 4, "cinco": 5, "quinto": 5, "quinta": 5,
    "seis": 6, "sexto": 6, "sexta": 6, "siete": 7, "septimo": 7, "septima": 7, "ocho": 8, "octavo": 8,
    "octava": 8, "nueve": 9, "noveno": 9, "novena": 9, "diez": 10, "decimo": 10, "decima": 10, "once": 11,
    "doce": 12,
}
_NUMBER_FILLERS = frozenset({"number", "no", "option", "choice", "num", "nr", "its", "it", "is", "the", "i", "pick",
                             "choose", "want", "d", "like", "please", "pls", "and", "or", "plus", "also",
                             "el", "la", "los", "las", "numero", "opcion", "quiero", "elijo", "escojo", "prefiero",
                             "y", "o", "e", "tambien", "mas", "es", "por", "favor", "de"})
_PUNCT = re.compile(r"[^\w\s']|_")


def clean(text: str | None) -> str:
    """Strip control characters (NUL included) and extra whitespace; keep the words as typed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[: MAX_REPLY * 2])
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())[:MAX_REPLY]


def words(text: str | None) -> str:
    """Lower-case words only: punctuation and emoji become spaces ("Yes!!" -> "yes", "1)" -> "1")."""
    lowered = clean(text).lower().replace("’", "'")
    stripped = _PUNCT.sub(" ", lowered).replace("'", " ")
    return " ".join(stripped.split())


def fold(said: str) -> str:
    """Drop accents (NFKD, then no combining marks): "sí" and "si", "número" and "numero" read alike."""
    decomposed = unicodedata.normalize("NFKD", said)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def folded_words(text: str | None) -> str:
    """``words`` without accents, for matching replies against English and Spanish word lists."""
    return fold(words(text))


def parse_yes_no(text: str | None, *, keypad: bool = False) -> bool | None:
    """True for yes-like replies (English or Spanish), False for no-like ones, None when it is neither.

    ``keypad`` accepts 1 for yes and 2 for no, which only makes sense on a phone call.
    """
    said = folded_words(text)
    if not said:
        symbols = set(clean(text).replace(" ", "").replace("\ufe0f", ""))
        if symbols and symbols <= _YES_EMOJI:
            return True
        if symbols and symbols <= _NO_EMOJI:
            return False
        return None
    if said in _YES:
        return True
    if said in _NO:
        return False
    if keypad and said in ("1", "2"):
        return said == "1"
    first = said.split()[0]
    if first in ("yes", "yeah", "yep", "yup", "si") and not _mentions_no(said):
        return True
    if first in ("no", "nope", "nah") and not _mentions_yes(said):
        return False
    return None


def _mentions_no(said: str) -> bool:
    return any(w in ("no", "not", "nope") for w in said.split()[1:])


def _mentions_yes(said: str) -> bool:
    return any(w in ("yes", "yeah", "yep", "si") for w in said.split()[1:])


def parse_numbers(text: str | None) -> list[int] | None:
    """The numbers a reply names ("1", "1)", "#2", "one", "dos", "1 and 3", "2,4"), or None if it has other words."""
    said = folded_words(text)
    if not said:
        return None
    found: list[int] = []
    for token in said.split():
        # Only ASCII digits: str.isdigit() is also true for '᧚' or '²', which int() refuses.
        if token.isascii() and token.isdigit() and len(token) <= 3:
            found.append(int(token))
        elif token in _NUMBER_WORDS:
            found.append(_NUMBER_WORDS[token])
        elif token not in _NUMBER_FILLERS:
            return None
    return found or None


def parse_number(text: str | None) -> int | None:
    """The single number a reply names, or None."""
    found = parse_numbers(text)
    return found[0] if found and len(found) == 1 else None


def match_words(text: str | None, names: Sequence[str]) -> list[int]:
    """Indexes of ``names`` the reply means: an exact match wins, else names whose words all appear."""
    said = folded_words(text)
    if not said:
        return []
    keys = [folded_words(name) for name in names]
    exact = [i for i, key in enumerate(keys) if key == said]
    if exact:
        return exact
    said_words = set(said.split())
    padded = f" {said} "
    contained = [i for i, key in enumerate(keys) if key and f" {key} " in padded]
    if contained:
        # "acne scars" also contains "scars": keep only the longest names that matched.
        return [i for i in contained
                if not any(j != i and f" {keys[i]} " in f" {keys[j]} " and keys[i] != keys[j] for j in contained)]
    # "acne" alone should still find "acne scars": the reply's words are all inside one name.
    return [i for i, key in enumerate(keys) if key and said_words <= set(key.split())]
