"""POST /twilio/status: forward-only, deduplicated, in any order."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from glowline.store.models import MessageEvent, MessageStatus, OutboxMessage
from glowline.delivery.outbox import mark_sent, claim
from tests.helpers import make_client, make_message, twilio_post


def sent_row(db, clinic, client, clock, sid):
    row = make_message(db, clinic, client, due_at=clock.now())
    row.status = MessageStatus.SENT
    row.provider_sid = sid
    row.attempts = 1
    db.commit()
    return row


def post_status(http, sid, status, code=None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
    if code is not None:
        params["ErrorCode"] = code
    return twilio_post(http, "/twilio/status", params)


def status_of(db, row):
    db.expire_all()
    return db.get(OutboxMessage, row.id)


def test_two_hundred_messages_in_random_order_with_duplicates_end_in_their_terminal_state(
        client, db, clinic, clock):
    rng = random.Random(5)
    person = make_client(db)
    expected, callbacks = {}, []
    for n in range(200):
        sid = f"SM{n:032x}"
        row = sent_row(db, clinic, person, clock, sid)
        final = rng.choice(["delivered", "undelivered", "failed"])
        expected[row.id] = final
        steps = ["queued", "sending", "sent", final]
        for step in steps:
            callbacks.append((sid, step))
            if rng.random() < 0.5:
                callbacks.append((sid, step))  # Twilio retried it
    rng.shuffle(callbacks)
    for sid, step in callbacks:
        code = "30003" if step in ("undelivered", "failed") else None
        assert post_status(client, sid, step, code).status_code == 200

    db.expire_all()
    rows = db.scalars(select(OutboxMessage)).all()
    assert {r.id: r.status.value for r in rows} == expected
    assert all(r.error_code == 30003 for r in rows if r.status is not MessageStatus.DELIVERED)
    assert all(r.finished_at is not None for r in rows)
    # One event per (sid, status), however often Twilio repeated itself.
    assert db.scalar(select(func.count()).select_from(MessageEvent)) == 200 * 4


def test_late_sent_after_delivered_changes_nothing(client, db, clinic, clock):
    row = sent_row(db, clinic, make_client(db), clock, "SM" + "de" * 16)
    assert post_status(client, "SM" + "de" * 16, "delivered").status_code == 200
    assert post_status(client, "SM" + "de" * 16, "sent").status_code == 200
    assert post_status(client, "SM" + "de" * 16, "undelivered", "30005").status_code == 200
    row = status_of(db, row)
    assert row.status is MessageStatus.DELIVERED and row.error_code is None


def test_unknown_sid_and_unknown_fields_answer_200_and_touch_no_row(client, db, clinic, clock):
    row = sent_row(db, clinic, make_client(db), clock, "SM" + "0a" * 16)
    response = twilio_post(client, "/twilio/status", {"MessageSid": "SM" + "0b" * 16, "MessageStatus": "delivered",
                                                       "SomeNewTwilioField": "x", "RawDlrDoneDate": "2612011500"})
    assert response.status_code == 200
    assert status_of(db, row).status is MessageStatus.SENT


def test_forged_or_missing_signature_is_refused_and_stores_nothing(client, db, clinic, clock):
    row = sent_row(db, clinic, make_client(db), clock, "SM" + "0f" * 16)
    params = {"MessageSid": "SM" + "0f" * 16, "MessageStatus": "delivered"}
    assert twilio_post(client, "/twilio/status", params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert client.post("/twilio/status", data=params).status_code == 403
    assert status_of(db, row).status is MessageStatus.SENT
    assert db.scalar(select(func.count()).select_from(MessageEvent)) == 0


def test_callback_that_beats_the_sid_commit_is_applied_when_the_sid_is_recorded(client, db, clinic, clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    assert claim(db, row.id, clock.now())
    db.commit()
    # Twilio answered and already reported delivery before the worker committed the SID.
    assert post_status(client, "SM" + "ac" * 16, "delivered").status_code == 200
    mark_sent(db, row, sid="SM" + "ac" * 16, simulated=False, now=clock.now())
    db.commit()
    assert status_of(db, row).status is MessageStatus.DELIVERED


def test_malformed_callback_answers_400_and_changes_nothing(client, db, clinic, clock):
    # Twilio always sends MessageStatus and a numeric ErrorCode: anything else breaks the inbound contract.
    sid = "SM" + "ee" * 16
    row = sent_row(db, clinic, make_client(db), clock, sid)
    assert twilio_post(client, "/twilio/status", {"MessageSid": sid}).status_code == 400
    assert twilio_post(client, "/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered",
                                                  "ErrorCode": "not-a-number"}).status_code == 400
    assert status_of(db, row).status is MessageStatus.SENT
    assert post_status(client, sid, "delivered").status_code == 200
    assert status_of(db, row).status is MessageStatus.DELIVERED


def test_callback_stored_just_after_the_sid_sweep_is_applied_by_the_reconciler(db, runtime, clinic, clock):
    from glowline.delivery.reconcile import reconcile

    row = sent_row(db, clinic, make_client(db), clock, "SM" + "1a" * 16)
    # The callback looked the SID up a moment before mark_sent committed, so it was kept
    # unattached, and mark_sent's own sweep had already run.
    db.add(MessageEvent(provider_sid="SM" + "1a" * 16, status="delivered", message_id=None, received_at=clock.now()))
    db.commit()
    assert status_of(db, row).status is MessageStatus.SENT
    report = reconcile(runtime, stuck_after=timedelta(minutes=5))
    assert report.late_statuses == 1
    assert status_of(db, row).status is MessageStatus.DELIVERED


def test_an_early_call_status_is_read_as_a_call_status(client, db, clinic, clock):
    from glowline.store.models import Channel

    row = make_message(db, clinic, make_client(db), due_at=clock.now(), channel=Channel.VOICE)
    assert claim(db, row.id, clock.now())
    db.commit()
    params = {"CallSid": "CA" + "ea" * 16, "CallStatus": "completed", "AccountSid": "AC" + "0" * 32}
    assert twilio_post(client, f"/twilio/voice/status?message_id={row.id}", params).status_code == 204
    mark_sent(db, row, sid="CA" + "ea" * 16, simulated=False, now=clock.now())
    db.commit()
    assert status_of(db, row).status is MessageStatus.DELIVERED
