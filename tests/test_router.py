"""The inbound router as a chain of handlers: a new kind of inbound plugs in by joining the chain."""

from __future__ import annotations

from glowline.intake import handlers
from glowline.intake.inbound import NOT_MINE, Inbound
from glowline.intake.router import HANDLERS, handle_text
from glowline.store.models import Channel, InboundMessage, Intake, IntakeStatus

CLIENT = "+12125550142"


def text(db, runtime, clinic, body: str, *, chain=None, sid: str) -> tuple[list[str], InboundMessage]:
    """Store one inbound text as the SMS webhook does and route it through ``chain``; commits."""
    record = InboundMessage(sid=sid, clinic_id=clinic.id, channel=Channel.SMS, from_number=CLIENT, body=body,
                            received_at=runtime.clock.now())
    db.add(record)
    db.flush()
    replies = handle_text(db, runtime, clinic=clinic, from_number=CLIENT, body=body, now=runtime.clock.now(),
                          record=record, chain=chain)
    db.commit()
    return replies, record


def with_before(handler, anchor) -> tuple:
    """The default chain with ``handler`` placed just above ``anchor``."""
    at = HANDLERS.index(anchor)
    return (*HANDLERS[:at], handler, *HANDLERS[at:])


def test_a_handler_placed_before_the_intake_takes_the_text_and_the_intake_never_sees_it(db, runtime, clinic):
    replies, _ = text(db, runtime, clinic, "hi", sid="SM1")
    assert any("Reply YES or NO" in r for r in replies)
    intake = db.query(Intake).one()
    asked, answers = intake.current_field, dict(intake.answers or {})

    seen: list[tuple[str, str]] = []

    def photo(msg: Inbound):
        if not msg.body.startswith("[photo]"):
            return NOT_MINE
        seen.append((msg.body, msg.channel))
        msg.mark("photo")
        return ["Thanks for the photo."]

    chain = with_before(photo, handlers.intake)
    replies, record = text(db, runtime, clinic, "[photo] my cheek", chain=chain, sid="SM2")

    assert replies == ["Thanks for the photo."]
    assert seen == [("[photo] my cheek", "sms")]
    assert record.handled_as == "photo" and record.client_id == intake.client_id
    db.expire_all()
    assert intake.current_field == asked and dict(intake.answers or {}) == answers
    assert intake.status is IntakeStatus.IN_PROGRESS

    # Not its kind: the handler passes and the intake answers as before.
    replies, record = text(db, runtime, clinic, "yes", chain=chain, sid="SM3")
    assert record.handled_as == "intake" and any("first name" in r for r in replies)
    assert len(seen) == 1


def test_stop_is_answered_before_a_handler_placed_below_the_keywords(db, runtime, clinic):
    text(db, runtime, clinic, "hi", sid="SM1")
    taken: list[str] = []

    def greedy(msg: Inbound):
        taken.append(msg.body)
        return []

    replies, record = text(db, runtime, clinic, "STOP", chain=with_before(greedy, handlers.intake), sid="SM2")
    assert record.handled_as == "opt_out" and any("unsubscribed" in r for r in replies)
    assert taken == []


def test_a_chain_that_nobody_claims_keeps_the_text_for_the_inbox(db, runtime, clinic):
    replies, record = text(db, runtime, clinic, "hello", chain=(handlers.keywords,), sid="SM1")
    assert replies == []
    assert record.handled_as == "inbox" and record.needs_attention
    assert db.query(Intake).count() == 0
