"""POST /twilio/sms end to end: the intake walked through the real, signed endpoint."""

from __future__ import annotations

from datetime import timedelta
import threading

import pytest
from sqlalchemy import func, select

from glowline.store.models import (Channel, Client, ConsentEvent, InboundMessage, Intake, IntakeStatus, MessageKind,
                             MessageStatus, OutboxMessage, Plan, PlanStatus)
from glowline.intake.engine import build_engine
from tests.conversations import CLIENT, intake_of, sms
from tests.helpers import CLINIC_NUMBER, STAFF_NUMBER, make_clinic, make_plan
from tests.worker_helpers import advance, work



def test_full_intake_with_mistakes_back_restart_stop_start_help(client, runtime, clinic, fake_twilio):
    status, reply = sms(client, "hi there")
    assert status == 200 and "Thanks for texting Glow Clinic" in reply and "Reply YES or NO" in reply

    assert "Please answer yes or no" in sms(client, "maybe?")[1]
    assert "first name" in sms(client, "Yes!")[1]
    assert "start over" in sms(client, "RESTART")[1]
    assert intake_of(runtime).current_field == "consent"
    assert "first name" in sms(client, "y")[1]
    assert "e.g. Maria" in sms(client, "12345")[1]
    reply = sms(client, "my name is maria")[1]
    assert "Nice to meet you, Maria!" in reply and "9 Pigmentation" in reply

    assert "number from 1 to 9, e.g. 3" in sms(client, "42")[1]
    assert "first name" in sms(client, "BACK")[1]
    assert "Nice to meet you, Ana!" in sms(client, "Ana")[1]
    assert "Which area" in sms(client, "1)")[1]

    stopped = sms(client, "Stop texting me!")[1]
    assert "unsubscribed" in stopped
    assert sms(client, "STOP")[1] == ""
    assert sms(client, "face")[1] == ""
    helped = sms(client, "help")[1]
    assert "Glow Clinic" in helped and "(212) 555-0123" in helped and "STOP" in helped
    assert "Which area" not in helped  # an opted-out client gets the HELP answer only
    resumed = sms(client, "START")[1]
    assert "subscribed to messages again" in resumed and "Which area" in resumed

    assert "send a photo of the area" in sms(client, "face and neck")[1]
    assert "pregnant" in sms(client, "skip")[1]
    assert "isotretinoin" in sms(client, "👍")[1]
    for answer in ("no", "N", "nope"):
        sms(client, answer)
    assert "remind you" in sms(client, "yeah")[1]
    assert "which days or times" in sms(client, "2")[1]
    done = sms(client, "weekday evenings")[1]
    assert "Thank you, Ana!" in done and "will text you soon to book" in done

    intake = intake_of(runtime)
    assert intake.status is IntakeStatus.COMPLETE
    runtime.schemas["intake"].check(intake.answers)
    assert intake.answers["concern"] == "acne scars" and intake.answers["area"] == ["face", "neck"]
    assert intake.answers["consent"]["wording"].startswith("May Glow Clinic send you automated texts")
    assert intake.flags == ["screening: pregnant or breastfeeding", "screening: takes blood thinners"]
    with runtime.sessions() as s:
        person = s.scalar(select(Client).where(Client.phone == CLIENT))
        assert person.preferred_channel is Channel.VOICE and person.opted_out_at is None
        actions = s.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all()
        assert actions == ["opt_in", "opt_in", "opt_out", "opt_in"]
        notices = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).all()
    assert [n.to_number for n in notices] == [STAFF_NUMBER]
    body = notices[0].body
    assert f"#{intake.id}" in body and "acne scars" in body and f"PLAN {intake.id} dec 8 10am" in body
    assert "pregnant or breastfeeding" in body and "Ana" not in body and CLIENT not in body
    assert notices[0].from_number == CLINIC_NUMBER and notices[0].status is MessageStatus.QUEUED
    work(runtime)
    delivered = [r.form for r in fake_twilio.sent()]
    assert [(f["To"], f["From"], f["Body"]) for f in delivered] == [(STAFF_NUMBER, CLINIC_NUMBER, body)]

    after = sms(client, "when can I come in?")[1]
    assert "will get back to you" in after
    with runtime.sessions() as s:
        last = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last.needs_attention and last.body == "when can I come in?"


def test_three_misses_hand_the_intake_to_a_person(client, runtime, clinic):
    sms(client, "hello")
    sms(client, "yes")
    sms(client, "Jo")
    for _ in range(2):
        assert "number from 1 to 9" in sms(client, "purple")[1]
    assert "will call you" in sms(client, "purple")[1]
    intake = intake_of(runtime)
    assert intake.status is IntakeStatus.NEEDS_HUMAN and "concern" in intake.flags[-1]
    with runtime.sessions() as s:
        notice = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).one()
    assert "needs a call" in notice.body and f"#{intake.id}" in notice.body


