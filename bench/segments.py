"""How many SMS segments each default client text takes, per language: the README's segment table.

Every catalogue key a client receives as a text (templates, consent, replies, the intake's
wrappers) and the intake questionnaire's welcome and questions, rendered with realistic long
values (a 32-character clinic name, a long first name, the longest day and time, the longest
real aftercare list and a public aftercare link), then counted with ``glowline.messages.templates.segments``.

Run: .venv/bin/python -m bench.segments           (print the table)
     .venv/bin/python -m bench.segments --write   (rewrite the table in README.md)
tests/test_segments.py checks every row and that the README's table is this one.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from glowline.config import ROOT, Config
from glowline.intake.questions import render_question
from glowline.messages import dates
from glowline.messages.catalog import LOCALES, TEXTS, text
from glowline.messages.links import PublicLinks
from glowline.messages.templates import segments
from glowline.runtime import Runtime
from glowline.store.models import Channel

README = ROOT / "README.md"
BEGIN = "<!-- segments:begin (bench/segments.py --write) -->"
END = "<!-- segments:end -->"
LONG_CLINIC = "Glow Skin Clinic Upper West Side"
LONG_FIRST_NAME = "Maria-Guadalupe"
PHONE = "(212) 555-0123"
# A realistic public address: the aftercare link is this plus /a/<8 hex>/<locale>.
LINKS = PublicLinks(base_url="https://glowline.skinclinic-nyc.com", secret="bench")
# The longest English day and time of the year: a Wednesday in September at 12:30.
LONG_MOMENT = datetime(2026, 9, 30, 16, 30, tzinfo=timezone.utc).astimezone(ZoneInfo("America/New_York"))

# Keys that are never a text to a client on their own: spoken lines, parts of other texts, staff text.
_NOT_A_TEXT = re.compile(r"(\.voice$|^call\.|^voice\.|^hint\.|^moment|^staff\.|^question\.option$|"
                         r"^rebook\.choices?$|^intake\.name$|^intake\.why\.default$|^page\.)")

# Texts allowed past two segments, each with the reason its content cannot be shorter.
# None today: the aftercare list, the last one, now links to its page (webhooks/aftercare.py).
OVER_TWO: dict[str, str] = {}
# Correct Spanish needs á é í ó ú ü ñ ¿ ¡; é ü ñ ¿ ¡ are GSM-7, the others are not, so a Spanish text
# with one of them is UCS-2 (70 characters a segment, 67 when split). Accents are never stripped.
SPANISH_LETTERS = frozenset("áíóúÁÍÓÚ")
_GSM_SPANISH = str.maketrans("áíóúÁÍÓÚ", "aiouAIOU")


@dataclass(frozen=True)
class Row:
    """One default text in one language: how it encodes and how many segments it takes."""

    key: str
    locale: str
    body: str
    encoding: str
    segments: int

    @property
    def allowed_over_two(self) -> str | None:
        """The written reason this text may take more than two segments, or None."""
        return OVER_TWO.get(self.key)

    @property
    def budget_segments(self) -> int:
        """Segments the text takes as far as its length goes: UCS-2 Spanish counted as if its accents were GSM-7.

        Correct Spanish pays UCS-2 for its accents; this keeps it to the same length budget as English.
        """
        if self.locale == "es" and self.encoding == "UCS-2":
            return segments(self.body.translate(_GSM_SPANISH))[0]
        return self.segments

    @property
    def over_budget(self) -> bool:
        """True when the text takes more than two segments for its length."""
        return self.budget_segments > 2


def client_text_keys() -> list[str]:
    """Every catalogue key a client receives as a whole text."""
    return [key for key in TEXTS["en"] if not _NOT_A_TEXT.search(key)]


def samples(rt: Runtime, locale: str) -> dict[str, object]:
    """Long, realistic values for every placeholder a client text uses, in ``locale``."""
    longest = max(rt.catalog, key=lambda p: len("; ".join(r.text_in(locale) for r in p.restrictions)))
    concern = rt.intake_engine.question("concern")
    moment = LONG_MOMENT
    choices = ", ".join(text("rebook.choice", locale, n=n, when=dates.format_moment(moment, locale=locale))
                        for n in (1, 2, 3))
    return {
        "clinic": LONG_CLINIC, "phone": PHONE, "date": dates.format_date(moment, locale),
        "time": dates.format_time(moment, locale), "until": dates.format_moment(moment, locale=locale),
        "when": dates.format_when(moment, locale), "duration": dates.format_duration(48, locale), "hours": 48,
        "restrictions": "; ".join(r.text_in(locale) for r in longest.restrictions),
        "session_number": 2, "total_sessions": 6, "choices": text("rebook.choices", locale, choices=choices),
        "first_name": LONG_FIRST_NAME, "name": text("intake.name", locale, first_name=LONG_FIRST_NAME),
        "question": render_question(concern, Channel.SMS, {"clinic": LONG_CLINIC}, locale),
        "message": _welcome(rt, locale), "hint": rt.intake_engine.question("first_name").hint_in(locale),
        "why": text("intake.why.default", locale, clinic=LONG_CLINIC), "heard": "Fine lines and wrinkles",
        "prompt": "What is your first name?", "options": "1 Face\n2 Neck", "n": 9, "number": 1, "label": "Face",
        "usage": "", "what": "", "intro": "", "menu": "", "link": LINKS.aftercare(longest.id, locale),
        # The longest zone names a client is asked about in each language (Babel's, as zones.py names them).
        "zone": "Hawaii-Aleutian" if locale == "en" else "de Hawái-Aleutianas",
        "zone_long": "Hawaii-Aleutian Time" if locale == "en" else "hora de Hawái-Aleutianas",
    }


def _welcome(rt: Runtime, locale: str) -> str:
    welcome = rt.intake_engine.schema.schema["x-welcome"]
    return str(welcome.get(locale) or welcome["en"]).replace("{clinic}", LONG_CLINIC)


def rows(rt: Runtime | None = None) -> list[Row]:
    """Every default client text in every locale, counted."""
    rt = rt or Runtime(Config())
    out: list[Row] = []
    for locale in LOCALES:
        values = samples(rt, locale)
        bodies = [(key, text(key, locale, **values)) for key in client_text_keys()]
        bodies.append(("intake.welcome (questionnaire)", _welcome(rt, locale)))
        # The questionnaire's prompts are the clinic's own, in each language (schemas/intake.schema.json).
        bodies += [(f"question.{q.field}", render_question(q, Channel.SMS, {"clinic": LONG_CLINIC}, locale))
                   for q in rt.intake_engine.questions()]
        for key, body in bodies:
            count, encoding = segments(body)
            out.append(Row(key, locale, body, encoding, count))
    return out


def table(found: list[Row] | None = None) -> str:
    """The README table: key, language, encoding, segments (and why, when over two)."""
    lines = ["| Text | Language | Encoding | Segments | Why more than 2 |", "|---|---|---|---|---|"]
    for row in found if found is not None else rows():
        why = row.allowed_over_two if row.over_budget else (
            "UCS-2 for the accents correct Spanish needs" if row.segments > 2 else "")
        lines.append(f"| `{row.key}` | {row.locale} | {row.encoding} | {row.segments} | {why or ''} |")
    return "\n".join(lines)


def readme_table(readme: Path = README) -> str | None:
    """The table currently in the README between the markers, or None when it has none."""
    content = readme.read_text(encoding="utf-8")
    if BEGIN not in content or END not in content:
        return None
    return content.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write(readme: Path = README) -> None:
    """Replace the README's table with a fresh one."""
    content = readme.read_text(encoding="utf-8")
    before, rest = content.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(f"{before}{BEGIN}\n{table()}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    else:
        print(table())
