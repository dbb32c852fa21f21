"""Retries after 429 and 5xx: Twilio's Retry-After when it gives one, full jitter otherwise, never a sleeping worker."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from glowline.delivery import retry
from glowline.store.models import MessageStatus
from glowline.transports.transport import parse_retry_after
from tests.helpers import fresh, make_client, make_message, schedule
from tests.twilio_server import Scripted
from tests.worker_helpers import advance


def test_a_429_with_retry_after_waits_what_twilio_asked_then_sends(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(429, 20429, "Too Many Requests", retry_after="90"))
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    start = clock.now()
    advance(runtime, clock, timedelta(seconds=1))
    waiting = fresh(db, row)
    assert waiting.status is MessageStatus.QUEUED and waiting.error_code == 20429
    # Never sooner than Twilio asked, and spread by at most a quarter more.
    assert start + timedelta(seconds=90) <= waiting.due_at <= start + timedelta(seconds=90 + 22.5)
    advance(runtime, clock, timedelta(seconds=89 - 1))
    assert len(fake_twilio.attempts()) == 1  # nothing went out before the Retry-After
    advance(runtime, clock, timedelta(seconds=30))
    row = fresh(db, row)
    assert (row.status, row.attempts, len(fake_twilio.sent())) == (MessageStatus.SENT, 2, 1)


def test_a_503_with_retry_after_as_a_date_is_honoured(runtime, db, clinic, clock, fake_twilio):
    # The send job's clock is the test's; the header's date is read against the wall clock, as Twilio's is.
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    fake_twilio.script("Messages", Scripted(503, None, "Unavailable",
                                            retry_after=when.strftime("%a, %d %b %Y %H:%M:%S GMT")))
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    start = clock.now()
    advance(runtime, clock, timedelta(seconds=1))
    assert start + timedelta(seconds=115) <= fresh(db, row).due_at <= start + timedelta(seconds=150)


def test_without_retry_after_a_burst_of_429s_comes_back_spread_out(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", *[Scripted(429, 20429)] * 20)
    rows = [make_message(db, clinic, make_client(db, phone=f"+1212555{4000 + n:04d}"), due_at=clock.now())
            for n in range(20)]
    schedule(runtime, db, rows)
    start = clock.now()
    advance(runtime, clock, timedelta(milliseconds=500))
    due = [fresh(db, r).due_at for r in rows]
    assert all(start + timedelta(seconds=1) <= d <= start + retry.BASE for d in due)
    # Full jitter: twenty rows limited in the same second do not all return in the same second.
    assert len({int(d.timestamp()) for d in due}) >= 8


def test_a_long_retry_after_does_not_hold_the_worker(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(429, 20429, retry_after="600"))
    limited = make_message(db, clinic, make_client(db), due_at=clock.now())
    other = make_message(db, clinic, make_client(db, phone="+12125554999"), due_at=clock.now())
    schedule(runtime, db, [limited, other])
    advance(runtime, clock, timedelta(seconds=1))
    # The limited row waits in Redis for its time; the worker went straight on to the next row.
    assert fresh(db, limited).status is MessageStatus.QUEUED
    assert fresh(db, other).status is MessageStatus.SENT


@pytest.mark.parametrize("attempts", [1, 2, 3, 6, 40])
def test_full_jitter_stays_between_a_second_and_the_capped_exponential_step(attempts):
    rng = random.Random(attempts)
    waits = [retry.delay(attempts, rng=rng) for _ in range(500)]
    ceiling = retry.step(attempts)
    assert ceiling == min(retry.BASE * 2 ** (attempts - 1), retry.CAP)
    assert all(timedelta(seconds=1) <= w <= ceiling for w in waits)
    assert max(waits) > ceiling * 0.9 and min(waits) < ceiling * 0.1 + timedelta(seconds=1)


@pytest.mark.parametrize("header, seconds", [
    ("7", 7.0), (" 120 ", 120.0), ("Wed, 02 Dec 2026 04:00:30 GMT", 30.0), ("", None), (None, None),
    ("soon", None), ("-5", None), ("١٢", None), ("Wed, 02 Dec 2026 03:59:00 GMT", 0.0),
])
def test_retry_after_is_read_as_seconds_or_an_http_date_and_garbage_is_ignored(header, seconds):
    now = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    assert parse_retry_after(header, now=now) == seconds


def test_a_huge_retry_after_is_capped_so_the_useful_time_still_decides():
    assert retry.delay(1, 10 ** 9, rng=random.Random(1)) <= retry.RETRY_AFTER_CAP + retry.RETRY_AFTER_SPREAD_CAP


def test_twilio_unreachable_for_half_an_hour_fails_nothing_due_meanwhile(runtime, db, clinic, clock, fake_twilio):
    """The double stops listening for 30 minutes of the send job's clock, then listens again on its port.

    Faithful with a manual clock because every retry decision reads only the database's
    attempt count and the runtime's clock, and a refused connection fails at once whatever
    the time: 30 minutes of the test clock make the same decisions as 30 real minutes.
    """
    start = clock.now()
    rows = [make_message(db, clinic, make_client(db, phone=f"+1212555{5000 + n:04d}"),
                         due_at=start + timedelta(minutes=minute), not_after=start + timedelta(hours=3))
            for n, minute in enumerate([0, 1, 7, 15, 29])]
    schedule(runtime, db, rows)
    fake_twilio.go_down()
    try:
        advance(runtime, clock, timedelta(minutes=30))
        waiting = [fresh(db, r) for r in rows]
        assert all(r.status is MessageStatus.QUEUED for r in waiting), [(r.status, r.last_error) for r in waiting]
        assert all(r.last_error.startswith(("could not connect", "waiting for Twilio")) for r in waiting)
    finally:
        fake_twilio.come_back()
    # Back: each row goes out within one capped backoff step, once.
    advance(runtime, clock, retry.CAP + timedelta(seconds=1))
    sent = [fresh(db, r) for r in rows]
    assert [r.status for r in sent] == [MessageStatus.SENT] * len(rows)
    assert sorted(r.form["To"] for r in fake_twilio.sent()) == sorted(r.to_number for r in sent)