def test_declining_consent_stops_the_questions(client, runtime, clinic):
    sms(client, "hi")
    reply = sms(client, "no")[1]
    assert "won't send you automated messages" in reply and "(212) 555-0123" in reply
    assert intake_of(runtime).status is IntakeStatus.NEEDS_HUMAN


def test_unknown_to_is_404_and_stores_nothing(client, runtime, clinic):
    assert sms(client, "hi", to="+12125550111")[0] == 404
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0
        assert s.scalar(select(func.count()).select_from(Client)) == 0


def test_stop_pauses_without_cancelling_and_confirms_once(client, runtime, clinic, db, clock):
    sms(client, "hi")
    with runtime.sessions() as s:
        person = s.scalar(select(Client).where(Client.phone == CLIENT))
        for status in (MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.SENT):
            s.add(OutboxMessage(clinic_id=clinic.id, client_id=person.id, kind=MessageKind.REMINDER,
                                to_number=CLIENT, from_number=CLINIC_NUMBER, body="see you", due_at=clock.now(),
                                status=status))
        s.commit()
    assert "unsubscribed" in sms(client, "  unsubscribe. ")[1]
    assert sms(client, "STOP")[1] == ""
    assert sms(client, "hello?")[1] == ""
    with runtime.sessions() as s:
        # Suppress, never destroy: the send job suppresses each row that comes due while opted out.
        statuses = sorted(s.scalars(select(OutboxMessage.status)).all())
        assert statuses == sorted([MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.SENT])
        assert s.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.action == "opt_out")) == 1


def test_stop_at_clinic_b_leaves_clinic_a_untouched(client, runtime, clinic, db, clock, fake_twilio):
    other = make_clinic(db, name="Other Spa", number="+12125550177", staff=())
    plan = make_plan(db, runtime, clinic, clock, phone=CLIENT, days=3, schedule=True)
    reply = sms(client, "STOP", to=other.numbers[0].number)[1]
    assert "no more messages from Other Spa" in reply
    with runtime.sessions() as s:
        rows = {c.clinic_id: c for c in s.scalars(select(Client).where(Client.phone == CLIENT))}
        assert rows[other.id].opted_out and not rows[clinic.id].opted_out
    advance(runtime, clock, timedelta(days=3))
    with runtime.sessions() as s:
        statuses = set(s.scalars(select(OutboxMessage.status).where(OutboxMessage.plan_id == plan.id,
                                                                    OutboxMessage.due_at <= clock.now())))
        assert MessageStatus.SUPPRESSED not in statuses and MessageStatus.SENT in statuses
    # Clinic A's texts still flow; its client is asked nothing about clinic B's answers.
    assert any(r.form["From"] == CLINIC_NUMBER and r.form["To"] == CLIENT for r in fake_twilio.sent())


def test_non_staff_plan_text_is_just_a_client(client, runtime, clinic):
    reply = sms(client, "PLAN 1 dec 3 10am")[1]
    assert "Thanks for texting Glow Clinic" in reply


def test_media_only_message_reasks_without_counting_a_miss(client, runtime, clinic):
    sms(client, "hi")
    url = f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '0' * 32}/Messages/{'MM' + 'b' * 32}/Media/{'ME' + 'c' * 32}"
    reply = sms(client, "", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")[1]
    assert "Thank you for the photo!" in reply and "Reply YES or NO" in reply
    assert intake_of(runtime).misses == 0


def test_a_media_url_not_in_twilios_form_is_refused(client, runtime, clinic):
    status, _ = sms(client, "", NumMedia="1", MediaUrl0="https://evil.example/x.jpg")
    assert status == 400


def test_same_sid_three_times_changes_state_once_and_replays_the_reply(client, runtime, clinic):
    sms(client, "hi")
    replies = {sms(client, "yes", sid="SM" + "a" * 32)[1] for _ in range(3)}
    assert len(replies) == 1 and "first name" in replies.pop()
    intake = intake_of(runtime)
    assert intake.current_field == "first_name" and intake.misses == 0
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConsentEvent)) == 1
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2


def test_same_sid_ten_times_concurrently(app, runtime, clinic):
    sms(app.test_client(), "hi")
    sms(app.test_client(), "yes")
    results: list = []
    barrier = threading.Barrier(10)

    def post():
        barrier.wait()
        results.append(sms(app.test_client(), "Maria", sid="SM" + "b" * 32))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 10 and len(set(results)) == 1
    status, reply = results[0]
    assert status == 200 and "Nice to meet you, Maria!" in reply
    intake = intake_of(runtime)
    assert intake.answers["first_name"] == "Maria" and intake.current_field == "concern"
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 3


