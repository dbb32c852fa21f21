"""Incoming calls walked through the real endpoints: the intake by phone, resumed by text, and session look-ups."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from glowline.store.models import (Channel, Client, ConsentEvent, InboundMessage, Intake, IntakeStatus, MessageKind,
                             OutboxMessage, SessionStatus)
from tests.conversations import CALLER, Call
from tests.conversations import call_intake_of as intake_of
from tests.helpers import CLINIC_NUMBER, PUBLIC_BASE_URL, gather_of, make_plan, parse_twiml, said, twilio_post





def text_in(client, body: str, sid: str, caller: str = CALLER):
    return twilio_post(client, "/twilio/sms", {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller,
                                               "To": CLINIC_NUMBER, "Body": body, "NumMedia": "0"})


def test_full_intake_by_phone_with_keys_speech_re_asks_and_a_read_back(client, db, clinic, runtime):
    call = Call(client, "CA" + "a" * 32)
    call.start()
    assert "Thanks for calling Glow Clinic" in call.text
    gather = gather_of(call.root)
    assert gather.get("input") == "speech dtmf" and gather.get("numDigits") == "1"
    assert call.action == f"{PUBLIC_BASE_URL}/twilio/voice/gather?step=1"

    call.press("1")  # consent: yes
    assert "first name" in call.text
    assert gather_of(call.root).get("numDigits") is None  # a name is spoken, never cut off after one key
    call.say("Maria", confidence=0.31)  # heard, but not surely: read back
    assert "I heard 'Maria'" in call.text and intake_of(db).current_field == "first_name"
    call.press("1")  # yes, that is right
    assert "Maria" in call.text and "Press or say 1 for acne scars" in call.text
    assert gather_of(call.root).get("numDigits") == "1"
    assert "Acne scars" in gather_of(call.root).get("hints").split(", ")

    call.say("purple elephants")  # not one of the choices: the hint, same question
    assert "Sorry" in call.text and "press a number from 1 to 9" in call.text
    assert intake_of(db).current_field == "concern" and intake_of(db).misses == 1
    call.press("2")  # dark spots
    assert intake_of(db).answers["concern"] == "dark spots"
    call.say("face and neck")  # area, several choices by speech
    for _ in range(5):  # pregnant, isotretinoin, skin infection, keloid, blood thinners: no
        call.press("2")
    assert "remind you" in call.text
    call.say("phone call")
    assert "Last one" in call.text
    call.say("weekday evenings", confidence=0.88)
    assert call.ended and "Thank you, Maria" in call.text and "will be in touch" in call.text
    assert "Reply STOP" not in call.text  # a caller cannot reply to a call

    intake = intake_of(db)
    assert intake.status is IntakeStatus.COMPLETE and intake.channel is Channel.VOICE
    answers = dict(intake.answers)
    consent = answers.pop("consent")
    assert consent["agreed"] is True and consent["channel"] == "voice"
    assert answers == {"first_name": "Maria", "concern": "dark spots", "area": ["face", "neck"], "pregnant": False,
                       "isotretinoin": False, "skin_infection": False, "keloid": False, "blood_thinners": False,
                       "reminder_channel": "voice", "preferred_times": "weekday evenings"}
    assert runtime.schemas["intake"].errors(intake.answers) == []  # the same stored result as by SMS
    assert intake.client.preferred_channel is Channel.VOICE
    event = db.scalar(select(ConsentEvent).where(ConsentEvent.client_id == intake.client_id))
    assert event.method == "voice_intake" and event.wording == consent["wording"]
    # Twilio's speech confidence is kept with each spoken answer.
    spoken = db.scalars(select(InboundMessage).where(InboundMessage.body.in_(["Maria", "weekday evenings"]))
                        .order_by(InboundMessage.id)).all()
    assert [(m.body, m.confidence) for m in spoken] == [("Maria", 0.31), ("weekday evenings", 0.88)]
    notices = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).all()
    assert [n.to_number for n in notices] == ["+12125550199"]  # staff hear of it, as after a texted intake


def test_three_misses_hand_the_caller_to_a_person(client, db, clinic):
    call = Call(client, "CA" + "b" * 32)
    call.start()
    call.press("1")
    call.silence()
    assert "Sorry" in call.text and not call.ended
    call.press("#")
    call.say("@@@")
    assert call.ended and "will call you" in call.text
    intake = intake_of(db)
    assert intake.status is IntakeStatus.NEEDS_HUMAN and intake.current_field == "first_name"
    assert db.scalar(select(func.count()).select_from(InboundMessage)
                     .where(InboundMessage.needs_attention.is_(True))) == 1


def test_a_dropped_call_resumes_by_text_and_a_text_intake_resumes_by_call(client, db, clinic):
    call = Call(client, "CA" + "c" * 32)
    call.start()
    call.press("1")
    call.say("Maria")
    assert intake_of(db).current_field == "concern"
    # The line drops. The caller texts instead: the same intake carries on at the same question.
    reply = text_in(client, "2", "SM" + "1" * 32)
    assert reply.status_code == 200
    intake = intake_of(db)
    assert intake.answers["concern"] == "dark spots" and intake.current_field == "area"
    # ...and calls back later: the phone picks up at the open question, not at the start.
    again = Call(client, "CA" + "d" * 32)
    again.start()
    assert "Which area" in again.text and "Thanks for calling" not in again.text
    again.say("chest")
    assert intake_of(db).answers["area"] == ["chest"]
    assert db.scalar(select(func.count()).select_from(Intake)) == 1


def test_a_retried_step_replays_its_twiml_and_counts_once(client, db, clinic):
    call = Call(client, "CA" + "e" * 32)
    call.start()
    first = call.post_raw(Digits="1")
    second = call.post_raw(Digits="1")
    assert first.get_data() == second.get_data()
    assert intake_of(db).current_field == "first_name" and intake_of(db).misses == 0
    restarted = twilio_post(client, "/twilio/voice", call.form())
    assert db.scalar(select(func.count()).select_from(Intake)) == 1 and restarted.status_code == 200


def test_unknown_clinic_number_gets_an_apology_and_nothing_is_stored(client, db, clinic):
    call = Call(client, "CA" + "f" * 32, to="+12125550177")
    root = parse_twiml(twilio_post(client, "/twilio/voice", call.form()))
    assert "Sorry" in said(root) and gather_of(root) is None and root[-1].tag == "Hangup"
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert db.scalar(select(func.count()).select_from(Client)) == 0


@pytest.mark.parametrize("caller", ["anonymous", "", "+266696687", "Restricted"])
def test_a_withheld_number_is_put_through_to_the_clinic_phone(client, db, clinic, caller):
    clinic.contact_phone = "+12125550123"
    db.commit()
    root = parse_twiml(twilio_post(client, "/twilio/voice", Call(client, "CA" + "1" * 32, caller=caller).form()))
    assert root[-1].tag == "Dial" and root[-1].text == "+12125550123" and "Glow Clinic" in said(root)
    assert not any(el.tag == "Hangup" for el in root)
    assert db.scalar(select(func.count()).select_from(Client)) == 0


@pytest.fixture
def no_clinic_phone(db, clinic):
    clinic.contact_phone = None
    db.commit()
    return clinic


def test_a_withheld_number_without_a_clinic_phone_is_offered_the_intake_by_keypad(client, db, no_clinic_phone):
    call = Call(client, "CA" + "1" * 32, caller="anonymous")
    call.start()
    gather = gather_of(call.root)
    assert gather is not None and gather.get("input") == "dtmf" and gather.get("finishOnKey") == "#"
    assert "type the number we can call or text you on" in call.text and not call.ended
    assert db.scalar(select(func.count()).select_from(Client)) == 0
    call.press("2125550111")  # as people dial it in the clinic's country, without +1
    assert "May Glow Clinic send you automated texts and calls" in call.text
    call.press("1")  # consent, then the name: every later step knows the keyed number
    assert "We will text the number you typed, to check that it is yours" in call.text
    call.say("Maria")
    intake = intake_of(db, "+12125550111")
    assert intake.answers["first_name"] == "Maria" and intake.current_field == "concern"


def test_a_yes_for_a_keyed_number_waits_for_a_yes_by_text_from_that_number(client, db, runtime, no_clinic_phone,
                                                                          fake_twilio):
    from glowline.compliance.consent import ConsentStatus, state_of
    from tests.worker_helpers import work

    call = Call(client, "CA" + "1" * 32, caller="anonymous")
    call.start()
    call.press("2125550111")
    call.press("1")  # the caller's "yes" is not the number's owner's
    intake = intake_of(db, "+12125550111")
    state = state_of(db, intake.client, no_clinic_phone)
    assert state.status is ConsentStatus.REQUESTED and not state.current
    assert "number keyed in on a call" in intake.flags
    work(runtime)  # the one confirmation text goes to the keyed number
    sent = fake_twilio.sent()
    assert [(r.form["To"], "Reply YES to agree" in r.form["Body"]) for r in sent] == [("+12125550111", True)]

    reply = twilio_post(client, "/twilio/sms", {"MessageSid": "SM" + "e" * 32, "From": "+12125550111",
                                                "To": CLINIC_NUMBER, "Body": "YES", "NumMedia": "0"})
    assert reply.status_code == 200 and "you will get texts about your treatment" in reply.get_data(as_text=True)
    db.expire_all()
    state = state_of(db, intake.client, no_clinic_phone)
    assert state.current and state.method == "sms_consent_request"


def test_a_keyed_number_of_a_known_client_hears_nothing_about_them(client, db, runtime, clinic, clock):
    make_plan(db, runtime, clinic, clock, phone=CALLER)
    clinic.contact_phone = None
    db.commit()
    call = Call(client, "CA" + "1" * 32, caller="anonymous")
    call.start()
    call.press("2125550111")  # the planned client's number, typed by whoever is calling
    assert call.ended and "will call you back at that number" in call.text
    assert "appointment" not in call.text.lower() and "December" not in call.text
    step = db.scalar(select(InboundMessage).where(InboundMessage.from_number == CALLER))
    assert step.handled_as == "inbox" and step.needs_attention


@pytest.mark.parametrize("keyed", ["", "123", "5550111", "0000000000"])
def test_a_keyed_number_that_is_not_valid_is_asked_again_then_the_caller_hears_how_to_reach_us(
        client, db, no_clinic_phone, keyed):
    call = Call(client, "CA" + "1" * 32, caller="anonymous")
    call.start()
    call.press(keyed) if keyed else call.silence()
    assert "not a phone number we can use" in call.text and not call.ended
    call.press(keyed) if keyed else call.silence()
    call.press(keyed) if keyed else call.silence()
    assert call.ended and "call again with your number shown, or send us a text" in call.text
    assert db.scalar(select(func.count()).select_from(Client)) == 0


def test_unsigned_call_is_refused(client, db, clinic):
    call = Call(client, "CA" + "2" * 32)
    assert client.post("/twilio/voice", data=call.form()).status_code == 403
    assert twilio_post(client, "/twilio/voice", call.form(), token="forged").status_code == 403
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.fixture
def planned_caller(db, clinic, runtime, clock):
    return make_plan(db, runtime, clinic, clock, phone=CALLER)


@pytest.mark.parametrize("key, status, attention", [("1", SessionStatus.CONFIRMED, False),
                                                    ("2", SessionStatus.CALLBACK_REQUESTED, True)])
def test_a_client_with_a_session_hears_it_and_answers_by_key(client, db, planned_caller, key, status, attention):
    call = Call(client, "CA" + "3" * 32)
    call.start()
    assert "Your next appointment is on Tuesday, December 8 at 10 AM" in call.text
    assert "acne" not in call.text.lower()
    call.press("4")  # not a choice: asked again
    assert "not one of the choices" in call.text
    call.press(key)
    assert call.ended
    db.expire_all()
    session = planned_caller.sessions[0]
    db.refresh(session)
    assert session.status is status
    assert db.scalar(select(func.count()).select_from(InboundMessage)
                     .where(InboundMessage.needs_attention.is_(True))) == (1 if attention else 0)


def test_a_confirmed_caller_hears_what_they_can_still_do(client, db, planned_caller):
    first = Call(client, "CA" + "5" * 32)
    first.start()
    first.press("1")
    again = Call(client, "CA" + "6" * 32)
    again.start()
    assert "It is confirmed. To change it, press 2, and we will call you back." in again.text
    assert "Press 1 to confirm" not in again.text


def test_an_opted_out_caller_may_still_do_the_intake(client, db, clinic, clock):
    db.add(Client(clinic_id=clinic.id, phone=CALLER, opted_out_at=clock.now()))
    db.commit()
    call = Call(client, "CA" + "4" * 32)
    call.start()
    assert "Thanks for calling Glow Clinic" in call.text and not call.ended


def _opted_out(db, phone: str = CALLER) -> bool:
    db.expire_all()
    return db.scalar(select(Client.opted_out_at).where(Client.phone == phone)) is not None


@pytest.mark.parametrize("words", ["stop", "Stop calling me", "please don't call me again", "I revoke my consent"])
def test_stop_on_an_intake_question_opts_out_and_keeps_the_answers(client, db, clinic, words):
    call = Call(client, "CA" + "7" * 32)
    call.start()
    call.press("1")  # consent
    call.say("Maria")
    assert intake_of(db).current_field == "concern"
    call.say(words)
    assert call.ended and "no more calls or texts from Glow Clinic" in call.text
    assert _opted_out(db)
    intake = intake_of(db)
    assert intake.current_field == "concern" and intake.answers["first_name"] == "Maria"  # paused, not destroyed
    event = db.scalars(select(ConsentEvent).where(ConsentEvent.action == "opt_out")).one()
    assert event.method == "voice_speech" and event.wording == words


def test_stop_on_the_first_name_question_is_not_taken_for_a_name(client, db, clinic):
    call = Call(client, "CA" + "8" * 32)
    call.start()
    call.press("1")
    call.say("stop")
    assert call.ended and _opted_out(db) and "first_name" not in (intake_of(db).answers or {})


def test_stop_on_the_session_menu_opts_out_instead_of_asking_again(client, db, planned_caller):
    call = Call(client, "CA" + "9" * 32)
    call.start()
    assert "Press 1 to confirm" in call.text
    call.say("stop")
    assert call.ended and "no more calls or texts" in call.text and "not one of the choices" not in call.text
    assert _opted_out(db)
    session = planned_caller.sessions[0]
    db.refresh(session)
    assert session.status is SessionStatus.SCHEDULED  # the booking stays; only the messages stop
