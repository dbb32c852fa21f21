"""Photos by MMS: stored once downloaded, thumbnailed, EXIF gone, deleted at Twilio, shown to that clinic's staff only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from glowline.store.models import AuditEvent, Client, Intake, MessageKind, OutboxMessage
from glowline.store.photo_rows import Photo, PhotoStatus
from tests.helpers import CLIENT_NUMBER, log_in_staff, make_clinic, photo_bytes, send_mms
from tests.worker_helpers import advance, work


def ticks(runtime, clock, *, hours: int, every: timedelta = timedelta(minutes=2)) -> None:
    """Run the periodic reconcile job every ``every`` of test time for ``hours``, as workers do."""
    from workers.jobs import reconcile

    end = clock.now() + timedelta(hours=hours)
    while clock.now() < end:
        clock.set(clock.now() + every)
        reconcile()
        work(runtime)


def photos(db) -> list[Photo]:
    db.expire_all()
    return list(db.scalars(select(Photo).order_by(Photo.id)))


def location(data: bytes) -> dict:
    """The EXIF GPS block of an image (empty when there is none)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(0x8825))


def no_location(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
    return not location(data) and 0x8825 not in exif and b"PhoneMaker" not in data  # no EXIF at all


@pytest.mark.parametrize("count", [1, 3, 10])
def test_mms_photos_are_stored_thumbnailed_stripped_and_deleted_at_twilio(client, db, clinic, runtime, fake_twilio,
                                                                          count):
    files = [(photo_bytes("JPEG"), "image/jpeg") for _ in range(count)]
    assert all(location(data)[1] == "N" for data, _ in files)  # the phone's location is in what arrives
    response, message_sid, sids = send_mms(client, fake_twilio, files, body="Ana")
    assert response.status_code == 200
    assert [p.status for p in photos(db)] == [PhotoStatus.PENDING] * count  # stored as references, answered at once
    assert fake_twilio.media_downloads() == []

    work(runtime)

    stored = photos(db)
    assert [p.status for p in stored] == [PhotoStatus.STORED] * count
    assert {p.media_sid for p in stored} == set(sids)
    assert sorted(fake_twilio.deleted_media()) == sorted((message_sid, s) for s in sids)
    assert fake_twilio.media_left() == []
    assert all(auth_ok for _, auth_ok in fake_twilio.media_downloads())
    for photo in stored:
        data, content_type = runtime.photo_store.get(photo.image_key)
        thumb, thumb_type = runtime.photo_store.get(photo.thumb_key)
        assert content_type == "image/jpeg" and no_location(data) and no_location(thumb)
        with Image.open(io.BytesIO(thumb)) as small:
            assert thumb_type == "image/jpeg" and max(small.size) <= 320
        with Image.open(io.BytesIO(data)) as full:
            assert full.size == (640, 480)


def test_a_photo_is_shown_to_its_clinics_staff_only(app, client, db, clinic, runtime, fake_twilio):
    send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")])
    work(runtime)
    photo = photos(db)[0]
    url, thumb = f"/staff/photos/{photo.public_id}", f"/staff/photos/{photo.public_id}/thumb"

    assert client.get(url).status_code == 404  # anonymous: not even a login page saying it exists
    assert client.get(thumb).status_code == 404
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=())
    stranger = log_in_staff(app.test_client(), db, other, "bea")
    assert stranger.get(url).status_code == 404 and stranger.get(thumb).status_code == 404

    staff = log_in_staff(app.test_client(), db, clinic, "ana")
    page = staff.get(f"/staff/clients/{photo.client_id}").get_data(as_text=True)
    assert thumb in page and url in page
    answer = staff.get(url)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert no_location(answer.data)
    viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "photo_viewed")).all()
    assert [(e.actor, e.details["photo"]) for e in viewed] == [("staff ana", photo.id)]
    assert staff.get(f"/staff/photos/{'0' * 32}").status_code == 404
    assert staff.get("/staff/photos/not-an-id").status_code == 404


