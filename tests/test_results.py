"""Clinic results against a hand-computed fixture: four plans over three weeks of October 2026 (the third empty).

Every number below was worked out by hand from the rows in ``october``; the fixture's comments
say which row makes which figure. The clinic is in New York (EDT, UTC-4): 14:00Z is 10 am local.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from glowline.exceptions import ValidationError
from glowline.results import report
from glowline.results.periods import PeriodKind, cut
from glowline.results.report import Request
from glowline.store.models import (AuditEvent, Channel, ConsentEvent, Intake, IntakeStatus, MessageKind,
                                   MessageStatus, OutboxMessage, Plan, PlanStatus, SessionStatus, TreatmentSession)
from tests.helpers import make_client, make_clinic

PRICE = 0.01
OCT = Request(clinic_id=0, since=date(2026, 10, 5), until=date(2026, 10, 25))
SHORT = "Glow Clinic: reminder of your visit. Reply C to confirm."
LONG_GSM = "Glow Clinic aftercare: " + "keep the area clean and dry, " * 6  # 197 GSM-7 characters: 2 segments
LONG_UCS2 = "Glow Clinic: recordatorio de su cita, responda C para confirmar, sí, gracias."  # 77 UCS-2: 2 segments


def at(day: int, hour: int = 14, minute: int = 0) -> datetime:
    """A UTC instant in October 2026."""
    return datetime(2026, 10, day, hour, minute, tzinfo=timezone.utc)


def _plan(db, clinic, client, intake, protocol, *, status=PlanStatus.ACTIVE, created=None, cancelled=None):
    plan = Plan(clinic_id=clinic.id, client_id=client.id, intake_id=intake.id, protocol_id=protocol,
                protocols_version="test", session_count=6, interval_weeks=1, status=status, created_by="test",
                created_at=created or at(5, 13), cancelled_at=cancelled)
    db.add(plan)
    db.flush()
    return plan


def _session(db, plan, number, starts, status, confirmed=None):
    row = TreatmentSession(plan_id=plan.id, number=number, starts_at=starts, status=status, confirmed_at=confirmed)
    db.add(row)
    db.flush()
    return row


def _sent(db, clinic, client, kind, *, sent, status=MessageStatus.DELIVERED, session=None, body=SHORT,
          channel=Channel.SMS, code=None, finished=None):
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id if client else None,
                        plan_id=session.plan_id if session else None, session_id=session.id if session else None,
                        kind=kind, channel=channel, to_number=client.phone if client else "+12125550199",
                        from_number="+12125550100", body=body, due_at=sent or finished or at(30), status=status,
                        sent_at=sent, finished_at=finished, error_code=code)
    db.add(row)
    return row


def _audit(db, clinic, plan, action, when, number, actor="staff:ana"):
    db.add(AuditEvent(clinic_id=clinic.id, actor=actor, action=action, plan_id=plan.id, details={"session": number},
                      created_at=when))


def _opt_out(db, clinic, client, when):
    db.add(ConsentEvent(client_id=client.id, clinic_id=clinic.id, action="opt_out", wording="STOP",
                        method="sms_keyword", scope="all", created_at=when))


@pytest.fixture
def october(db, clinic):
    """Four plans of one clinic in October, plus a second clinic whose rows must never count."""
    a, b, c, d, e = (make_client(db, f"+1212555010{n}", clinic=clinic) for n in range(1, 6))
    intakes = [Intake(clinic_id=clinic.id, client_id=who.id, status=IntakeStatus.PLANNED, created_at=at(5, 12))
               for who in (a, b, c, d)]
    intakes.append(Intake(clinic_id=clinic.id, client_id=e.id, status=IntakeStatus.IN_PROGRESS, created_at=at(5, 12)))
    db.add_all(intakes)
    db.flush()
    p1 = _plan(db, clinic, a, intakes[0], "acne-scarring")
    p2 = _plan(db, clinic, b, intakes[1], "acne-scarring", status=PlanStatus.COMPLETED)
    p3 = _plan(db, clinic, c, intakes[2], "stretch-marks", created=at(6, 13))
    p4 = _plan(db, clinic, d, intakes[3], "acne-scarring", status=PlanStatus.CANCELLED, cancelled=at(16, 12))
    # Week of 5 Oct: four visits; s1, s2 confirmed 30 and 120 minutes after their reminder.
    s1 = _session(db, p1, 1, at(7), SessionStatus.ATTENDED, confirmed=at(5, 14, 30))
    s2 = _session(db, p2, 1, at(8), SessionStatus.NO_SHOW, confirmed=at(6, 16))
    s3 = _session(db, p3, 1, at(9), SessionStatus.NO_SHOW)
    _session(db, p4, 1, at(9, 15), SessionStatus.ATTENDED)  # never reminded, never confirmed
    # Week of 12 Oct: three live sessions confirmed 10, 20 and 60 minutes after their reminder; one cancelled.
    s5 = _session(db, p1, 2, at(14), SessionStatus.ATTENDED, confirmed=at(12, 14, 10))
    s6 = _session(db, p2, 2, at(15), SessionStatus.CONFIRMED, confirmed=at(13, 14, 20))
    s7 = _session(db, p3, 2, at(16), SessionStatus.ATTENDED, confirmed=at(14, 15))
    _session(db, p4, 2, at(16, 15), SessionStatus.CANCELLED)
    _sent(db, clinic, a, MessageKind.REMINDER, sent=at(5), session=s1)
    _sent(db, clinic, b, MessageKind.REMINDER, sent=at(6), session=s2)
    _sent(db, clinic, c, MessageKind.REMINDER, sent=at(7), session=s3, status=MessageStatus.UNDELIVERED, code=30003)
    _sent(db, clinic, a, MessageKind.AFTERCARE, sent=at(7, 15, 30), session=s1, body=LONG_GSM)
    _sent(db, clinic, b, MessageKind.MISSED_SESSION, sent=None, finished=at(8, 16), session=s2,
          status=MessageStatus.FAILED, code=21211)
    _sent(db, clinic, None, MessageKind.STAFF_NOTICE, sent=at(8, 16, 30))
    _sent(db, clinic, c, MessageKind.MISSED_SESSION, sent=at(9, 16), session=s3, channel=Channel.VOICE,
          status=MessageStatus.SENT)
    _sent(db, clinic, a, MessageKind.BOOKING_NUDGE, sent=at(10), session=s5)
    _sent(db, clinic, a, MessageKind.REMINDER, sent=at(12), session=s5)
    _sent(db, clinic, b, MessageKind.REMINDER, sent=at(13), session=s6, status=MessageStatus.SENT)
    _sent(db, clinic, c, MessageKind.REMINDER, sent=at(14), session=s7, body=LONG_UCS2)
    _sent(db, clinic, a, MessageKind.CLIENT_NOTICE, sent=None, status=MessageStatus.PENDING)
    # Rebooking: s2's no-show rebooked by the client, s3's not (a move before the no-show does not count);
    # two R's in the week of 12 Oct, one moved by staff.
    _audit(db, clinic, p3, "session_moved", at(1), 1)
    _audit(db, clinic, p2, "session_no_show", at(8, 15, 30), 1)
    _audit(db, clinic, p2, "session_moved", at(8, 18), 1, actor=f"client #{b.id}")
    _audit(db, clinic, p3, "session_no_show", at(9, 16), 1)
    _audit(db, clinic, p1, "session_held", at(15, 12), 3, actor=f"client #{a.id}")
    _audit(db, clinic, p1, "session_moved", at(16, 10), 3)
    _audit(db, clinic, p3, "session_held", at(16, 12), 3, actor=f"client #{c.id}")
    # Opt-outs: C after the no-show call, B after a reminder, E (no plan, no text) in the empty week.
    _opt_out(db, clinic, c, at(9, 18))
    _opt_out(db, clinic, b, at(13, 15))
    _opt_out(db, clinic, e, at(20))
    other = make_clinic(db, name="Other Clinic", number="+12125550300", staff=())
    stranger = make_client(db, "+12125550101", clinic=other)
    oi = Intake(clinic_id=other.id, client_id=stranger.id, status=IntakeStatus.PLANNED, created_at=at(5, 12))
    db.add(oi)
    db.flush()
    op = _plan(db, other, stranger, oi, "acne-scarring")
    os1 = _session(db, op, 1, at(7), SessionStatus.NO_SHOW, confirmed=at(5, 15))
    _sent(db, other, stranger, MessageKind.REMINDER, sent=at(5), session=os1, status=MessageStatus.FAILED, code=30005)
    _opt_out(db, other, stranger, at(9))
    db.commit()
    return {"clinic": clinic, "clients": (a, b, c, d, e)}


def _compute(db, clinic, **changes):
    wanted = Request(**({"clinic_id": clinic.id, "since": OCT.since, "until": OCT.until} | changes))
    return report.compute(db, wanted, segment_price=PRICE)


def _column(results, figure, key):
    return [row[key] for row in results.figures[figure].rows]


def test_periods_are_the_clinics_local_weeks_even_across_a_dst_change():
    weeks = cut(date(2026, 10, 26), date(2026, 11, 8), PeriodKind.WEEK, "America/New_York")
    assert [w.key for w in weeks] == ["2026-10-26", "2026-11-02"]
    # Clocks went back on 1 Nov: the week of 2 Nov starts at local midnight, 05:00Z, not 04:00Z.
    assert weeks[1].start == datetime(2026, 11, 2, 5, tzinfo=timezone.utc)
    assert weeks[0].start == datetime(2026, 10, 26, 4, tzinfo=timezone.utc)
    months = cut(date(2026, 10, 15), date(2026, 12, 2), PeriodKind.MONTH, "America/New_York")
    assert [m.key for m in months] == ["2026-10", "2026-11", "2026-12"]
    assert months[0].start == datetime(2026, 10, 15, 4, tzinfo=timezone.utc)  # clipped to since
    assert months[-1].end == datetime(2026, 12, 3, 5, tzinfo=timezone.utc)  # until is included


def test_confirmation_rate_and_median_minutes_per_week(db, october):
    results = _compute(db, october["clinic"])
    assert _column(results, "confirmations", "period") == ["2026-10-05", "2026-10-12", "2026-10-19"]
    assert _column(results, "confirmations", "sessions") == [4, 3, 0]
    assert _column(results, "confirmations", "reminded") == [3, 3, 0]
    assert _column(results, "confirmations", "confirmed") == [2, 3, 0]
    assert _column(results, "confirmations", "confirmation_rate") == [0.5, 1.0, None]
    # Even count: the mean of the two middle values; odd: the middle one; none: no median.
    assert _column(results, "confirmations", "median_minutes_to_confirm") == [75.0, 20.0, None]
    assert results.totals["confirmations"] == {"sessions": 7, "reminded": 6, "confirmed": 5,
                                               "confirmation_rate": 0.7143, "median_minutes_to_confirm": 30.0}


def test_no_show_rate_split_by_confirmed_and_reminded(db, october):
    results = _compute(db, october["clinic"])
    rows = results.figures["no_shows"].rows
    assert [r["marked"] for r in rows] == [4, 2, 0]
    assert [r["no_show_rate"] for r in rows] == [0.5, 0.0, None]
    assert [r["confirmed_no_show_rate"] for r in rows] == [0.5, 0.0, None]
    assert [r["unconfirmed_no_show_rate"] for r in rows] == [0.5, None, None]
    assert [r["reminded_no_show_rate"] for r in rows] == [0.6667, 0.0, None]
    assert [r["unreminded_no_show_rate"] for r in rows] == [0.0, None, None]
    total = results.totals["no_shows"]
    assert (total["marked"], total["no_shows"], total["no_show_rate"]) == (6, 2, 0.3333)
    assert (total["confirmed"], total["confirmed_no_show_rate"]) == (4, 0.25)
    assert (total["unconfirmed"], total["unconfirmed_no_show_rate"]) == (2, 0.5)


def test_rebooking_after_r_no_show_and_nudge(db, october):
    results = _compute(db, october["clinic"])
    total = results.totals["rebooking"]
    assert total["asked to reschedule (R)"] == {"trigger": "asked to reschedule (R)", "count": 2, "booked": 1,
                                                "by_client": 0, "by_staff": 1, "booked_rate": 0.5}
    assert total["no-show"] == {"trigger": "no-show", "count": 2, "booked": 1, "by_client": 1, "by_staff": 0,
                                "booked_rate": 0.5}
    assert total["booking nudge"] == {"trigger": "booking nudge", "count": 1, "booked": 1, "by_client": 1,
                                      "by_staff": 0, "booked_rate": 1.0}
    by_week = {(r["period"], r["trigger"]): r["booked_rate"] for r in results.figures["rebooking"].rows}
    assert by_week[("2026-10-05", "no-show")] == 0.5
    assert by_week[("2026-10-12", "asked to reschedule (R)")] == 0.5
    assert by_week[("2026-10-12", "no-show")] is None
    assert by_week[("2026-10-19", "booking nudge")] is None


def test_a_second_reminder_or_a_second_move_counts_once_and_the_first_decides(db, october):
    clinic, (a, _, c, _, _) = october["clinic"], october["clients"]
    s1 = db.scalars(select(TreatmentSession).join(Plan).where(Plan.client_id == a.id, TreatmentSession.number == 1)).one()
    # s1's 2-hour reminder, after it was confirmed: still one reminded session, timed from the first.
    _sent(db, clinic, a, MessageKind.REMINDER, sent=at(7, 12), session=s1)
    # C's no-show moved twice (client first, then staff); A's R moved again later, by the client.
    p1, p3 = (db.scalars(select(Plan).where(Plan.client_id == who.id)).one() for who in (a, c))
    _audit(db, clinic, p3, "session_moved", at(10), 1, actor=f"client #{c.id}")
    _audit(db, clinic, p3, "session_moved", at(11), 1)
    _audit(db, clinic, p1, "session_moved", at(17), 3, actor=f"client #{a.id}")
    db.commit()
    results = _compute(db, clinic)
    assert _column(results, "confirmations", "sessions") == [4, 3, 0]
    assert _column(results, "confirmations", "reminded") == [3, 3, 0]
    assert _column(results, "confirmations", "median_minutes_to_confirm") == [75.0, 20.0, None]
    assert results.totals["confirmations"]["median_minutes_to_confirm"] == 30.0
    assert results.totals["no_shows"]["reminded"] == 5
    total = results.totals["rebooking"]
    assert total["no-show"] == {"trigger": "no-show", "count": 2, "booked": 2, "by_client": 2, "by_staff": 0,
                                "booked_rate": 1.0}
    assert total["asked to reschedule (R)"] == {"trigger": "asked to reschedule (R)", "count": 2, "booked": 1,
                                                "by_client": 0, "by_staff": 1, "booked_rate": 0.5}


def test_plan_completion_cancellation_and_funnel(db, october):
    results = _compute(db, october["clinic"])
    assert results.figures["plans"].rows == [
        {"protocol": "acne-scarring", "started": 3, "running": 1, "completed": 1, "cancelled": 1,
         "completion_rate": 0.3333, "cancellation_rate": 0.3333},
        {"protocol": "stretch-marks", "started": 1, "running": 1, "completed": 0, "cancelled": 0,
         "completion_rate": 0.0, "cancellation_rate": 0.0}]
    # Plan 4 was cancelled after one visit (its second session was cancelled with it).
    assert results.figures["cancellations"].rows == [
        {"protocol": "acne-scarring", "after_sessions": 1, "cancelled_at_session": 2, "plans": 1}]
    assert [(r["step"], r["count"], r["share_of_intakes"]) for r in results.figures["funnel"].rows] == [
        ("intake begun", 5, 1.0), ("intake finished", 4, 0.8), ("plan started", 4, 0.8),
        ("first visit attended", 3, 0.6), ("plan completed", 1, 0.2)]


def test_opt_outs_and_the_message_before_each(db, october):
    results = _compute(db, october["clinic"])
    assert _column(results, "opt_outs", "messages_sent") == [6, 3, 0]
    assert _column(results, "opt_outs", "opt_outs") == [1, 1, 1]
    # The third week: one opt-out and no message sent is no rate at all, not a crash or infinity.
    assert _column(results, "opt_outs", "opt_out_rate") == [0.1667, 0.3333, None]
    assert results.totals["opt_outs"] == {"messages_sent": 9, "opt_outs": 3, "opt_out_rate": 0.3333}
    assert results.figures["opt_outs_by_kind"].rows == [
        {"kind": "reminder", "message": "appointment reminder", "opt_outs": 1, "sent": 6, "opt_outs_per_sent": 0.1667},
        {"kind": None, "message": "no text before it", "opt_outs": 1, "sent": None, "opt_outs_per_sent": None},
        {"kind": "missed_session", "message": "we missed you / rebook", "opt_outs": 1, "sent": 1,
         "opt_outs_per_sent": 1.0}]


def test_delivery_failures_in_words_segments_and_cost(db, october):
    results = _compute(db, october["clinic"])
    assert _column(results, "delivery", "sent") == [7, 3, 0]
    assert _column(results, "delivery", "delivered") == [5, 2, 0]
    assert _column(results, "delivery", "failed") == [2, 0, 0]
    assert _column(results, "delivery", "awaiting_report") == [0, 1, 0]
    assert _column(results, "delivery", "delivery_rate") == [0.7143, 1.0, None]
    assert results.totals["delivery"]["delivery_rate"] == 0.7778
    assert results.figures["failures"].rows == [
        {"error_code": 21211, "reason": "the phone number is not valid (Twilio error 21211)", "failed": 1},
        {"error_code": 30003, "reason": "the phone is off or out of reach (Twilio error 30003)", "failed": 1}]
    # The aftercare (197 GSM-7 characters) and the Spanish reminder (UCS-2, 77) take two segments each.
    assert _column(results, "costs", "texts") == [6, 3, 0]
    assert _column(results, "costs", "segments") == [7, 4, 0]
    assert _column(results, "costs", "estimated_cost_usd") == [0.07, 0.04, 0.0]
    assert _column(results, "costs", "calls") == [1, 0, 0]
    assert results.totals["costs"] == {"texts": 9, "segments": 11, "estimated_cost_usd": 0.11, "calls": 1}


def test_one_protocol_only(db, october):
    results = _compute(db, october["clinic"], protocol="stretch-marks")
    assert _column(results, "confirmations", "sessions") == [1, 1, 0]
    assert _column(results, "confirmations", "confirmation_rate") == [0.0, 1.0, None]
    assert _column(results, "confirmations", "median_minutes_to_confirm") == [None, 60.0, None]
    assert [r["protocol"] for r in results.figures["plans"].rows] == ["stretch-marks"]
    assert results.totals["costs"]["texts"] == 2  # plan 3's two reminders; the voice call is a call
    assert results.totals["opt_outs"]["opt_outs"] == 1  # C, who had plan 3's messages


def test_by_month_and_a_range_with_nothing_in_it(db, october):
    month = _compute(db, october["clinic"], period=PeriodKind.MONTH)
    assert _column(month, "confirmations", "period") == ["2026-10"]
    assert _column(month, "confirmations", "confirmation_rate") == [0.7143]
    empty = _compute(db, october["clinic"], since=date(2025, 1, 1), until=date(2025, 1, 31), period=PeriodKind.MONTH)
    for figure in ("confirmations", "no_shows", "opt_outs", "delivery"):
        assert all(value is None for key, value in empty.totals[figure].items() if key.endswith(("rate", "minutes_to_confirm")))
    assert empty.figures["plans"].rows == [] and empty.figures["failures"].rows == []
    assert [r["share_of_intakes"] for r in empty.figures["funnel"].rows] == [None] * 5


def test_segments_are_counted_when_a_text_is_written(db, clinic, runtime):
    person = make_client(db, "+12125550109", clinic=clinic)
    row = _sent(db, clinic, person, MessageKind.CLIENT_NOTICE, sent=at(5), body=LONG_UCS2)
    call = _sent(db, clinic, person, MessageKind.REMINDER, sent=at(5), channel=Channel.VOICE)
    db.commit()
    assert (row.segments, call.segments) == (2, None)
    row.body = SHORT
    db.commit()
    assert row.segments == 1


@pytest.mark.parametrize(("args", "field"), [
    ({"since": "2026-13-01"}, "since"), ({"until": "yesterday"}, "until"), ({"period": "day"}, "period"),
    ({"since": "2026-10-10", "until": "2026-10-01"}, "since"), ({"protocol": "botox"}, "protocol"),
    ({"since": "2000-01-01", "until": "2026-10-01"}, "since"),
])
def test_bad_filters_are_refused_naming_the_field(args, field, db, clinic):
    with pytest.raises(ValidationError) as caught:
        wanted = report.read_request(args, clinic_id=clinic.id, today=date(2026, 12, 1), protocols=["acne-scarring"])
        report.compute(db, wanted, segment_price=PRICE)
    assert caught.value.field == field
