"""Twilio's answers, through the real SDK and the send job: retries, opt-outs, permanent failures."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.exceptions import TransportError
from glowline.store.models import Channel, ConsentEvent, MessageStatus
from glowline.transports.callbacks import SendUrls
from glowline.delivery.outbox import OUTCOME_UNKNOWN
from glowline.runtime import Runtime
from glowline.transports.transport import LocalTransport, TwilioTransport, build_transport
from tests.helpers import CLIENT_NUMBER, fresh, make_client, make_message, schedule
from tests.twilio_server import Scripted
from tests.worker_helpers import advance, work


def send_one(runtime, db, clinic, clock, person=None, **kwargs):
    row = make_message(db, clinic, person or make_client(db), due_at=clock.now(), **kwargs)
    schedule(runtime, db, [row])
    # Long enough for every backoff step (30 s, 60 s, 120 s, 240 s) to come due.
    advance(runtime, clock, timedelta(minutes=30))
    return fresh(db, row)


@pytest.mark.parametrize("script, attempts", [
    ([Scripted(429, 20429, "Too Many Requests")], 2),
    ([Scripted(500, None, "Internal")] * 3, 4),
    ([Scripted(503, None, "Unavailable"), Scripted(429, 20429)], 3),
])
def test_retryable_errors_then_success(runtime, db, clinic, clock, fake_twilio, script, attempts):
    fake_twilio.script("Messages", *script)
    row = send_one(runtime, db, clinic, clock)
    assert row.status is MessageStatus.SENT
    assert row.attempts == attempts
    assert len(fake_twilio.attempts()) == attempts and len(fake_twilio.sent()) == 1
    assert row.provider_sid == fake_twilio.sent()[0].sid


def test_retries_back_off_exponentially_with_jitter(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", *[Scripted(500)] * 3)
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    start = clock.now()
    advance(runtime, clock, timedelta(milliseconds=500))
    first = fresh(db, row).due_at
    assert start + timedelta(seconds=1) <= first <= start + timedelta(seconds=30)
    # Exactly at the retry's due time: a window past it would also run a retry drawn under a second or
    # two later (RQ keeps whole seconds and the send job accepts a job 2 s early), a third attempt.
    clock.set(first)
    work(runtime)
    second = fresh(db, row).due_at
    assert first + timedelta(seconds=1) <= second <= first + timedelta(seconds=60)
    assert fresh(db, row).last_error == "Twilio server error 500"


def test_persistent_5xx_gives_up_after_five_attempts(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", *[Scripted(500)] * 10)
    row = send_one(runtime, db, clinic, clock)
    assert row.status is MessageStatus.FAILED
    assert row.attempts == 5 and len(fake_twilio.attempts()) == 5
    assert "gave up after 5 attempts" in row.last_error


def test_21610_opts_the_client_out_like_stop_and_never_retries(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21610, "Attempt to send to unsubscribed recipient"))
    person = make_client(db)
    later = make_message(db, clinic, person, due_at=clock.now() + timedelta(days=3))
    row = send_one(runtime, db, clinic, clock, person)
    assert (row.status, row.attempts, row.error_code, row.result) == (MessageStatus.SUPPRESSED, 1, 21610,
                                                                      "carrier_opted_out")
    assert len(fake_twilio.attempts()) == 1
    db.expire_all()
    assert person.opted_out
    # Suppress, never destroy: the later row waits, and is suppressed only if it comes due while opted out.
    assert fresh(db, later).status is MessageStatus.PENDING
    consent = db.scalars(select(ConsentEvent)).one()
    assert (consent.action, consent.method, consent.client_id) == ("opt_out", "carrier_21610", person.id)


def test_21211_fails_permanently_with_the_code(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21211, "The 'To' number +12125550111 is not a valid phone number."))
    row = send_one(runtime, db, clinic, clock)
    assert (row.status, row.attempts, row.error_code) == (MessageStatus.FAILED, 1, 21211)
    assert "21211" in row.last_error and CLIENT_NUMBER not in row.last_error
    assert len(fake_twilio.attempts()) == 1


def test_read_timeout_after_the_post_is_not_resent(runtime, db, clinic, clock, fake_twilio):
    # Twilio accepted the message, but its answer never reached us before the timeout.
    fake_twilio.script("Messages", Scripted(201, delay=runtime.config.twilio_timeout + 1, accept_then_hang=True))
    row = send_one(runtime, db, clinic, clock)
    assert (row.status, row.result, row.attempts) == (MessageStatus.FAILED, OUTCOME_UNKNOWN, 1)
    assert row.last_error.startswith("outcome unknown: check Twilio")
    assert len(fake_twilio.attempts()) == 1


def test_connection_dropped_after_the_post_is_not_resent(runtime, db, clinic, clock, fake_twilio):
    # The request reached Twilio, then the connection closed with no answer: maybe accepted.
    fake_twilio.script("Messages", Scripted(201, drop_connection=True))
    row = send_one(runtime, db, clinic, clock)
    assert (row.status, row.result, row.attempts) == (MessageStatus.FAILED, OUTCOME_UNKNOWN, 1)
    assert len(fake_twilio.attempts()) == 1


def test_body_over_1600_characters_fails_before_reaching_twilio(runtime, db, clinic, clock, fake_twilio):
    row = send_one(runtime, db, clinic, clock, body="x" * 1601)
    assert (row.status, row.attempts, row.result) == (MessageStatus.FAILED, 0, "body_too_long")
    assert "1601 characters" in row.last_error
    assert fake_twilio.attempts() == []


def test_transport_errors_are_classified(config, fake_twilio):
    transport = build_transport(config)
    assert isinstance(transport, TwilioTransport)
    fake_twilio.script("Messages", Scripted(429, 20429), Scripted(502), Scripted(400, 21211))
    errors = []
    for _ in range(3):
        with pytest.raises(TransportError) as caught:
            transport.send(Channel.SMS, to=CLIENT_NUMBER, from_="+12125550100", body="hi", urls=SendUrls("https://x/s"))
        errors.append((caught.value.retryable, caught.value.code, caught.value.ambiguous))
    assert errors == [(True, 20429, False), (True, None, False), (False, 21211, False)]


def test_connection_refused_is_retryable_not_ambiguous(config):
    # A port nothing listens on: the fake Twilio serves the whole session and stays up.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = build_transport(config.with_(twilio_api_base_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(TransportError) as caught:
        transport.send(Channel.SMS, to=CLIENT_NUMBER, from_="+12125550100", body="hi", urls=SendUrls("https://x/s"))
    assert caught.value.retryable and not caught.value.ambiguous


def test_without_credentials_messages_are_recorded_as_simulated_sent(config, clock, redis_conn, db, clinic,
                                                                     fake_twilio):
    from workers import context

    local = Runtime(config.with_(twilio_account_sid=None, twilio_auth_token=None), clock=clock)
    assert isinstance(local.transport, LocalTransport)
    try:
        row = make_message(db, clinic, make_client(db), due_at=clock.now())
        schedule(local, db, [row])
        advance(local, clock, timedelta(seconds=1))
        row = fresh(db, row)
        assert (row.status, row.simulated) == (MessageStatus.SENT, True)
        assert row.provider_sid.startswith("SMLOCAL")
        assert fake_twilio.attempts() == []
    finally:
        context.bind(None)
        local.close()


def test_staff_read_what_a_permanent_twilio_error_means(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", Scripted(400, 21614, "To number: +12125550111, is not a mobile number"))
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(seconds=1))
    row = fresh(db, row)
    assert row.status is MessageStatus.FAILED and row.error_code == 21614
    assert "not a mobile phone" in row.last_error and "21614" in row.last_error
    assert "+1212" not in row.last_error  # Twilio's own message quotes the number; ours never does


def test_a_half_hour_twilio_outage_fails_nothing_that_can_still_arrive_in_time(runtime, db, clinic, clock,
                                                                                fake_twilio):
    # Twilio answers 500 for half an hour: 40 answers are more than full-jitter backoff (30 s doubling,
    # capped at 5 minutes) can use in that time, whatever it draws, so the outage ends when we say.
    fake_twilio.script("Messages", *[Scripted(500)] * 40)
    row = make_message(db, clinic, make_client(db), due_at=clock.now(), not_after=clock.now() + timedelta(hours=2))
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(minutes=15))
    waiting = fresh(db, row)
    assert waiting.status is MessageStatus.QUEUED and waiting.last_error.startswith("waiting for Twilio")
    advance(runtime, clock, timedelta(minutes=15))
    assert fresh(db, row).status is MessageStatus.QUEUED
    fake_twilio.reset()  # Twilio answers again
    advance(runtime, clock, timedelta(minutes=10))
    row = fresh(db, row)
    # More than the five attempts after which it used to give up, and sent once.
    assert row.status is MessageStatus.SENT and row.attempts > 5 and len(fake_twilio.sent()) == 1


def test_an_outage_past_the_messages_useful_time_skips_it_with_the_reason(runtime, db, clinic, clock, fake_twilio):
    fake_twilio.script("Messages", *[Scripted(503)] * 30)
    row = make_message(db, clinic, make_client(db), due_at=clock.now(),
                       not_after=clock.now() + timedelta(minutes=20))
    schedule(runtime, db, [row])
    advance(runtime, clock, timedelta(minutes=40))
    row = fresh(db, row)
    assert (row.status, row.result) == (MessageStatus.SKIPPED, "past_useful_time")
    assert "waiting for Twilio" in row.last_error and len(fake_twilio.sent()) == 0