def test_a_heic_photo_becomes_a_jpeg(client, db, clinic, runtime, fake_twilio):
    send_mms(client, fake_twilio, [(photo_bytes("HEIF"), "image/heic")])
    work(runtime)
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.STORED and photo.content_type == "image/jpeg"
    data, _ = runtime.photo_store.get(photo.image_key)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (640, 480)
    assert no_location(data)
    assert fake_twilio.media_left() == []


@pytest.mark.parametrize(("data", "declared", "reason", "words"), [
    (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf", "not_a_photo", "we can only receive photos"),
    # Declared a JPEG, but larger than Twilio's 5 MB: judged by what arrives, not by the label.
    (b"\xff\xd8\xff\xe0" + b"\0" * (8 * 1024 * 1024), "image/jpeg", "too_large", "too large"),
])
def test_a_file_that_is_not_a_photo_we_take_is_refused_kindly(client, db, clinic, runtime, fake_twilio, data, declared,
                                                               reason, words):
    send_mms(client, fake_twilio, [(data, declared)])
    work(runtime)
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.REFUSED and photo.reason == reason
    reply = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CLIENT_NOTICE))
    assert reply is not None and words in reply.body and reply.to_number == CLIENT_NUMBER
    assert fake_twilio.media_left() == []  # refused files do not stay at Twilio either
    assert photo.image_key and db.scalar(select(Photo.stored_at)) is None


def test_a_refused_file_is_answered_in_spanish_to_a_spanish_speaker(client, db, clinic, runtime, fake_twilio):
    db.add(Client(clinic_id=clinic.id, phone=CLIENT_NUMBER, language="es"))
    db.commit()
    send_mms(client, fake_twilio, [(b"%PDF-1.4 not an image", "application/pdf")] * 2)
    work(runtime)
    replies = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CLIENT_NOTICE)).all()
    assert len(replies) == 1 and "solo podemos recibir fotos" in replies[0].body  # one reply for the text, not per file


def test_a_download_that_fails_twice_then_succeeds(client, db, clinic, runtime, fake_twilio, clock):
    _, _, sids = send_mms(client, fake_twilio, [(photo_bytes("PNG"), "image/png")])
    fake_twilio.fail_media(sids[0], 2)
    work(runtime)
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.PENDING and photo.attempts == 1 and "500" in photo.last_error
    advance(runtime, clock, timedelta(minutes=5))
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.STORED and photo.attempts == 3 and photo.content_type == "image/png"
    assert len(fake_twilio.media_downloads()) == 3 and fake_twilio.media_left() == []


def test_a_download_that_keeps_failing_is_shown_to_staff(app, client, db, clinic, runtime, fake_twilio, clock):
    _, _, sids = send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")])
    fake_twilio.fail_media(sids[0], 20)
    advance(runtime, clock, timedelta(hours=1))
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.FAILED and photo.attempts == 5
    staff = log_in_staff(app.test_client(), db, clinic, "ana")
    assert "could not be downloaded" in staff.get(f"/staff/clients/{photo.client_id}").get_data(as_text=True)
    assert "1 client photo could not be downloaded" in staff.get("/staff/queue").get_data(as_text=True)


def test_a_delete_twilio_keeps_refusing_is_tried_less_and_less_often_until_it_works(client, db, clinic, runtime,
                                                                                  fake_twilio, clock):
    _, _, sids = send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")])
    fake_twilio.fail_media_delete(sids[0], 1000)
    work(runtime)
    photo = photos(db)[0]
    assert photo.status is PhotoStatus.STORED and photo.deleted_at_twilio is None
    assert "still at Twilio" in photo.last_error
    ticks(runtime, clock, hours=6)
    # A try on every reconcile tick for 6 hours would be hundreds; waits of half its age are about a dozen.
    tries = len(fake_twilio.delete_attempts())
    assert 4 <= tries <= 15, tries
    fake_twilio.fail_media_delete(sids[0], 0)
    ticks(runtime, clock, hours=7)
    photo = photos(db)[0]
    assert photo.deleted_at_twilio is not None and fake_twilio.media_left() == []
    assert not (photo.last_error or "").startswith("still at Twilio")