def test_two_answers_from_one_client_at_once_are_both_taken_in_turn(app, runtime, clinic):
    sms(app.test_client(), "hi")
    sms(app.test_client(), "yes")
    barrier = threading.Barrier(2)

    def post(body: str, sid: str):
        barrier.wait()
        sms(app.test_client(), body, sid=sid)

    threads = [threading.Thread(target=post, args=(body, "SM" + ch * 32)) for body, ch in (("Maria", "d"), ("Ana", "e"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One answered the name; the other, read after it, was a miss at the next question. Had both read the
    # same intake, the second would have overwritten the first name and no miss would be counted.
    intake = intake_of(runtime)
    assert intake.answers["first_name"] in ("Maria", "Ana")
    assert intake.current_field == "concern" and intake.misses == 1


def test_a_text_whose_handling_fails_is_kept_for_the_inbox_and_what_it_changed_is_undone(client, runtime, clinic,
                                                                                         monkeypatch):
    from glowline.intake import router

    sms(client, "hi")

    def broken(msg):
        msg.client.language = "es"  # a change the failure must not leave behind
        raise RuntimeError("handler bug")

    monkeypatch.setattr(router, "HANDLERS", (broken,))
    first = sms(client, "yes", sid="SM" + "c" * 32)
    assert first == (200, "")
    assert sms(client, "yes", sid="SM" + "c" * 32) == first  # a repeat gets the same (empty) reply
    with runtime.sessions() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.sid == "SM" + "c" * 32))
        assert row.handled_as == "error" and row.needs_attention and row.body == "yes"
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2
        assert s.scalar(select(Client.language).where(Client.phone == CLIENT)) is None
    assert intake_of(runtime).current_field == "consent"


@pytest.mark.parametrize("body", ["STOP", "stop.", "Stop!", "OPT OUT", "quit", "End", "cancel"])
def test_opt_out_words_mid_intake(client, runtime, clinic, body):
    sms(client, "hi")
    assert "unsubscribed" in sms(client, body)[1]
    with runtime.sessions() as s:
        assert s.scalar(select(Client.opted_out_at).where(Client.phone == CLIENT)) is not None


def finish_intake(client):
    for body in ("hi", "yes", "Ana", "2", "1", "skip", "no", "no", "no", "no", "no", "1", "mornings"):
        _status, reply = sms(client, body)
    assert "will text you soon to book" in reply


def test_staff_plan_reply_starts_a_plan_and_the_client_can_confirm(client, runtime, clinic, fake_twilio):
    finish_intake(client)
    intake = intake_of(runtime)
    with runtime.sessions() as s:
        notice = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).one()
    command = notice.body.split("reply: ")[1]
    protocol = runtime.catalog.for_condition(intake.answers["concern"])
    # A week after the test clock's Dec 1, with the client's own protocol's sessions and spacing.
    assert command == (f"PLAN {intake.id} dec 8 10am x{protocol.sessions.default} "
                       f"every {protocol.interval_weeks.default}w")
    status, reply = sms(client, command, sender=STAFF_NUMBER)
    assert status == 200 and "Not started" not in reply and "Thanks for texting" not in reply
    with runtime.sessions() as s:
        plan = s.scalar(select(Plan).where(Plan.intake_id == intake.id))
        assert plan is not None and plan.status is PlanStatus.ACTIVE
        handled = s.scalars(select(InboundMessage.handled_as).order_by(InboundMessage.id.desc())).first()
    assert handled == "staff_command"
    # With a plan, the client's texts go to the plan replies, not to a new questionnaire.
    assert "confirmed" in sms(client, "C")[1]
    assert "will get back to you" in sms(client, "can I bring my sister?")[1]


def test_plan_from_a_staff_phone_of_another_clinic_is_not_a_command(client, runtime, clinic, db):
    make_clinic(db, name="Other Spa", number="+12125550177", staff=("+12125550166",))
    reply = sms(client, "PLAN 1 dec 3 10am", sender="+12125550166")[1]
    assert "Thanks for texting Glow Clinic" in reply


def test_help_at_each_intake_question_gives_the_clinic_and_the_same_question(client, runtime, clinic, fake_twilio):
    sms(client, "hi")
    answers = {"consent": "yes", "first_name": "Kim", "concern": "1", "area": "1", "reminder_channel": "1",
               "preferred_times": "mornings"}
    while (field := intake_of(runtime).current_field) is not None:
        helped = sms(client, "HELP")[1]
        assert "Glow Clinic" in helped and "(212) 555-0123" in helped, field
        with runtime.sessions() as s:
            intake = s.get(Intake, intake_of(runtime).id)
            asked = build_engine(runtime).current(s, intake=intake, channel="sms").messages[-1]
        assert helped.endswith(asked) and intake_of(runtime).current_field == field
        sms(client, answers.get(field, "no"))
