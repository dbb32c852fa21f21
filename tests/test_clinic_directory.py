"""The clinic directory: texts find their clinic and staff phones in a per-process cache that never hides its own changes."""

from __future__ import annotations

from sqlalchemy import update

from glowline.clinics.directory import ClinicDirectory
from glowline.store.models import Clinic, ClinicNumber, StaffPhone
from tests.helpers import CLINIC_NUMBER, twilio_post

NEW_STAFF = "+12125550177"
OTHER_NUMBER = "+12125550188"


def _text(client, body: str, *, sender: str, to: str = CLINIC_NUMBER, n: int):
    return twilio_post(client, "/twilio/sms", {"MessageSid": f"SM{n:032d}", "From": sender, "To": to, "Body": body,
                                               "NumMedia": "0"})


def test_a_staff_phone_added_or_removed_in_this_process_counts_from_the_next_text(client, db, clinic):
    first = _text(client, "hello", sender=NEW_STAFF, n=1)
    assert "PLAN" not in first.get_data(as_text=True)  # a client: the intake starts

    clinic.staff_phones.append(StaffPhone(number=NEW_STAFF))
    db.commit()
    as_staff = _text(client, "hello", sender=NEW_STAFF, n=2)
    assert "PLAN" in as_staff.get_data(as_text=True)  # the staff command list

    clinic.staff_phones = [p for p in clinic.staff_phones if p.number != NEW_STAFF]
    db.commit()
    again = _text(client, "hello", sender=NEW_STAFF, n=3)
    assert "PLAN" not in again.get_data(as_text=True)


def test_a_number_added_in_this_process_reaches_its_clinic_at_once(client, db, clinic):
    assert _text(client, "hi", sender="+12125550111", to=OTHER_NUMBER, n=1).status_code == 404

    clinic.numbers.append(ClinicNumber(number=OTHER_NUMBER))
    db.commit()
    reply = _text(client, "hi", sender="+12125550111", to=OTHER_NUMBER, n=2)
    assert reply.status_code == 200 and "Glow Clinic" in reply.get_data(as_text=True)


def test_a_change_made_elsewhere_is_seen_once_the_entry_expires(runtime, db, clinic):
    now = [0.0]
    directory = ClinicDirectory(runtime.sessions, ttl=10, clock=lambda: now[0])
    assert directory.by_number(db, CLINIC_NUMBER).name == "Glow Clinic"
    db.rollback()

    # Another process's change: a plain connection, not a session of this process.
    with runtime.engine.begin() as conn:
        conn.execute(update(Clinic.__table__).where(Clinic.__table__.c.id == clinic.id).values(name="Renamed"))
    db.expunge_all()
    now[0] = 9.0
    assert directory.by_number(db, CLINIC_NUMBER).name == "Glow Clinic"
    db.expunge_all()
    now[0] = 10.5
    assert directory.by_number(db, CLINIC_NUMBER).name == "Renamed"


def test_each_request_gets_its_own_copy(runtime, db, clinic):
    directory = ClinicDirectory(runtime.sessions, ttl=10)
    mine = directory.by_number(db, CLINIC_NUMBER)
    mine.name = "Changed here, never committed"
    db.rollback()
    with runtime.sessions() as other:
        assert directory.by_number(other, CLINIC_NUMBER).name == "Glow Clinic"
    assert directory.by_number(db, "+19995550100") is None


def test_a_change_committed_after_a_rolled_back_savepoint_still_reaches_the_next_text(client, db, clinic):
    assert "PLAN" not in _text(client, "hello", sender=NEW_STAFF, n=1).get_data(as_text=True)
    db.expire_all()
    clinic.staff_phones.append(StaffPhone(number=NEW_STAFF))
    db.flush()
    with db.begin_nested() as savepoint:
        clinic.name = "Not kept"
        db.flush()
        savepoint.rollback()
    db.commit()
    assert "PLAN" in _text(client, "hello", sender=NEW_STAFF, n=2).get_data(as_text=True)


def test_a_reminder_calls_clinic_by_id_follows_a_change_made_in_this_process(runtime, db, clinic):
    directory = ClinicDirectory(runtime.sessions, ttl=60)
    assert directory.by_id(db, clinic.id).name == "Glow Clinic"
    assert directory.by_id(db, clinic.id + 1000) is None

    clinic.name = "Renamed"
    db.commit()
    db.expunge_all()
    assert directory.by_id(db, clinic.id).name == "Renamed"
