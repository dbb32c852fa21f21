"""Does a reply revoke consent? A small rule-based classifier: word lists and patterns, no network, no model.

Since the FCC's revocation rule (47 CFR 64.1200(a)(10)) consent is revoked by any reasonable
method, so the carrier keywords are not enough: "stop it", "take me off your list", "s t o p"
and a stop-sign emoji all count. The rules keep the known false positives out ("I can't stop by
tomorrow", "how do I unsubscribe?", "cancel my appointment").

Each language is a ``Lexicon``; ``classify`` tries every lexicon it is given, so adding a
language is adding one value to ``LEXICONS`` (and its tests), not touching the rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from glowline.normalize import words


class StopIntent(str, enum.Enum):
    """What a reply says about stopping messages."""
    STOP = "stop"                              # revocation: opt out now
    PROBABLY_STOP = "probably_stop"            # ask once: "Reply STOP to confirm"
    QUESTION = "question"                      # asks how to stop: answer, do not opt out
    APPOINTMENT_CANCEL = "appointment_cancel"  # about an appointment: for staff, not an opt-out


@dataclass(frozen=True)
class Lexicon:
    """One language's words and patterns; patterns run on ``normalize``d text (lower-case words)."""

    language: str
    # The carrier keywords: the whole message (with fillers around it) revokes consent.
    keywords: frozenset[str]
    # Politeness and emphasis around a keyword that does not change its meaning.
    fillers: frozenset[str]
    # A phrase anywhere in the reply that revokes consent.
    stop_phrases: tuple[str, ...]
    # Words that revoke consent wherever they appear (unless the reply is a question about them).
    stop_words: frozenset[str]
    # "stop" with these around it is not about messages ("stop by", "can't stop", "stop itching").
    not_stop: tuple[str, ...]
    # Questions about stopping: answered, not acted on.
    questions: tuple[str, ...]
    yes_no_questions: tuple[str, ...]
    # An appointment named next to "cancel": a request for staff.
    appointment: tuple[str, ...]
    # Replies that only probably mean stop: one confirming question.
    probable: tuple[str, ...]
    # Emoji that mean stop.
    emoji: frozenset[str] = field(default_factory=frozenset)

    def compiled(self) -> _Compiled:
        """The lexicon's patterns compiled once."""
        return _Compiled(self)


class _Compiled:
    def __init__(self, lexicon: Lexicon):
        def any_of(patterns: tuple[str, ...]) -> re.Pattern:
            return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else re.compile(r"(?!x)x")

        self.lexicon = lexicon
        fill = "|".join(sorted(lexicon.fillers, key=len, reverse=True))
        keys = "|".join(sorted(lexicon.keywords, key=len, reverse=True))
        self.keyword = re.compile(rf"^(?:(?:{fill}) )*(?:{keys})(?: (?:{fill}))*$")
        self.stop_phrase = any_of(lexicon.stop_phrases)
        self.stop_word = re.compile(rf"\b(?:{'|'.join(sorted(lexicon.stop_words))})\b")
        self.not_stop = any_of(lexicon.not_stop)
        self.question = any_of(lexicon.questions)
        self.yes_no_question = any_of(lexicon.yes_no_questions)
        self.appointment = any_of(lexicon.appointment)
        self.probable = any_of(lexicon.probable)
        # Collapsed spellings ("stooop", "sttopp") of every keyword, back to the keyword.
        self.squeezed = {_squeeze(k): k for k in lexicon.keywords | lexicon.stop_words}


