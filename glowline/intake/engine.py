"""The intake conversation engine: one state machine for every channel; callers commit.

The engine knows questions, answers and wording; it never knows TwiML. ``channel``
(a ``Channel``) only changes how a question is worded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from glowline.compliance import consent as compliance
from glowline.intake.answers import PHOTO_SENT, interpret
from glowline.intake.questions import Choice, Question, fill, load_questions, render_hint, render_question
from glowline.compliance.keywords import Command, command
from glowline.store.models import Channel, Client, Clinic, Intake, IntakeStatus
from glowline.messages.catalog import LOCALES, template_of, text
from glowline.normalize import clean, parse_yes_no
from glowline.phone import clinic_phone
from glowline.catalog.schemas import CompiledSchema, build_validator
from glowline.clinics.zones import guess_zone, zone_for_place
from glowline.messages.dates import same_clock, zone_name
from glowline.intake.turns import KEYED_NUMBER, Turn, TurnEvent, TurnStatus, answered

__all__ = ["KEYED_NUMBER", "LOW_CONFIDENCE", "MAX_MISSES", "Choice", "IntakeEngine", "Question", "Turn", "TurnEvent",
           "TurnStatus", "answered", "build_engine"]

log = logging.getLogger(__name__)

MAX_MISSES = 3
LOW_CONFIDENCE = 0.5
# Not a schema property: the question the engine adds after the last one when the client's number
# says another zone than the clinic's. Its answer goes on the client (timezone), never in the answers.
ZONE_FIELD = "timezone"
_CONFIRMABLE = ("text", "choice", "multi")


# Asked on every inbound answer: built once (constructing it cost more CPU than the indexed lookup).
_OPEN_INTAKE = (select(Intake).where(Intake.clinic_id == bindparam("clinic_id"), Intake.client_id == bindparam("client_id"),
                                     Intake.status == IntakeStatus.IN_PROGRESS)
                .order_by(Intake.id.desc()).limit(1))


def build_engine(rt) -> IntakeEngine:
    """The engine for a runtime: its intake schema and protocol catalog."""
    return IntakeEngine(rt.schemas["intake"], rt.catalog)


class IntakeEngine:
    """Asks the schema's questions in order, parses forgivingly, validates strictly."""

    def __init__(self, schema: CompiledSchema, catalog):
        self.schema = schema
        self.catalog = catalog
        self._questions = load_questions(schema.schema, catalog)
        self._by_field = {q.field: q for q in self._questions}
        self._validators = {name: build_validator(sub) for name, sub in schema.schema["properties"].items()}
        self.version = str(schema.schema.get("x-version") or "")
        self._zone_question = Question(
            field=ZONE_FIELD, kind="zone",
            prompts=tuple((loc, template_of("zone.question", loc)) for loc in LOCALES),
            voice_prompts=tuple((loc, template_of("zone.question.voice", loc)) for loc in LOCALES),
            hints=tuple((loc, template_of("zone.hint", loc)) for loc in LOCALES))

    def questions(self) -> list[Question]:
        """The questions in the order they are asked."""
        return list(self._questions)

    def question(self, name: str) -> Question:
        """The question for one schema property."""
        return self._by_field[name]

    def open_intake(self, db: Session, clinic: Clinic, client: Client) -> Intake | None:
        """The client's intake in progress at this clinic, if any."""
        return db.scalar(_OPEN_INTAKE, {"clinic_id": clinic.id, "client_id": client.id})

    def start(self, db: Session, *, clinic: Clinic, client: Client, channel: Channel, now: datetime,
              flags: Sequence[str] = ()) -> Turn:
        """Begin a new intake (any open one is set aside): the welcome and the consent question."""
        db.execute(update(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id,
                                        Intake.status == IntakeStatus.IN_PROGRESS)
                   .values(status=IntakeStatus.RESTARTED, updated_at=now)
                   .execution_options(synchronize_session="fetch"))
        first = self._questions[0]
        if client.timezone is None and client.timezone_confirmed_at is None:
            # The number's area as a first guess (quiet hours use it at once); the zone question confirms it.
            client.timezone = guess_zone(client.phone, clinic.timezone)
        intake = Intake(clinic_id=clinic.id, client_id=client.id, status=IntakeStatus.IN_PROGRESS,
                        current_field=first.field, answers={}, misses=0, flags=list(flags), channel=Channel(channel),
                        schema_version=self.version, created_at=now, updated_at=now)
        intake.clinic, intake.client = clinic, client
        db.add(intake)
        db.flush()
        log.info("intake %s started on %s", intake.id, Channel(channel).value)
        key = "x-welcome-voice" if channel == Channel.VOICE and "x-welcome-voice" in self.schema.schema else "x-welcome"
        given = self.schema.schema.get(key)
        # The welcome is given per locale ({"en": ..., "es": ...}); each says how to switch to the other.
        wording = given.get(client.locale) if isinstance(given, dict) else given
        welcome = fill(wording or template_of("intake.welcome", client.locale), self._values(intake))
        return self._ask(intake, channel, before=[welcome], events=[TurnEvent.STARTED])

    def current(self, db: Session, *, intake: Intake, channel: Channel) -> Turn:
        """Say again whatever is open: the question, the read-back, or how the intake ended."""
        if intake.status is not IntakeStatus.IN_PROGRESS:
            return self._ended(intake, channel)
        if intake.pending_confirmation:
            return self._confirming(intake, channel)
        return self._ask(intake, channel)

    def answer(self, db: Session, *, intake: Intake, reply: str, channel: Channel, now: datetime,
               confidence: float | None = None) -> Turn:
        """Take one reply to the open question and move the intake on (or re-ask)."""
        if intake.status is not IntakeStatus.IN_PROGRESS:
            return self._ended(intake, channel)
        said = command(reply)
        if said is Command.RESTART:
            return self.restart(db, intake=intake, channel=channel, now=now)
        if said is Command.BACK:
            return self.back(db, intake=intake, channel=channel, now=now)
        question = self._open_question(intake)
        if question.field == ZONE_FIELD:
            return self._answer_zone(db, intake, reply, channel, now)
        pending = intake.pending_confirmation
        if pending and pending.get("field") == question.field:
            verdict = parse_yes_no(reply, keypad=channel == Channel.VOICE)
            if verdict is True:
                intake.pending_confirmation = None
                return self._accept(db, intake, question, pending["value"], channel, now)
            intake.pending_confirmation = None
            if verdict is False:
                return self._miss(db, intake, question, channel, now, wording="intake.miss.after_no")
        intake.pending_confirmation = None
        result = interpret(question, reply, channel=channel)
        if result.declined:
            return self._declined(db, intake, question, channel, now)
        if result.refused:
            return self._explain(db, intake, question, channel, now)
        if result.several:
            return self._miss(db, intake, question, channel, now, wording="intake.pick_one")
        if result.value is None or not self._validators[question.field].is_valid(
                self._stored_value(intake, question, result.value, channel, now)):
            return self._miss(db, intake, question, channel, now)
        if confidence is not None and confidence < LOW_CONFIDENCE and question.kind in _CONFIRMABLE:
            intake.pending_confirmation = {"field": question.field, "value": result.value, "heard": clean(reply)[:200]}
            intake.updated_at = now
            return self._confirming(intake, channel)
        return self._accept(db, intake, question, result.value, channel, now)

    def photo_received(self, db: Session, *, intake: Intake, channel: Channel, now: datetime) -> Turn:
        """Photos arrived mid-intake: they answer the photo question when it is open, else the open question is asked again.

        A photo's caption is never read as an answer: it is the text under a picture, not a reply.
        """
        if intake.status is not IntakeStatus.IN_PROGRESS:
            return self._ended(intake, channel)
        question = self._open_question(intake)
        thanks = text("photo.thanks", intake.client.locale)
        if question.kind == "photo" and not intake.pending_confirmation:
            turn = self._accept(db, intake, question, PHOTO_SENT, channel, now)
        else:
            turn = self.current(db, intake=intake, channel=channel)
        turn.messages.insert(0, thanks)
        return turn

    def back(self, db: Session, *, intake: Intake, channel: Channel, now: datetime) -> Turn:
        """Re-ask the question before the open one (its old answer is dropped)."""
        if intake.status is not IntakeStatus.IN_PROGRESS:
            return self._ended(intake, channel)
        names = [q.field for q in self._questions if q.asked_on(intake.channel)]
        open_field = self._open_question(intake).field
        # From the zone question (after the last one), BACK goes to the last schema question.
        index = names.index(open_field) if open_field in names else len(names)
        target = names[max(index - 1, 0)]
        intake.answers = {k: v for k, v in (intake.answers or {}).items() if k != target}
        intake.current_field = target
        intake.misses = 0
        intake.pending_confirmation = None
        intake.updated_at = now
        return self._ask(intake, channel, events=[TurnEvent.BACK])

    def restart(self, db: Session, *, intake: Intake, channel: Channel, now: datetime) -> Turn:
        """Set this intake aside and start a fresh one from the welcome."""
        intake.status = IntakeStatus.RESTARTED
        intake.updated_at = now
        turn = self.start(db, clinic=intake.clinic, client=intake.client, channel=channel, now=now)
        turn.messages[0] = text("intake.restart", intake.client.locale, message=turn.messages[0])
        turn.events.insert(0, TurnEvent.RESTART)
        return turn

    # -- steps -------------------------------------------------------------------------------

    def _open_question(self, intake: Intake) -> Question:
        if intake.current_field == ZONE_FIELD:
            return self._zone_question
        if intake.current_field in self._by_field:
            return self._by_field[intake.current_field]
        return self._next_question(intake) or self._questions[-1]

    def _next_question(self, intake: Intake) -> Question | None:
        answers = intake.answers or {}
        return next((q for q in self._questions if q.field not in answers and q.asked_on(intake.channel)), None)

    def _values(self, intake: Intake) -> dict:
        answers = intake.answers or {}
        values = {"clinic": intake.clinic.name, "first_name": answers.get("first_name")}
        tz = intake.client.timezone
        if tz:
            values["zone_long"] = zone_name(tz, intake.client.locale)
        return values

    def _ask(self, intake: Intake, channel: Channel, *, before: list[str] | None = None,
             events: list[str] | None = None, acknowledge: bool = False) -> Turn:
        question = self._open_question(intake)
        asked = render_question(question, channel, self._values(intake), intake.client.locale)
        ack = question.ack_in(intake.client.locale)
        if acknowledge and ack:
            # Only after an accepted answer: a re-ask or BACK has nothing to thank the client for.
            asked = f"{fill(ack, self._values(intake))} {asked}"
        return Turn([*(before or []), asked], question, intake, TurnStatus.ASKING, list(events or []))

    def _confirming(self, intake: Intake, channel: Channel) -> Turn:
        pending = intake.pending_confirmation or {}
        question = self._by_field[pending["field"]]
        heard = question.label_of(pending["value"], intake.client.locale)
        key = "intake.heard.voice" if channel == Channel.VOICE else "intake.heard"
        return Turn([text(key, intake.client.locale, heard=heard)], question, intake, TurnStatus.CONFIRMING,
                    [TurnEvent.CONFIRMING])

    def _stored_value(self, intake: Intake, question: Question, value, channel: Channel, now: datetime):
        if question.kind != "consent":
            return value
        wording = render_question(question, channel, self._values(intake), intake.client.locale)
        return {"agreed": True, "wording": wording, "at": now.isoformat(), "channel": Channel(channel).value}

    def _accept(self, db: Session, intake: Intake, question: Question, value, channel: Channel, now: datetime) -> Turn:
        stored = self._stored_value(intake, question, value, channel, now)
        keyed = question.kind == "consent" and KEYED_NUMBER in (intake.flags or [])
        if question.kind == "consent" and not keyed:
            compliance.record_intake_consent(db, client=intake.client, clinic=intake.clinic,
                                             wording=stored["wording"], channel=channel, now=now)
        intake.answers = {**(intake.answers or {}), question.field: stored}
        intake.misses = 0
        intake.updated_at = now
        turn = self._after(db, intake, question, channel, now)
        if keyed:
            turn.events.append(TurnEvent.CONFIRM_BY_TEXT)
        return turn

    def _after(self, db: Session, intake: Intake, question: Question, channel: Channel, now: datetime) -> Turn:
        """The turn after an accepted answer: the next question, the zone question, or the end."""
        following = self._next_question(intake)
        if following is None and self._zone_due(intake):
            intake.current_field = ZONE_FIELD
            return self._ask(intake, channel, events=[answered(question.field)])
        if following is None:
            return self._complete(db, intake, channel, now)
        intake.current_field = following.field
        return self._ask(intake, channel, events=[answered(question.field)], acknowledge=True)

    def _zone_due(self, intake: Intake) -> bool:
        """True when the client's zone is a guess that differs from the clinic's and was never confirmed."""
        client = intake.client
        return (client.timezone is not None and client.timezone_confirmed_at is None
                and not same_clock(client.timezone, intake.clinic.timezone))

    def _answer_zone(self, db: Session, intake: Intake, reply: str, channel: Channel, now: datetime) -> Turn:
        """YES keeps the guessed zone, a city (or zone name) sets its zone; then the intake completes."""
        client, locale = intake.client, intake.client.locale
        verdict = parse_yes_no(reply, keypad=channel == Channel.VOICE)
        place = None if verdict is True else zone_for_place(reply, locale)
        if verdict is True or place is not None:
            if place is not None:
                # A city in the clinic's own zone means "the clinic's time": nothing to store.
                client.timezone = None if same_clock(place, intake.clinic.timezone) else place
            client.timezone_confirmed_at = now
            intake.updated_at = now
            told = zone_name(intake.clinic.zone_for(client), locale)
            turn = self._complete(db, intake, channel, now)
            turn.messages.insert(0, text("zone.set", locale, zone_long=told))
            return turn
        if verdict is False and not intake.misses:
            intake.misses = 1
            intake.updated_at = now
            return Turn([text("zone.city", locale)], self._zone_question, intake, TurnStatus.ASKING, [TurnEvent.MISS])
        intake.misses = (intake.misses or 0) + 1
        intake.updated_at = now
        if intake.misses >= MAX_MISSES:
            # Never hand a finished intake to a person over a time zone: keep the number's guess, unconfirmed.
            return self._complete(db, intake, channel, now)
        asked = render_question(self._zone_question, channel, self._values(intake), locale)
        hint = render_hint(self._zone_question, channel, self._values(intake), locale)
        return Turn([text("intake.miss", locale, hint=f"{hint} {asked}")], self._zone_question, intake,
                    TurnStatus.ASKING, [TurnEvent.MISS])

    def _miss(self, db: Session, intake: Intake, question: Question, channel: Channel, now: datetime,
              wording: str = "intake.miss") -> Turn:
        intake.misses = (intake.misses or 0) + 1
        intake.updated_at = now
        if intake.misses >= MAX_MISSES:
            return self._hand_over(intake, channel, now, f"needs a person: no answer to {question.field} "
                                                f"after {MAX_MISSES} tries")
        values, locale = self._values(intake), intake.client.locale
        asked = render_question(question, channel, values, locale)
        if wording == "intake.pick_one":
            return Turn([text(wording, locale, question=asked)], question, intake, TurnStatus.ASKING, [TurnEvent.MISS])
        # Every re-ask is the hint (what kind of answer fits), then the open question in full with its
        # options, so the client never has to scroll back (or a caller remember) what was asked.
        hint = render_hint(question, channel, values, locale)
        said = text(wording, locale, hint=f"{hint} {asked}")
        return Turn([said], question, intake, TurnStatus.ASKING, [TurnEvent.MISS])

    def _explain(self, db: Session, intake: Intake, question: Question, channel: Channel, now: datetime) -> Turn:
        # A refusal counts as a miss, so a client who keeps refusing reaches a person, not a loop.
        turn = self._miss(db, intake, question, channel, now)
        if turn.status is not TurnStatus.ASKING:
            return turn
        values, locale = self._values(intake), intake.client.locale
        given = question.why_in(locale)
        why = fill(given, values) if given else text("intake.why.default", locale, clinic=values["clinic"])
        asked = render_question(question, channel, values, locale)
        return Turn([text("intake.why", locale, why=why, question=asked)], question, intake, TurnStatus.ASKING,
                    [TurnEvent.MISS])

    def _declined(self, db: Session, intake: Intake, question: Question, channel: Channel, now: datetime) -> Turn:
        # Without consent we may not send automated texts or calls, so a person takes over.
        compliance.record_declined(db, client=intake.client, clinic=intake.clinic,
                                   wording=render_question(question, channel, self._values(intake),
                                                           intake.client.locale),
                                   method=f"{Channel(channel).value}_intake", now=now)
        return self._hand_over(intake, channel, now, "declined automated texts and calls; call to book")

    def _hand_over(self, intake: Intake, channel: Channel, now: datetime, flag: str) -> Turn:
        intake.status = IntakeStatus.NEEDS_HUMAN
        intake.flags = [*(intake.flags or []), flag]
        intake.pending_confirmation = None
        intake.updated_at = now
        log.info("intake %s handed to a person", intake.id)
        return self._ended(intake, channel, events=[TurnEvent.NEEDS_HUMAN])

    def _complete(self, db: Session, intake: Intake, channel: Channel, now: datetime) -> Turn:
        known = {k: v for k, v in (intake.answers or {}).items() if k in self._by_field}
        errors = self.schema.errors(known)
        for path, _message in errors:
            name = path.split(".")[0].split("[")[0]
            if name in self._by_field:
                # The questionnaire changed under this intake: ask that one again.
                intake.answers = {k: v for k, v in known.items() if k != name}
                intake.current_field = name
                return self._ask(intake, channel, before=[text("intake.revalidate", intake.client.locale)],
                                 events=[TurnEvent.REVALIDATE])
        if errors:
            return self._hand_over(intake, channel, now, f"needs a person: answers do not validate ({errors[0][0]})")
        intake.answers = known
        intake.flags = [*(intake.flags or []), *screening_flags(self._questions, known)]
        intake.status = IntakeStatus.COMPLETE
        intake.current_field = None
        intake.completed_at = now
        if "reminder_channel" in known:
            intake.client.preferred_channel = Channel(known["reminder_channel"])
        log.info("intake %s complete", intake.id)
        return self._ended(intake, channel, events=[TurnEvent.COMPLETE])

    def _ended(self, intake: Intake, channel: Channel, events: list[str] | None = None) -> Turn:
        values = self._values(intake)
        locale = intake.client.locale
        name = text("intake.name", locale, first_name=values["first_name"]) if values.get("first_name") else ""
        clinic = intake.clinic.name
        if intake.status is IntakeStatus.COMPLETE or intake.status is IntakeStatus.PLANNED:
            key = "intake.complete.voice" if channel == Channel.VOICE else "intake.complete"
            return Turn([text(key, locale, name=name, clinic=clinic)], None, intake, TurnStatus.COMPLETE, list(events or []))
        if intake.status is IntakeStatus.NEEDS_HUMAN and any(f.startswith("declined") for f in intake.flags or []):
            said = text("intake.declined", locale, name=name, clinic=clinic, phone=clinic_phone(intake.clinic))
            return Turn([said], None, intake, TurnStatus.NEEDS_HUMAN, list(events or []))
        said = text("intake.handed_over", locale, name=name, clinic=clinic)
        return Turn([said], None, intake, TurnStatus.NEEDS_HUMAN, list(events or []))


def screening_flags(questions: list[Question], answers: dict) -> list[str]:
    """A flag for each screening question answered yes: for the clinician, never a refusal."""
    return [f"screening: {q.screening}" for q in questions if q.screening and answers.get(q.field) is True]