def test_photo_question_in_the_intake_and_captions_are_never_answers(client, db, clinic, runtime, fake_twilio):
    from tests.helpers import twilio_post

    def text(body):
        return twilio_post(client, "/twilio/sms", {"MessageSid": "SM" + __import__("uuid").uuid4().hex,
                                                   "From": CLIENT_NUMBER, "To": clinic.numbers[0].number,
                                                   "Body": body}).get_data(as_text=True)

    text("hi")
    text("yes")
    # A photo (with a caption) before the name question was answered: the caption is not a name.
    response, _, _ = send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")], body="Maria")
    reply = response.get_data(as_text=True)
    assert "Thank you for the photo!" in reply and "first name" in reply
    intake = db.scalar(select(Intake))
    db.refresh(intake)
    assert "first_name" not in intake.answers
    text("Ana")
    text("1")
    asked = text("face")
    assert "send a photo of the area" in asked
    assert "SKIP" in text("maybe later")  # words do not answer it; the hint says how to skip
    response, _, _ = send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")], body="my cheek")
    assert "pregnant" in response.get_data(as_text=True)
    db.refresh(intake)
    assert intake.answers["photo"] == "sent" and intake.answers["first_name"] == "Ana"
    assert {p.intake_id for p in photos(db)} == {intake.id}


@pytest.mark.parametrize(("language", "skip"), [("en", "skip"), ("en", "No"), ("es", "omitir"), ("es", "no")])
def test_the_photo_question_can_be_skipped(client, db, clinic, runtime, fake_twilio, language, skip):
    from tests.helpers import twilio_post

    def text(body):
        return twilio_post(client, "/twilio/sms", {"MessageSid": "SM" + __import__("uuid").uuid4().hex,
                                                   "From": CLIENT_NUMBER, "To": clinic.numbers[0].number,
                                                   "Body": body}).get_data(as_text=True)

    text("hi")
    if language == "es":
        assert "OMITIR" not in text("ES")
    for answer in ("yes", "Ana", "1", "1"):
        asked = text(answer)
    assert ("Envíela ahora o responda OMITIR" if language == "es" else "Send it now, or reply SKIP") in asked
    # The next question, in the client's language.
    assert ("embarazada" if language == "es" else "pregnant") in text(skip)
    intake = db.scalar(select(Intake))
    assert intake.answers["photo"] == "skipped"


def test_a_photo_after_the_intake_attaches_to_the_client_for_the_inbox(client, db, clinic, runtime, fake_twilio):
    from tests.helpers import make_intake

    intake = make_intake(db, clinic, phone=CLIENT_NUMBER)
    response, _, _ = send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")], body="C")
    assert "got your photo" in response.get_data(as_text=True)
    photo = photos(db)[0]
    assert photo.client_id == intake.client_id and photo.intake_id is None


def test_the_api_lists_a_clients_photos_with_authenticated_download_links(client, db, clinic, runtime, fake_twilio):
    from glowline.clinics.service import create_api_token

    send_mms(client, fake_twilio, [(photo_bytes("JPEG"), "image/jpeg"), (b"%PDF-1.4", "application/pdf")])
    work(runtime)
    _, token = create_api_token(db, clinic, "booking")
    other = make_clinic(db, name="Other Clinic", number="+13105550100", staff=())
    _, stranger = create_api_token(db, other, "theirs")
    db.commit()
    person = db.scalar(select(Client))
    mine = {"Authorization": f"Bearer {token}"}
    listed = client.get(f"/api/clients/{person.id}/photos", headers=mine).json["photos"]
    assert sorted(p["status"] for p in listed) == ["refused", "stored"]
    stored = next(p for p in listed if p["status"] == "stored")
    refused = next(p for p in listed if p["status"] == "refused")
    assert refused["download_url"] is None and "told kindly" in refused["state"]
    assert client.get(stored["download_url"]).status_code == 401  # the link alone opens nothing
    answer = client.get(stored["download_url"], headers=mine)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg" and no_location(answer.data)
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert client.get(stored["thumbnail_url"], headers=mine).status_code == 200
    theirs = {"Authorization": f"Bearer {stranger}"}
    assert client.get(stored["download_url"], headers=theirs).status_code == 404
    assert client.get(f"/api/clients/{person.id}/photos", headers=theirs).status_code == 404
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "photo_viewed")).actor == "api token booking"
