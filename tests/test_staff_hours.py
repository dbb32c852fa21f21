"""Staff hours and evening aftercare at send time: notices wait for the staff window; evening aftercare goes out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from glowline.delivery.notices import notify_staff
from glowline.store.models import MessageKind, MessageStatus

from tests.helpers import STAFF_NUMBER, fresh, make_client, make_message, schedule
from tests.worker_helpers import run_until, work

NY = ZoneInfo("America/New_York")


def test_a_staff_notice_produced_at_2am_clinic_time_goes_out_at_8am(runtime, db, clinic, clock, fake_twilio):
    clock.set(datetime(2026, 12, 2, 2, 0, tzinfo=NY))
    [row] = notify_staff(db, runtime, clinic=clinic, body="Glow Clinic: intake #1 is ready.", now=clock.now())
    db.commit()
    work(runtime)
    assert fresh(db, row).status in (MessageStatus.QUEUED, MessageStatus.PENDING)
    assert fake_twilio.sent() == []
    run_until(runtime, clock, datetime(2026, 12, 2, 9, 0, tzinfo=NY), reconcile=True)
    row = fresh(db, row)
    assert row.status is MessageStatus.SENT and row.to_number == STAFF_NUMBER
    assert row.sent_at.astimezone(NY).replace(second=0, microsecond=0) == datetime(2026, 12, 2, 8, 0, tzinfo=NY)


def test_aftercare_due_in_the_evening_goes_out_then_not_next_morning(runtime, db, clinic, clock, fake_twilio):
    clock.set(datetime(2026, 12, 2, 20, 30, tzinfo=NY))
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), kind=MessageKind.AFTERCARE,
                       not_after=clock.now() + timedelta(hours=48))
    late = make_message(db, clinic, make_client(db, phone="+12125550199"), due_at=clock.now() + timedelta(hours=1),
                        kind=MessageKind.AFTERCARE, not_after=clock.now() + timedelta(hours=48))
    schedule(runtime, db, [row, late])
    work(runtime)
    assert fresh(db, row).status is MessageStatus.SENT
    run_until(runtime, clock, clock.now() + timedelta(hours=2))
    late = fresh(db, late)
    assert late.status is MessageStatus.QUEUED
    assert late.due_at.astimezone(NY) == datetime(2026, 12, 3, 8, 0, tzinfo=NY)
    assert clock.now().astimezone(timezone.utc) < late.due_at
