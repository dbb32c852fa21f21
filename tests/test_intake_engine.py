"""The conversation engine on its own: the API the SMS and voice channels share."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.config import ROOT
from glowline.intake.engine import IntakeEngine, build_engine
from glowline.exceptions import ConfigError
from glowline.store.models import Channel, Client, ConsentEvent, IntakeStatus
from glowline.catalog.schemas import load_schema_file


@pytest.fixture
def engine(runtime):
    return build_engine(runtime)


@pytest.fixture
def person(db, clinic):
    client = Client(clinic_id=clinic.id, phone="+12125550142")
    db.add(client)
    db.commit()
    return client


def walk(engine, db, intake, replies, clock, channel="sms"):
    turn = None
    for reply in replies:
        turn = engine.answer(db, intake=intake, reply=reply, channel=channel, now=clock.now())
    return turn


def test_questions_follow_the_schema_in_order(engine, runtime):
    fields = [q.field for q in engine.questions()]
    assert fields == list(runtime.schemas["intake"].schema["properties"])
    assert fields[0] == "consent" and fields[-1] == "preferred_times"
    assert {q.kind for q in engine.questions()} == {"consent", "text", "choice", "multi", "yesno", "photo"}


def test_concern_choices_are_the_catalog_conditions(engine, runtime):
    assert [c.value for c in engine.question("concern").choices] == runtime.catalog.conditions()


def test_a_schema_that_disagrees_with_the_catalog_stops_start_up(runtime, tmp_path):
    schema = json.loads((ROOT / "schemas" / "intake.schema.json").read_text())
    broken = copy.deepcopy(schema)
    broken["properties"]["concern"]["enum"] = [*broken["properties"]["concern"]["enum"][:-1], "tattoos"]
    path = tmp_path / "intake.schema.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match=r"concern.enum.*pigmentation"):
        IntakeEngine(load_schema_file(path), runtime.catalog)


def test_a_question_without_a_prompt_stops_start_up(runtime, tmp_path):
    schema = json.loads((ROOT / "schemas" / "intake.schema.json").read_text())
    del schema["properties"]["keloid"]["x-prompt"]
    path = tmp_path / "intake.schema.json"
    path.write_text(json.dumps(schema))
    with pytest.raises(ConfigError, match=r"properties\.keloid\.x-prompt"):
        IntakeEngine(load_schema_file(path), runtime.catalog)


def test_start_welcomes_and_asks_consent_on_each_channel(engine, db, clinic, person, clock):
    sms = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now())
    assert sms.status == "asking" and sms.question.field == "consent"
    assert "texting Glow Clinic" in sms.messages[0] and "Reply YES or NO" in sms.messages[1]
    voice = engine.start(db, clinic=clinic, client=person, channel="voice", now=clock.now())
    assert "calling Glow Clinic" in voice.messages[0] and "press 1 for yes" in voice.messages[1]
    assert engine.open_intake(db, clinic, person).id == voice.intake.id
    assert sms.intake.status is IntakeStatus.RESTARTED


def test_voice_wording_for_choices_and_the_keypad(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="voice", now=clock.now()).intake
    turn = walk(engine, db, intake, ["1", "Maria"], clock, channel="voice")
    assert "Press or say 1 for acne scars" in turn.messages[-1]
    assert "acne scars" in turn.question.speech_hints[0].lower()
    turn = walk(engine, db, intake, ["purple"], clock, channel="voice")
    assert turn.messages[0].startswith("Sorry, I didn't get that. Please say the name, or press a number from 1 to 9. "
                                       "What would you most like to treat? Press or say 1 for acne scars;")
    assert all(f"{c.number} for {c.label.lower()}" in turn.messages[0] for c in turn.question.choices)


def test_low_confidence_answers_are_read_back(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="voice", now=clock.now()).intake
    walk(engine, db, intake, ["yes"], clock, channel="voice")
    turn = engine.answer(db, intake=intake, reply="Maria", channel="voice", now=clock.now(), confidence=0.3)
    assert turn.status == "confirming" and turn.messages == ["I heard 'Maria'. Is that right? Say yes or no."]
    assert "first_name" not in intake.answers and intake.pending_confirmation["value"] == "Maria"
    assert engine.current(db, intake=intake, channel="voice").status == "confirming"  # a dropped call resumes here
    turn = engine.answer(db, intake=intake, reply="no", channel="voice", now=clock.now(), confidence=0.9)
    assert turn.status == "asking" and turn.question.field == "first_name" and intake.pending_confirmation is None
    engine.answer(db, intake=intake, reply="Marie", channel="voice", now=clock.now(), confidence=0.2)
    turn = engine.answer(db, intake=intake, reply="yes", channel="voice", now=clock.now(), confidence=0.95)
    assert intake.answers["first_name"] == "Marie" and turn.question.field == "concern"
    turn = engine.answer(db, intake=intake, reply="acne", channel="voice", now=clock.now(), confidence=0.4)
    assert turn.messages == ["I heard 'Acne scars'. Is that right? Say yes or no."]
    turn = engine.answer(db, intake=intake, reply="yes", channel="voice", now=clock.now())
    assert intake.answers["concern"] == "acne scars"


def test_confident_and_yes_no_answers_are_not_read_back(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="voice", now=clock.now()).intake
    turn = engine.answer(db, intake=intake, reply="yes", channel="voice", now=clock.now(), confidence=0.2)
    assert turn.status == "asking" and turn.question.field == "first_name"
    turn = engine.answer(db, intake=intake, reply="Maria", channel="voice", now=clock.now(), confidence=0.8)
    assert turn.status == "asking" and intake.answers["first_name"] == "Maria"


def test_complete_intake_validates_sets_flags_channel_and_consent(engine, db, clinic, person, clock, runtime):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    clock.advance(timedelta(minutes=1))
    turn = walk(engine, db, intake, ["Yes", "Lee", "stretch marks", "4 5", "skip", "no", "yes", "yes", "no", "no",
                                     "phone call", "mornings"], clock)
    assert turn.status == "complete" and turn.question is None
    db.commit()
    runtime.schemas["intake"].check(intake.answers)
    assert intake.status is IntakeStatus.COMPLETE and intake.completed_at == clock.now()
    assert intake.answers["area"] == ["stomach", "thighs"]
    assert intake.flags == ["screening: isotretinoin (Accutane) in the last 6 months",
                            "screening: active skin infection or cold sores"]
    assert person.preferred_channel is Channel.VOICE
    consent = db.scalars(select(ConsentEvent)).one()
    assert consent.action == "opt_in" and consent.method == "sms_intake" and f"clinic:{clinic.id}" in consent.scope
    assert consent.wording == intake.answers["consent"]["wording"] and "STOP" in consent.wording
    assert intake.answers["consent"]["at"] == clock.now().isoformat()


def test_screening_yes_never_refuses(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes", "Sam", "1", "1", "no", "yes", "yes", "yes", "yes", "yes", "1", "any"], clock)
    assert turn.status == "complete" and len(intake.flags) == 5


def test_back_on_the_first_question_re_asks_it(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = engine.back(db, intake=intake, channel="sms", now=clock.now())
    assert turn.question.field == "consent"


def test_back_twice_then_forward_again(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    walk(engine, db, intake, ["yes", "Kim", "2"], clock)
    turn = walk(engine, db, intake, ["back", "go back"], clock)
    assert turn.question.field == "first_name" and set(intake.answers) == {"consent"}
    turn = walk(engine, db, intake, ["Kai"], clock)
    assert turn.question.field == "concern" and "Kai" in turn.messages[-1]


def test_a_finished_intake_only_repeats_how_it_ended(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    walk(engine, db, intake, ["yes", "Sam", "1", "1", "skip", "no", "no", "no", "no", "no", "1", "any day"], clock)
    answers = dict(intake.answers)
    turn = engine.answer(db, intake=intake, reply="BACK", channel="sms", now=clock.now())
    assert turn.status == "complete" and intake.answers == answers


def test_consent_that_lifts_an_opt_out_says_so(engine, db, clinic, person, clock):
    person.opted_out_at = clock.now()
    intake = engine.start(db, clinic=clinic, client=person, channel="voice", now=clock.now()).intake
    walk(engine, db, intake, ["yes"], clock, channel="voice")
    db.commit()
    assert person.opted_out_at is None
    consent = db.scalars(select(ConsentEvent)).one()
    assert consent.method == "voice_intake" and "lifts the client's earlier opt-out from this clinic" in consent.scope


@pytest.mark.parametrize("reply", ["no", "why do you need my name", "prefer not"])
def test_a_refused_name_hears_why_and_the_question_again(engine, db, clinic, person, clock, reply):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes", reply], clock)
    assert turn.status == "asking" and turn.question.field == "first_name" and "first_name" not in intake.answers
    assert turn.messages == ["We ask so we can greet you by name and find your file when you call. "
                             "What is your first name?"]
    turn = walk(engine, db, intake, ["Anne-Marie"], clock)
    assert turn.messages[-1].startswith("Nice to meet you, Anne-Marie! What would you most like to treat?")


@pytest.mark.parametrize("reply", ["123", "Here is my face"])
def test_a_reply_that_is_not_a_name_is_asked_again_kindly(engine, db, clinic, person, clock, reply):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes", reply], clock)
    assert turn.question.field == "first_name" and "first_name" not in intake.answers
    assert "Nice to meet you" not in " ".join(turn.messages) and "first name" in turn.messages[-1]


def test_back_to_the_name_does_not_thank_again(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes"], clock)
    assert turn.messages == ["Thank you! What is your first name?"]
    turn = walk(engine, db, intake, ["Kim", "back"], clock)
    assert turn.messages == ["What is your first name?"]


def test_several_numbers_to_a_single_choice_are_asked_to_pick_one(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes", "Kim", "1, 3"], clock)
    assert turn.question.field == "concern" and "concern" not in intake.answers
    assert turn.messages[0].startswith("Please pick just one. What would you most like to treat?\n1 Acne scars")


def test_two_choices_read_reply_1_or_2(engine, db, clinic, person, clock):
    intake = engine.start(db, clinic=clinic, client=person, channel="sms", now=clock.now()).intake
    turn = walk(engine, db, intake, ["yes", "Kim", "1", "1", "skip", "no", "no", "no", "no", "no"], clock)
    assert turn.question.field == "reminder_channel" and turn.messages[-1].endswith("\nReply 1 or 2.")
    assert "from 1 to 2" not in turn.messages[-1]


def test_every_re_ask_ends_with_the_open_question(engine, db, clinic, person, clock):
    for channel in ("sms", "voice"):
        intake = engine.start(db, clinic=clinic, client=person, channel=channel, now=clock.now()).intake
        for q in [q for q in engine.questions() if q.asked_on(channel)]:
            asked = engine.current(db, intake=intake, channel=channel).messages[-1]
            turn = engine.answer(db, intake=intake, reply="%%", channel=channel, now=clock.now())
            assert turn.question.field == q.field and turn.messages[-1].endswith(asked), (channel, q.field)
            intake.misses = 0
            good = {"consent": "yes", "first_name": "Kim", "concern": "1", "area": "1", "reminder_channel": "1",
                    "preferred_times": "mornings"}.get(q.field, "no")
            engine.answer(db, intake=intake, reply=good, channel=channel, now=clock.now())
