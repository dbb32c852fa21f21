"""The client's own time zone: guessed from the number, asked once, then quiet hours and texts in it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from glowline.clinics.zones import guess_zone, zone_for_place
from glowline.messages.dates import format_session_time, same_clock
from glowline.plans.timeline import MessageSettings, build_timeline, evening_allows, in_quiet_hours, next_allowed_time
from glowline.store.models import Client, MessageKind, OutboxMessage
from tests.helpers import STAFF_NUMBER
from tests.conversations import intake_of, sms
from tests.test_timeline import CATALOG

HAWAII = "+18085550142"
HONOLULU = ZoneInfo("Pacific/Honolulu")
ENGLISH_ANSWERS = ["yes", "Kai", "1", "1", "skip", "no", "no", "no", "no", "no", "1", "weekday mornings"]


def client_row(runtime, phone):
    with runtime.sessions() as s:
        return s.scalar(select(Client).where(Client.phone == phone))


def walk_intake(client, phone, answers=ENGLISH_ANSWERS, first="hi"):
    sms(client, first, sender=phone)
    reply = ""
    for answer in answers:
        reply = sms(client, answer, sender=phone)[1]
    return reply


@pytest.mark.parametrize(("phone", "clinic_zone", "guess"), [
    ("+18085550142", "America/New_York", "Pacific/Honolulu"),
    ("+13105550142", "America/New_York", "America/Los_Angeles"),
    ("+12125550142", "America/New_York", None),  # the clinic's own zone: nothing to ask
    ("+13135550142", "America/New_York", None),  # Detroit keeps New York's clock all year
    ("+61412345678", "Australia/Sydney", None),  # an Australian mobile names eight zones: no guess
    ("+15555550142", "America/New_York", None),
])
def test_the_number_gives_a_guess_only_when_unambiguous_and_different(phone, clinic_zone, guess):
    assert guess_zone(phone, clinic_zone) == guess


@pytest.mark.parametrize(("said", "zone"), [
    ("Honolulu", "Pacific/Honolulu"), ("I'm in Miami, FL", "America/New_York"), ("Texas", "America/Chicago"),
    ("estoy en San Antonio", "America/Chicago"), ("Pacific", "America/Los_Angeles"),
    ("hora del Pacífico", "America/Los_Angeles"), ("Phoenix AZ", "America/Phoenix"), ("the moon", None), ("", None),
])
def test_a_city_state_or_zone_name_resolves_to_a_zone(said, zone):
    assert zone_for_place(said, "es") == zone


def test_a_hawaii_client_at_a_new_york_clinic_confirms_and_is_texted_in_hawaii_time(client, runtime, clinic,
                                                                                  fake_twilio, clock):
    asked = walk_intake(client, HAWAII)
    assert "are you in Hawaii-Aleutian Time? Reply YES, or tell us your city" in asked
    assert client_row(runtime, HAWAII).timezone_confirmed_at is None
    done = sms(client, "yes", sender=HAWAII)[1]
    assert "time your texts for Hawaii-Aleutian Time" in done and "Thank you, Kai!" in done
    person = client_row(runtime, HAWAII)
    assert person.timezone == "Pacific/Honolulu" and person.timezone_confirmed_at is not None
    intake = intake_of(runtime, HAWAII)
    assert "timezone" not in intake.answers
    # It is 10:00 in New York and 05:00 in Honolulu: the plan confirmation waits for 08:00 there.
    reply = sms(client, f"PLAN {intake.id} dec 8 10am", sender=STAFF_NUMBER)[1]
    assert "Plan" in reply
    with runtime.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.client_id == person.id)).all()
    confirmation = next(r for r in rows if r.kind is MessageKind.PLAN_CONFIRMATION)
    assert confirmation.due_at.astimezone(HONOLULU).hour == 8 and confirmation.due_at > clock.now()
    for row in rows:
        local = row.due_at.astimezone(HONOLULU).time()
        evening = row.kind is MessageKind.AFTERCARE and local < time(21)
        assert time(8) <= local < time(20) or evening, (row.kind, local)
    reminder = next(r for r in rows if r.kind is MessageKind.REMINDER)
    # The visit is in New York: its clinic time, with the zone named.
    assert "10:00 AM Eastern" in reminder.body


def test_a_city_answer_corrects_the_guess_and_no_then_city_asks_which_city(client, runtime, clinic, fake_twilio):
    walk_intake(client, HAWAII)
    assert "Which city are you in?" in sms(client, "no", sender=HAWAII)[1]
    done = sms(client, "Los Angeles", sender=HAWAII)[1]
    assert "Pacific Time" in done
    assert client_row(runtime, HAWAII).timezone == "America/Los_Angeles"
    # Travelling clients said so once: the next intake does not ask again.
    second = walk_intake(client, HAWAII, first="RESTART")
    assert "Thank you, Kai!" in second and "are you in" not in second


def test_a_city_in_the_clinics_zone_keeps_the_clinics_clock(client, runtime, clinic, fake_twilio):
    walk_intake(client, HAWAII)
    sms(client, "New York", sender=HAWAII)
    person = client_row(runtime, HAWAII)
    assert person.timezone is None and person.timezone_confirmed_at is not None


def test_the_zone_question_is_asked_in_spanish_and_back_returns_to_the_last_question(client, runtime, clinic,
                                                                                   fake_twilio):
    answers = ["sí", "Kai", "1", "1", "omitir", "no", "no", "no", "no", "no", "1", "sábados"]
    asked = walk_intake(client, HAWAII, answers, first="hola")
    assert "¿está en la hora de Hawái-Aleutianas? Responda SÍ, o escriba su ciudad" in asked
    assert "¿qué días u horas" in sms(client, "atrás", sender=HAWAII)[1]
    assert "Una cosa más" in sms(client, "sábados", sender=HAWAII)[1]
    assert "hora de Hawái-Aleutianas" in sms(client, "sí", sender=HAWAII)[1]


def test_a_session_is_told_on_the_clinics_clock_with_the_zone_named_when_the_client_is_elsewhere():
    when = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)
    assert format_session_time(when, "America/New_York", "Pacific/Honolulu") == "10:00 AM Eastern"
    assert format_session_time(when, "America/New_York", "America/Detroit") == "10:00 AM"
    assert format_session_time(when, "America/New_York", None) == "10:00 AM"
    assert format_session_time(when, "America/New_York", "Pacific/Honolulu", "es") == "10:00 a. m. (hora oriental)"


# Every zone the tz database knows, so half-hour and 45-minute offsets, the date line and
# southern-hemisphere DST all meet every clinic zone.
ALL_ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


@hsettings(max_examples=200, deadline=None)
@given(clinic_tz=st.sampled_from(ALL_ZONES), client_tz=st.sampled_from(ALL_ZONES),
       protocol=st.sampled_from(list(CATALOG)),
       day=st.dates(min_value=datetime(2026, 1, 1).date(), max_value=datetime(2028, 12, 31).date()),
       hour=st.integers(8, 19), minute=st.sampled_from([0, 15, 30, 45]), now_offset=st.integers(0, 24 * 60))
def test_property_no_text_lands_in_the_clients_quiet_hours_whatever_the_two_zones(
        clinic_tz, client_tz, protocol, day, hour, minute, now_offset):
    settings = MessageSettings("Glow Clinic", "+12125550123", clinic_tz)
    first = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(clinic_tz))
    timeline = build_timeline(protocol, first, settings, client_timezone=client_tz)
    quiet = (settings.quiet_start, settings.quiet_end)
    for message in timeline.messages:
        evening = message.kind == "aftercare" and evening_allows(message.due_at, client_tz, settings.quiet_start,
                                                               settings.aftercare_evening_until)
        assert evening or not in_quiet_hours(message.due_at, client_tz, *quiet), message
        if message.kind == "reminder" and not same_clock(clinic_tz, client_tz):
            assert format_session_time(first, clinic_tz, client_tz) in message.body or message.session_number > 1
    # A text due "now" (a plan confirmation, a move, a staff reply) waits for the client's morning.
    now = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(minutes=now_offset)
    due = next_allowed_time(now, client_tz, *quiet)
    assert due >= now and not in_quiet_hours(due, client_tz, *quiet)


def test_spoken_and_offered_times_are_on_the_clinics_clock_with_its_zone_named():
    from glowline.messages.dates import spoken_session_moment
    from glowline.plans.rebooking import describe

    when = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)
    assert spoken_session_moment(when, "America/New_York", "Pacific/Honolulu") == (
        "Thursday, December 3 at 10 AM, Eastern Time")
    assert spoken_session_moment(when, "America/New_York", "America/Detroit") == "Thursday, December 3 at 10 AM"
    assert spoken_session_moment(when, "America/New_York", "Pacific/Honolulu", "es").endswith(
        "10 de la mañana, hora oriental")
    assert describe(when, "America/New_York", "en", "Pacific/Honolulu") == "Thu Dec 3 10:00 AM Eastern"
    assert describe(when, "America/New_York", "en", None) == "Thu Dec 3 10:00 AM"


def test_a_client_elsewhere_who_calls_hears_the_session_on_the_clinics_clock(client, db, runtime, clinic, clock):
    from tests.helpers import make_plan
    from tests.conversations import Call

    plan = make_plan(db, runtime, clinic, clock, phone=HAWAII)
    plan.client.timezone = "Pacific/Honolulu"
    db.commit()
    call = Call(client, "CA" + "5" * 32, caller=HAWAII)
    call.start()
    # 10 AM in New York is 5 AM in Honolulu: the visit is in New York, so its clock, named.
    assert "Your next appointment is on Tuesday, December 8 at 10 AM, Eastern Time" in call.text
