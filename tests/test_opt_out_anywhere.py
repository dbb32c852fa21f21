"""An opt-out said at any question of the intake, or after it: one confirmation, nothing stored, nothing more."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from glowline.intake.router import handle_text
from glowline.store.models import Client, ConsentEvent, Intake
from tests.stop_phrases import STOPS

# One valid answer for each intake question, in order.
ANSWERS = ["yes", "Ana", "1", "face", "no", "no", "no", "no", "no", "1", "weekday evenings"]


def _text(db, runtime, clinic, phone, body):
    replies = handle_text(db, runtime, clinic=clinic, from_number=phone, body=body, now=runtime.clock.now())
    db.commit()
    return replies


@pytest.mark.parametrize("index", range(len(STOPS)))
def test_an_opt_out_at_any_question_gets_one_confirmation_and_stores_nothing(db, runtime, clinic, index):
    phrase = STOPS[index]
    question = index % (len(ANSWERS) + 1)  # the last position is after the intake is finished
    phone = f"+1212555{7000 + index:04d}"
    _text(db, runtime, clinic, phone, "hi")
    for answer in ANSWERS[:question]:
        _text(db, runtime, clinic, phone, answer)
    intake = db.scalars(select(Intake).join(Client).where(Client.phone == phone)).one()
    before = dict(intake.answers or {})

    replies = _text(db, runtime, clinic, phone, phrase)
    assert len(replies) == 1 and "no more messages from Glow Clinic" in replies[0], (phrase, replies)
    db.refresh(intake)
    assert intake.answers == before, phrase
    assert _text(db, runtime, clinic, phone, "hello?") == []
    person = db.scalars(select(Client).where(Client.phone == phone)).one()
    assert person.opted_out
    assert db.scalars(select(ConsentEvent.wording).where(ConsentEvent.client_id == person.id,
                                                         ConsentEvent.action == "opt_out")).one() == phrase


def test_revoking_consent_mid_intake_is_not_taken_as_a_name(db, runtime, clinic):
    phone = "+12125557999"
    _text(db, runtime, clinic, phone, "hi")
    _text(db, runtime, clinic, phone, "yes")
    replies = _text(db, runtime, clinic, phone, "I revoke my consent")
    assert "Nice to meet you" not in " ".join(replies)
    assert "first_name" not in db.scalars(select(Intake)).one().answers


def test_a_probable_stop_gets_one_question_and_is_not_an_answer(db, runtime, clinic):
    phone = "+12125557998"
    _text(db, runtime, clinic, phone, "hi")
    _text(db, runtime, clinic, phone, "yes")
    assert _text(db, runtime, clinic, phone, "not interested") == [
        "Do you want to stop all messages from Glow Clinic? Reply STOP to confirm."]
    assert "first_name" not in db.scalars(select(Intake)).one().answers
    assert "no more messages" in _text(db, runtime, clinic, phone, "STOP")[0]


def test_how_do_i_unsubscribe_is_answered_and_the_question_asked_again(db, runtime, clinic):
    phone = "+12125557997"
    _text(db, runtime, clinic, phone, "hi")
    _text(db, runtime, clinic, phone, "yes")
    replies = _text(db, runtime, clinic, phone, "how do I unsubscribe?")
    assert "reply STOP" in replies[0] and "first name" in replies[1]
    assert not db.scalars(select(Client).where(Client.phone == phone)).one().opted_out
