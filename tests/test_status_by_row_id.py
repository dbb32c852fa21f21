"""Every SMS status callback finds its row by the id in its URL, and staff are offered only retries that help."""

from __future__ import annotations

import pytest

from glowline.delivery.outbox import claim, mark_outcome_unknown, mark_sent
from glowline.delivery.staff_actions import retry_refusal
from glowline.store.models import MessageStatus, OutboxMessage
from tests.helpers import make_client, make_message, schedule, twilio_post

SID = "SM" + "5a" * 16
ACCOUNT = "AC" + "0" * 32


def post_status(http, row_id, status, sid=SID, code=None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT}
    if code is not None:
        params["ErrorCode"] = code
    return twilio_post(http, f"/twilio/status?message_id={row_id}", params)


def fresh(db, row) -> OutboxMessage:
    db.expire_all()
    return db.get(OutboxMessage, row.id)


def sending_row(db, clinic, clock):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    assert claim(db, row.id, clock.now())
    db.commit()
    return row


def test_a_delivered_callback_that_beats_the_sid_commit_settles_the_row_at_once(client, db, clinic, clock):
    row = sending_row(db, clinic, clock)
    assert post_status(client, row.id, "delivered").status_code == 200
    settled = fresh(db, row)
    assert (settled.status, settled.provider_sid) == (MessageStatus.DELIVERED, SID)
    # The worker's own commit of the SID, arriving later, changes nothing.
    mark_sent(db, settled, sid=SID, simulated=False, now=clock.now())
    db.commit()
    assert fresh(db, row).status is MessageStatus.DELIVERED


def test_a_delivered_callback_racing_the_workers_sid_commit_settles_the_row_at_once(
        client, db, runtime, clinic, clock, monkeypatch):
    from glowline.delivery import outbox

    row = sending_row(db, clinic, clock)
    adopt = outbox._adopt_sid

    def worker_commits_first(session, message_id, sid, now):
        # The worker's mark_sent commits after the callback looked the SID up, before it adopts the row.
        with runtime.sessions() as worker:
            mark_sent(worker, worker.get(OutboxMessage, message_id), sid=sid, simulated=False, now=now)
            worker.commit()
        return adopt(session, message_id, sid, now)

    monkeypatch.setattr(outbox, "_adopt_sid", worker_commits_first)
    assert post_status(client, row.id, "delivered").status_code == 200
    # Delivered now, not a tick later when the reconciler would attach an orphaned callback.
    assert fresh(db, row).status is MessageStatus.DELIVERED


def test_a_delivered_callback_after_a_crash_lost_the_sid_turns_outcome_unknown_into_delivered(
        client, db, clinic, clock):
    row = sending_row(db, clinic, clock)
    # The worker died after Twilio accepted the text; the reconciler could only say "outcome unknown".
    assert mark_outcome_unknown(db, fresh(db, row), now=clock.now())
    db.commit()
    assert retry_refusal(fresh(db, row), clock.now()) is None  # what staff were offered before
    assert post_status(client, row.id, "sent").status_code == 200
    assert post_status(client, row.id, "delivered").status_code == 200
    settled = fresh(db, row)
    assert (settled.status, settled.provider_sid, settled.last_error) == (MessageStatus.DELIVERED, SID, None)
    assert retry_refusal(settled, clock.now()) is not None


def test_an_undelivered_callback_after_a_crash_says_so_with_its_code(client, db, clinic, clock):
    row = sending_row(db, clinic, clock)
    mark_outcome_unknown(db, fresh(db, row), now=clock.now())
    db.commit()
    assert post_status(client, row.id, "undelivered", code="30003").status_code == 200
    settled = fresh(db, row)
    assert (settled.status, settled.error_code) == (MessageStatus.UNDELIVERED, 30003)


def test_the_id_never_moves_a_row_that_already_has_another_sid(client, db, clinic, clock):
    row = sending_row(db, clinic, clock)
    mark_sent(db, fresh(db, row), sid="SM" + "77" * 16, simulated=False, now=clock.now())
    db.commit()
    assert post_status(client, row.id, "undelivered", code="30003").status_code == 200
    settled = fresh(db, row)
    assert (settled.status, settled.provider_sid) == (MessageStatus.SENT, "SM" + "77" * 16)


def test_a_row_id_that_is_not_ours_is_harmless(client, db, clinic, clock):
    assert post_status(client, 999_999, "delivered").status_code == 200


def test_the_worker_puts_the_row_id_in_the_sms_status_callback(runtime, db, clinic, clock, fake_twilio):
    from tests.worker_helpers import work

    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    schedule(runtime, db, [row])
    work(runtime)
    [sent] = fake_twilio.sent()
    assert sent.form["StatusCallback"].endswith(f"/twilio/status?message_id={row.id}")


@pytest.mark.parametrize("code, offered", [(21211, False), (21610, False), (21614, False), (30005, False),
                                           (30003, True), (30008, True), (None, True)])
def test_staff_are_offered_a_retry_only_when_it_can_help(db, clinic, clock, code, offered):
    row = make_message(db, clinic, make_client(db), due_at=clock.now())
    row.status, row.error_code = MessageStatus.UNDELIVERED, code
    db.commit()
    assert (retry_refusal(fresh(db, row), clock.now()) is None) is offered


def test_no_retry_is_offered_for_a_client_who_opted_out(db, clinic, clock):
    person = make_client(db, opted_out_at=clock.now())
    row = make_message(db, clinic, person, due_at=clock.now())
    row.status = MessageStatus.FAILED
    db.commit()
    assert "opted out" in retry_refusal(fresh(db, row), clock.now())