ENGLISH = Lexicon(
    language="en",
    keywords=frozenset({"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                        "opt out", "unsub"}),
    fillers=frozenset({"please", "pls", "plz", "now", "thanks", "thank you", "thx", "ok", "okay", "all", "just",
                       "asap", "already", "right now", "immediately", "yes", "yeah", "no", "no thanks",
                       "no thank you", "sorry", "hi", "hello", "it", "i said", "i want to", "i d like to",
                       "i would like to", "i wish to", "want to", "me", "wrong number", "wrong person"}),
    stop_phrases=(
        r"\bstop (?:it|this|that|them|these|all|everything|now|please|texting|messaging|sending|contacting|calling|"
        r"the (?:texts|messages|calls|reminders)|your (?:texts|messages|calls)|with the)\b",
        r"\bstop (?:texts|text|messages|msgs|sms|calls|reminders|notifications|emails)\b",
        r"\b(?:please|pls|plz|just|ok|okay|now|no|so|god|omg) stop\b",
        r"\bstop$",
        r"^stop\b",
        r"\bopt (?:me )?out\b", r"\bopt-?out\b",
        r"\bunsubscribe\b", r"\bunsub\b", r"\bunsuscribe\b", r"\bunsubcribe\b",
        r"\brevoke\b", r"\brevoking\b", r"\bwithdraw (?:my )?consent\b", r"\b(?:i )?(?:do not|don t|dont|no longer) "
        r"consent\b",
        r"\btake (?:me|my number|this number|us) off\b", r"\btake me out of\b",
        r"\b(?:remove|delete|erase|drop) (?:me|my (?:number|phone|info|details|contact)|this number|us)\b",
        r"\b(?:do not|don t|dont|never|stop|quit) (?:ever )?(?:text|txt|message|msg|contact|call|ring|sms|email|"
        r"bother|spam|bug) (?:me|us|this number|my number)\b",
        r"\b(?:don t|dont|do not|never) (?:text|txt|message|contact|call) (?:again|anymore|any more)\b",
        r"\bno (?:more|further) (?:texts|text|messages|msgs|sms|calls|reminders|contact|notifications)\b",
        r"\b(?:i )?(?:do not|don t|dont) want (?:any )?(?:these|your|the|any|more|this|them|those)? ?"
        r"(?:texts|messages|msgs|calls|reminders|notifications)\b",
        r"\bleave me alone\b", r"\blose my number\b", r"\bwrong (?:number|person|phone)\b",
        r"\bquit (?:it|texting|messaging|calling|sending|contacting)\b", r"^(?:i )?quit\b", r"\bquit$",
        r"^end (?:it|this|all|texts|messages|these|now)\b", r"\bend (?:the |these |your )?(?:texts|messages|"
        r"reminders|subscription)\b", r"\bend$",
        r"\bcancel (?:my |the |these |your |all |this )?(?:texts|text|messages|msgs|subscription|reminders|"
        r"notifications|alerts|sms|consent|calls)\b",
        r"\bremove from (?:the |your |this )?list\b", r"\boff (?:the|your|this) list\b",
        r"\bspam\b.*\bstop\b", r"\bstop spamming\b",
        r"\bstopall\b",
    ),
    stop_words=frozenset({"unsubscribe", "revoke", "optout", "stopall", "unsub"}),
    not_stop=(
        r"\b(?:can t|cant|cannot|can not|couldn t|couldnt|won t|wont|didn t|didnt|doesn t|doesnt|will not|"
        r"could not|did not|does not|never) stop\b(?! (?:texting|messaging|calling|contacting|sending))",
        r"\bstop (?:by|in|at|over|off|into|for|to get|and (?:see|get|pick))\b",
        r"\bstop (?!texting|messaging|sending|contacting|calling|bothering|spamming|emailing|harassing)[a-z]+ing\b",
        r"\b(?:bus|train|last|first|next|pit|one|full|rest) stop\b", r"\bnon ?stop\b",
        r"\b(?:did|does|will|when|should|has|have) (?:it|the \w+|my \w+|this|that) stop\b",
        r"\bstop (?:taking|using|applying|wearing|eating|drinking)\b",
    ),
    questions=(
        r"^(?:how|where|what) (?:do|can|should|would|could|must|to|is)\b(?: \w+){0,4} (?:stop|unsubscribe|unsub|"
        r"opt out|optout|revoke|quit|get off|remove)\b",
    ),
    # Yes/no questions about stopping count only with a question mark ("can I unsubscribe?").
    yes_no_questions=(
        r"^(?:is there|is it possible|do i|does|if i|what if|can i|could i|should i|am i able|will i|what happens)"
        r"\b.*\b(?:stop|unsubscribe|unsub|opt out|optout|revoke)\b",
    ),
    appointment=(
        r"\bcancel\w*\b.*\b(?:appointment|appt|appts|appointments|session|sessions|visit|booking|treatment|"
        r"consult|consultation|today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|saturday|"
        r"sunday|next week|this week|reschedule|\d{1,2} ?(?:am|pm))\b",
        r"\b(?:appointment|appt|session|visit|booking)\b.*\bcancel\w*\b",
        r"\bneed to (?:cancel|reschedule) (?:for|on)\b",
    ),
    probable=(
        r"^(?:no more|not interested|no longer interested|i m not interested|im not interested|"
        r"i am not interested|enough|enough already|that s enough|please no more|no more please|"
        r"i m done|im done|i am done|not anymore|no longer|please don t|go away|"
        r"this is spam|spam|i ll block you|i will block you|"
        r"not for me|no longer needed|don t need this|dont need this)$",
        r"\bnot interested\b", r"\bgo away\b", r"\bthis is spam\b",
    ),
    emoji=frozenset({"🛑", "⛔", "✋🛑"}),
)

LEXICONS: dict[str, Lexicon] = {"en": ENGLISH}
_COMPILED: dict[str, _Compiled] = {}


def _compiled(language: str) -> _Compiled:
    if language not in _COMPILED:
        _COMPILED[language] = LEXICONS[language].compiled()
    return _COMPILED[language]


def _squeeze(word: str) -> str:
    """A word with every run of a repeated letter made single ("stooopp" -> "stop")."""
    return re.sub(r"(.)\1+", r"\1", word)


def normalize(body: str | None, lexicon: Lexicon) -> str:
    """Lower-case words with the tricks undone: "S T O P" -> "stop", "stooop" -> "stop", "stop stop" -> "stop"."""
    raw = body or ""
    for symbol in lexicon.emoji:
        raw = raw.replace(symbol, " stop ")
    tokens = words(raw).split()
    tokens = _join_spelled_out(tokens)
    squeezed = _compiled(lexicon.language).squeezed
    tokens = [squeezed.get(_squeeze(t), t) if _squeeze(t) != t else t for t in tokens]
    deduped: list[str] = []
    for token in tokens:
        if not deduped or deduped[-1] != token:
            deduped.append(token)
    return " ".join(deduped)


def _join_spelled_out(tokens: list[str]) -> list[str]:
    """Runs of three or more single letters are one word spelled out ("s t o p")."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if token:
            out.append(token)
    return out


def classify(body: str | None, *, languages: tuple[str, ...] = ("en",)) -> StopIntent | None:
    """What a reply says about stopping, in any of ``languages``; None when it says nothing about it."""
    found: list[StopIntent] = []
    for language in languages:
        intent = _classify(body, _compiled(language))
        if intent is StopIntent.STOP:
            return intent
        if intent is not None:
            found.append(intent)
    return found[0] if found else None


def _classify(body: str | None, rules: _Compiled) -> StopIntent | None:
    said = normalize(body, rules.lexicon)
    if not said:
        return None
    if rules.keyword.match(said):
        return StopIntent.STOP
    asked = (body or "").strip().endswith("?")
    if rules.question.search(said) or (asked and rules.yes_no_question.search(said)):
        return StopIntent.QUESTION
    if "cancel" in said.split() and rules.appointment.search(said):
        # "cancel my appointment" is for staff; "cancel my appointment and stop texting me" still stops.
        rest = " ".join(w for w in said.split() if w != "cancel")
        return StopIntent.STOP if _stops(rest, rules) else StopIntent.APPOINTMENT_CANCEL
    if _stops(said, rules):
        return StopIntent.STOP
    if rules.probable.search(said):
        return StopIntent.PROBABLY_STOP
    return None


def _stops(said: str, rules: _Compiled) -> bool:
    """A stop word or phrase, once the uses of "stop" that are not about messages are taken out."""
    if rules.stop_word.search(said):
        return True
    cleaned = " ".join(rules.not_stop.sub(" ", said).split())
    return bool(cleaned) and bool(rules.stop_phrase.search(cleaned))
