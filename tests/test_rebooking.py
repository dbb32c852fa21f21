"""Clients rebook by text: R, three open times, a pick by number, checked again, confirmed, in the history."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from glowline.clinics.hours import set_calendar
from glowline.plans import rebooking
from glowline.plans.attendance import mark_no_show
from glowline.store.models import (AuditEvent, Client, MessageKind, OutboxMessage, Plan, SessionStatus, SlotOffer,
                                   SlotOfferStatus, TreatmentSession)
from tests.helpers import CLIENT_NUMBER, CLINIC_NUMBER, STAFF_NUMBER, make_client, start_plan, twilio_post

NY = ZoneInfo("America/New_York")
_sids = count(1)


def text(http, body, sender=CLIENT_NUMBER):
    params = {"MessageSid": f"SM{next(_sids) + 5000:032d}", "From": sender, "To": CLINIC_NUMBER, "Body": body,
              "NumMedia": "0", "AccountSid": "AC" + "0" * 32}
    response = twilio_post(http, "/twilio/sms", params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def hours(db, clinic):
    set_calendar(db, clinic, hours="mon-fri 09:00-17:00", capacity=1, closed=["2026-12-15"])
    db.commit()
    return clinic


@pytest.fixture
def plan(runtime, db, hours, clock):
    # Skin rejuvenation (6-8 weeks apart), 3 sessions from Thu Dec 10 10:00; session 2 on Thu Jan 21.
    return start_plan(runtime, db, hours, make_client(db), clock, days=9, sessions=3)


def test_r_pick_2_confirmed_through_the_signed_webhook(client, db, runtime, plan, clock):
    offer = text(client, "R")
    # Session 1 may move as far as session 2's spacing allows (6-8 weeks before Thu Jan 21), from tomorrow.
    assert ("Reply 1 for Wed Dec 2 9:00 AM, 2 for Thu Dec 3 9:00 AM, 3 for Fri Dec 4 9:00 AM, "
            "or 0 and we'll call you.") in offer
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.CALLBACK_REQUESTED
    answer = text(client, "2")
    assert "you are booked for Thu Dec 3 9:00 AM" in answer
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.starts_at == datetime(2026, 12, 3, 9, tzinfo=NY) and first.status is SessionStatus.CONFIRMED
    [made] = db.scalars(select(SlotOffer)).all()
    assert made.status is SlotOfferStatus.BOOKED
    moved = db.scalars(select(AuditEvent).where(AuditEvent.action == "session_moved")).one()
    assert moved.actor.startswith("client #") and moved.details["new_start"].startswith("2026-12-03T14:00")
    history = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.plan_id == plan.id)
                                            .order_by(AuditEvent.id))]
    assert history == ["plan_started", "session_held", "times_offered", "session_moved"]
    # The answer is the confirmation: no second "your appointment moved" text.
    assert db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.SESSION_MOVED)).all() == []
    # Reminders for the new time are live again (not held).
    reminders = db.scalars(select(OutboxMessage).where(OutboxMessage.session_id == first.id,
                                                       OutboxMessage.kind == MessageKind.REMINDER)).all()
    assert any("Thu Dec 3 at 9:00 AM" in r.body and r.status.value in ("pending", "queued") for r in reminders)
    # A later "2" is an ordinary message again.
    assert "we got your message" in text(client, "2")


def test_a_slot_taken_meanwhile_gets_fresh_options(client, db, runtime, plan, clock):
    text(client, "R")
    [made] = db.scalars(select(SlotOffer)).all()
    taken = datetime.fromisoformat(made.slots[1])
    other = make_client(db, phone="+12125550177")
    rival = start_plan(runtime, db, plan.clinic, other, clock, days=30, sessions=3)
    db.get(TreatmentSession, rival.sessions[0].id).starts_at = taken
    db.commit()
    answer = text(client, "2")
    assert "sorry, that time was just taken" in answer and "Reply 1 for" in answer
    assert "Thu Dec 3 9:00 AM" not in answer
    db.expire_all()
    assert db.get(Plan, plan.id).sessions[0].starts_at == datetime(2026, 12, 10, 10, tzinfo=NY)
    statuses = sorted(o.status.value for o in db.scalars(select(SlotOffer)))
    assert statuses == ["open", "replaced"]


def test_zero_asks_for_a_call_and_staff_are_told(client, db, runtime, plan):
    text(client, "R")
    assert "we will call you" in text(client, "0")
    notices = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE,
                                                     OutboxMessage.to_number == STAFF_NUMBER)).all()
    assert any("asked for a call" in n.body for n in notices)
    assert db.scalars(select(SlotOffer)).one().status is SlotOfferStatus.CALL_BACK


def test_without_opening_hours_r_works_as_before(client, db, runtime, clinic, clock):
    start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)
    assert "we will call you to find a new time" in text(client, "R")
    assert db.scalars(select(SlotOffer)).all() == []


def test_a_no_show_is_offered_times_inside_the_protocol_interval(db, runtime, plan, clock):
    last = plan.sessions[2]
    clock.set(last.starts_at + timedelta(minutes=30))
    mark_no_show(db, runtime, db.get(Plan, plan.id), 3, actor="staff:test", now=clock.now())
    db.commit()
    [missed] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.MISSED_SESSION)).all()
    assert "we missed you" in missed.body and "Reply 1 for" in missed.body
    [made] = db.scalars(select(SlotOffer)).all()
    previous = plan.sessions[1].starts_at.astimezone(NY).date()
    assert len(made.slots) == 3
    for start in rebooking.offered_times(made):
        gap = (start.astimezone(NY).date() - previous).days
        assert 42 <= gap <= 56 and start > clock.now()


def test_two_clients_picking_the_last_slot_at_once_one_books_one_is_reoffered(runtime, db, hours, clock):
    if runtime.config.database_url.startswith("sqlite"):
        pytest.skip("the row lock is PostgreSQL's; run with TEST_DATABASE_URL")
    plans = [start_plan(runtime, db, hours, make_client(db, phone=phone), clock, days=9, sessions=3)
             for phone in ("+12125550161", "+12125550162")]
    slot = datetime(2026, 12, 3, 9, tzinfo=NY)
    offers = []
    for made_plan in plans:
        made = SlotOffer(clinic_id=hours.id, client_id=made_plan.client_id, plan_id=made_plan.id,
                         session_id=made_plan.sessions[0].id, slots=[slot.isoformat()], created_at=clock.now())
        db.add(made)
        offers.append(made)
    db.commit()
    ids = [o.id for o in offers]
    barrier = threading.Barrier(2)
    answers: dict[int, list[str]] = {}

    def answer(offer_id):
        with runtime.sessions() as session:
            found = session.get(SlotOffer, offer_id)
            barrier.wait()
            answers[offer_id] = rebooking.pick(session, runtime, found, "1", now=clock.now())
            session.commit()

    threads = [threading.Thread(target=answer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    texts = [answers[i][0] for i in ids]
    assert sum("you are booked for Thu Dec 3 9:00 AM" in t for t in texts) == 1
    assert sum("sorry, that time was just taken" in t for t in texts) == 1
    db.expire_all()
    at_slot = db.scalars(select(TreatmentSession).where(TreatmentSession.starts_at == slot)).all()
    assert len(at_slot) == 1
    assert db.scalar(select(Client.id).where(Client.phone == "+12125550161")) is not None


def test_staff_page_sets_opening_hours_and_capacity(client, db, clinic):
    import re

    from glowline.clinics.hours import describe_calendar
    from glowline.clinics.service import add_staff_user

    add_staff_user(db, clinic, "ana", "a long enough password")
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"username": "ana", "password": "a long enough password", "csrf_token": token})
    page = client.get("/staff/hours").get_data(as_text=True)
    assert "staff call the client back" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post("/staff/hours", data={"hours": "mon 17:00-09:00", "capacity": "2", "csrf_token": token},
                      follow_redirects=True).get_data(as_text=True)
    assert "closes before it opens" in bad
    saved = client.post("/staff/hours", follow_redirects=True, data={
        "hours": "mon-fri 09:00-17:00", "capacity": "2", "closed": "2026-12-25\n2027-01-01", "csrf_token": token,
        "require_attended": "1"}).get_data(as_text=True)
    assert "Opening hours saved." in saved
    db.expire_all()
    assert describe_calendar(db, clinic)["closed"] == ["2026-12-25", "2027-01-01"]
    assert describe_calendar(db, clinic)["capacity"] == 2 and clinic.require_attended is True
    assert rebooking.enabled(db, clinic)


def test_reminder_call_press_2_then_2_books_by_keypad(client, db, runtime, hours, clock):
    from glowline.store.models import Channel, MessageStatus
    from tests.helpers import PUBLIC_BASE_URL, gather_of, make_plan, parse_twiml, said

    plan = make_plan(db, runtime, hours, clock, phone="+12125550111", channel=Channel.VOICE, days=9)
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                     OutboxMessage.kind == MessageKind.REMINDER)
                         .order_by(OutboxMessage.due_at)).first()
    message.status, message.provider_sid = MessageStatus.SENT, "CA" + "7" * 32
    db.commit()
    form = {"CallSid": message.provider_sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER,
            "To": message.to_number, "CallStatus": "in-progress", "Direction": "outbound-api"}
    twilio_post(client, f"/twilio/voice/reminder?message_id={message.id}", form)
    offered = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/gather?message_id={message.id}&attempt=1",
                                      dict(form, Digits="2")))
    words = said(offered)
    # The same three times a text would offer (acne scarring: 4-6 weeks before session 2).
    assert "Press 1 for Wednesday, December 2 at 9 AM" in words
    assert "Press 2 for Thursday, December 3 at 9 AM" in words and "press 0" in words
    action = gather_of(offered).get("action")
    assert action == f"{PUBLIC_BASE_URL}/twilio/voice/reminder/rebook?message_id={message.id}&attempt=1"
    booked = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/rebook?message_id={message.id}&attempt=1",
                                     dict(form, Digits="2")))
    assert "You are booked for Thursday, December 3 at 9 AM" in said(booked)
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.starts_at == datetime(2026, 12, 3, 9, tzinfo=NY) and first.status is SessionStatus.CONFIRMED
    # A retried request replays the same answer and books nothing twice.
    again = twilio_post(client, f"/twilio/voice/reminder/rebook?message_id={message.id}&attempt=1",
                        dict(form, Digits="2"))
    assert "You are booked for Thursday, December 3 at 9 AM" in said(parse_twiml(again))
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "session_moved")).all().__len__() == 1


def test_an_offer_goes_stale_when_staff_move_the_session_or_cancel_the_plan(client, db, runtime, plan, clock):
    from glowline.plans.service import cancel_plan, move_session

    text(client, "R")
    db.expire_all()  # the webhook changed the session in its own transaction
    move_session(db, db.get(Plan, plan.id), 1, datetime(2026, 12, 9, 11, tzinfo=NY), shift_later=False,
                 actor="staff:test", now=clock.now(), catalog=runtime.catalog, links=runtime.links, confirm=True)
    db.commit()
    assert "we got your message" in text(client, "2")
    db.expire_all()
    assert db.get(Plan, plan.id).sessions[0].starts_at == datetime(2026, 12, 9, 11, tzinfo=NY)
    text(client, "R")
    db.expire_all()
    cancel_plan(db, db.get(Plan, plan.id), actor="staff:test", now=clock.now())
    db.commit()
    text(client, "1")
    db.expire_all()
    assert db.get(Plan, plan.id).sessions[0].starts_at == datetime(2026, 12, 9, 11, tzinfo=NY)
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "session_moved")).all().__len__() == 1


def test_a_voice_preferring_client_who_missed_a_visit_is_called_and_rebooks_by_keypad(client, db, runtime, hours,
                                                                                     clock):
    from glowline.store.models import Channel, MessageStatus
    from tests.helpers import make_plan, parse_twiml, said

    plan = make_plan(db, runtime, hours, clock, phone="+12125550111", channel=Channel.VOICE, days=9)
    last = plan.sessions[-1]
    clock.set(last.starts_at + timedelta(minutes=30))
    mark_no_show(db, runtime, db.get(Plan, plan.id), last.number, actor="staff:test", now=clock.now())
    db.commit()
    [missed] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.MISSED_SESSION)).all()
    assert missed.channel is Channel.VOICE
    missed.status, missed.provider_sid = MessageStatus.SENT, "CA" + "8" * 32
    db.commit()
    form = {"CallSid": missed.provider_sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER,
            "To": missed.to_number, "CallStatus": "in-progress", "Direction": "outbound-api"}
    offered = said(parse_twiml(twilio_post(client, f"/twilio/voice/reminder?message_id={missed.id}", form)))
    assert "We missed you at your appointment on" in offered and "Press 1 for" in offered
    [made] = db.scalars(select(SlotOffer)).all()
    booked = said(parse_twiml(twilio_post(client, f"/twilio/voice/reminder/rebook?message_id={missed.id}&attempt=1",
                                          dict(form, Digits="1"))))
    assert "You are booked for" in booked
    db.expire_all()
    session = db.get(TreatmentSession, last.id)
    assert session.starts_at == rebooking.offered_times(made)[0] and session.status is SessionStatus.CONFIRMED


def test_an_r_lands_in_the_inbox_and_the_day_view_data_says_so(client, db, runtime, plan, clock):
    from glowline.store.models import InboundMessage

    text(client, "R")
    row = db.scalars(select(InboundMessage).where(InboundMessage.body == "R")).one()
    assert row.needs_attention and row.handled_as == "reschedule_request"
    db.expire_all()
    sessions = db.get(Plan, plan.id).sessions
    states = rebooking.rebook_states(db, plan.clinic, [s.id for s in sessions])
    assert states == {sessions[0].id: rebooking.RebookState.ASKED}
    # A confirmation is not something staff need to act on.
    text(client, "C")
    assert not db.scalars(select(InboundMessage).where(InboundMessage.body == "C")).one().needs_attention


def test_without_opening_hours_an_r_still_tells_staff_and_lands_in_the_inbox(client, db, runtime, clinic, clock):
    from glowline.store.models import InboundMessage

    start_plan(runtime, db, clinic, make_client(db), clock, days=9, sessions=3)
    text(client, "R")
    assert db.scalars(select(InboundMessage).where(InboundMessage.body == "R")).one().needs_attention
    notices = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.STAFF_NOTICE)).all()
    assert any("asked to reschedule" in n.body for n in notices)


def test_a_no_show_offered_times_shows_as_rebooking_offered(db, runtime, plan, clock):
    last = plan.sessions[2]
    clock.set(last.starts_at + timedelta(minutes=30))
    mark_no_show(db, runtime, db.get(Plan, plan.id), 3, actor="staff:test", now=clock.now())
    db.commit()
    states = rebooking.rebook_states(db, plan.clinic, [s.id for s in plan.sessions])
    assert states == {last.id: rebooking.RebookState.OFFERED}


def test_an_incoming_call_press_2_offers_times_by_keypad_and_holds_the_reminders(client, db, runtime, hours, clock):
    from glowline.store.models import Channel, InboundMessage, MessageStatus
    from tests.conversations import Call

    plan = make_plan_for_caller(db, runtime, hours, clock)
    call = Call(client, "CA" + "5" * 32, caller="+12125550111")
    call.start()
    assert "Your next appointment is on" in call.text
    call.press("2")
    # The same three times a text R or a reminder call's "press 2" offers.
    assert "Press 1 for Wednesday, December 2 at 9 AM" in call.text
    assert "Press 2 for Thursday, December 3 at 9 AM" in call.text and "press 0" in call.text
    assert call.action.endswith(f"/twilio/voice/rebook?step=1&session_id={plan.sessions[0].id}")
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.CALLBACK_REQUESTED
    reminders = db.scalars(select(OutboxMessage).where(OutboxMessage.session_id == first.id,
                                                       OutboxMessage.kind == MessageKind.REMINDER)).all()
    assert reminders and all(r.status is MessageStatus.HELD for r in reminders if r.due_at > clock.now())
    assert db.scalars(select(InboundMessage).where(InboundMessage.handled_as == "rebook_offer")).one().needs_attention
    call.press("2")
    assert "You are booked for Thursday, December 3 at 9 AM" in call.text and call.ended
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.starts_at == datetime(2026, 12, 3, 9, tzinfo=NY) and first.status is SessionStatus.CONFIRMED
    assert first.plan.client.preferred_channel is Channel.VOICE


def test_an_incoming_call_press_2_without_opening_hours_holds_the_reminders(client, db, runtime, clinic, clock):
    from glowline.store.models import MessageStatus
    from tests.conversations import Call

    plan = make_plan_for_caller(db, runtime, clinic, clock)
    call = Call(client, "CA" + "6" * 32, caller="+12125550111")
    call.start()
    call.press("2")
    assert "call you back" in call.text and call.ended
    db.expire_all()
    first = db.get(Plan, plan.id).sessions[0]
    assert first.status is SessionStatus.CALLBACK_REQUESTED
    reminders = db.scalars(select(OutboxMessage).where(OutboxMessage.session_id == first.id,
                                                       OutboxMessage.kind == MessageKind.REMINDER)).all()
    assert reminders and all(r.status is MessageStatus.HELD for r in reminders if r.due_at > clock.now())
    assert db.scalars(select(SlotOffer)).all() == []


def make_plan_for_caller(db, runtime, clinic, clock):
    from glowline.store.models import Channel
    from tests.helpers import make_plan

    return make_plan(db, runtime, clinic, clock, phone="+12125550111", channel=Channel.VOICE, days=9)


def test_stop_on_the_keypad_rebooking_menu_opts_out(client, db, runtime, hours, clock):
    from glowline.store.models import Channel, ConsentEvent, MessageStatus
    from tests.helpers import make_plan, parse_twiml, said

    plan = make_plan(db, runtime, hours, clock, phone="+12125550111", channel=Channel.VOICE, days=9)
    last = plan.sessions[-1]
    clock.set(last.starts_at + timedelta(minutes=30))
    mark_no_show(db, runtime, db.get(Plan, plan.id), last.number, actor="staff:test", now=clock.now())
    db.commit()
    [missed] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.MISSED_SESSION)).all()
    missed.status, missed.provider_sid = MessageStatus.SENT, "CA" + "7" * 32
    db.commit()
    form = {"CallSid": missed.provider_sid, "AccountSid": "AC" + "0" * 32, "From": CLINIC_NUMBER,
            "To": missed.to_number, "CallStatus": "in-progress", "Direction": "outbound-api"}
    twilio_post(client, f"/twilio/voice/reminder?message_id={missed.id}", form)
    answer = parse_twiml(twilio_post(client, f"/twilio/voice/reminder/rebook?message_id={missed.id}&attempt=1",
                                     dict(form, SpeechResult="stop", Confidence="0.9")))
    assert "no more calls or texts" in said(answer) and answer[-1].tag == "Hangup"
    db.expire_all()
    assert db.get(Client, missed.client_id).opted_out
    assert db.scalars(select(ConsentEvent).where(ConsentEvent.action == "opt_out")).one().method == "voice_speech"
    assert db.scalars(select(SlotOffer)).one().status is SlotOfferStatus.OPEN  # nothing booked by the word "stop"
