"""One photo's download job's work: fetch it from Twilio, check it, convert it, store it, delete it at Twilio.

Safe to run twice: only a ``pending`` photo is fetched, and a stored one is only deleted at
Twilio again if that is still owed. Downloads that fail are retried with backoff (the
attempt count is the row's, which survives a Redis flush); after the last one the photo is
``failed`` with the reason, on the client page and the queue page, never silent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.delivery.dispatch import Dispatcher
from glowline.exceptions import MediaError, PhotoStoreError
from glowline.messages.catalog import text
from glowline.photos import images
from glowline.photos.images import PhotoRefusal, Refused
from glowline.photos.inbound import enqueue_fetch
from glowline.store.models import Channel, Client, Clinic, MessageKind, MessageStatus, OutboxMessage
from glowline.store.photo_rows import Photo, PhotoStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=10)
DELETE_RETRY_MIN = timedelta(minutes=2)
DELETE_RETRY_MAX = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """Wait before download attempt ``attempts + 1``: 30 s, 60 s, 120 s, ... capped at 10 minutes."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def process(rt, db: Session, photo_id: int) -> str:
    """Download, check, convert, store and delete one photo at Twilio; returns what happened (for RQ's result)."""
    photo = db.get(Photo, photo_id)
    if photo is None:
        return "missing"
    if photo.status is not PhotoStatus.PENDING:
        if photo.deleted_at_twilio is None and photo.status in (PhotoStatus.STORED, PhotoStatus.REFUSED):
            return delete_at_twilio(rt, db, photo)
        return f"already_{photo.status.value}"
    now = rt.clock.now()
    photo.attempts = (photo.attempts or 0) + 1
    # Committed now: the attempt counts even if the job dies, and no write transaction stays open while the
    # database store writes through its own session.
    db.commit()
    try:
        data, _declared = rt.media.fetch(photo.message_sid, photo.media_sid, max_bytes=images.MAX_BYTES)
    except MediaError as exc:
        return _retry_or_fail(rt, db, photo, str(exc), retryable=exc.retryable, now=now)
    try:
        converted = images.convert(data)
    except Refused as refused:
        return _refuse_and_delete(rt, db, photo, refused.reason, now=now)
    except Exception:
        # A file the decoders choke on is not a photo we can show; the traceback names no client data.
        log.exception("photo %s: could not be decoded", photo.id)
        return _refuse_and_delete(rt, db, photo, PhotoRefusal.NOT_A_PHOTO, now=now)
    try:
        rt.photo_store.put(photo.image_key, converted.image, converted.content_type)
        rt.photo_store.put(photo.thumb_key, converted.thumbnail, "image/jpeg")
    except PhotoStoreError as exc:
        return _retry_or_fail(rt, db, photo, str(exc), retryable=True, now=now)
    photo.status = PhotoStatus.STORED
    photo.content_type = converted.content_type
    photo.size_bytes = len(converted.image)
    photo.width, photo.height = converted.width, converted.height
    photo.stored_at = now
    photo.next_attempt_at = None
    photo.last_error = None
    db.commit()
    return delete_at_twilio(rt, db, photo, outcome="stored")


def _refuse_and_delete(rt, db: Session, photo: Photo, reason: PhotoRefusal, *, now: datetime) -> str:
    _refuse(rt, db, photo, reason, now=now)
    db.commit()
    return delete_at_twilio(rt, db, photo, outcome=f"refused_{reason.value}")


def delete_backoff(owed_since: datetime, now: datetime) -> timedelta:
    """Wait before trying a failed delete again: half as long as it has been owed, 2 minutes to 6 hours.

    Stateless (no delete counter to keep): the waits grow geometrically, so a Twilio that keeps
    refusing (an expired key, an outage) is asked a few dozen times a week, not every tick.
    """
    return min(max((now - owed_since) / 2, DELETE_RETRY_MIN), DELETE_RETRY_MAX)


def delete_at_twilio(rt, db: Session, photo: Photo, *, outcome: str = "deleted") -> str:
    """Delete the media at Twilio (a client's photo must not stay on a third party); a failure is retried later."""
    try:
        rt.media.delete(photo.message_sid, photo.media_sid)
    except MediaError as exc:
        # The photo itself is safe; the periodic job tries the delete again, less often the longer it fails.
        now = rt.clock.now()
        photo.last_error = f"still at Twilio: {exc}"
        photo.next_attempt_at = now + delete_backoff(photo.stored_at or photo.received_at, now)
        db.commit()
        log.warning("photo %s: delete at Twilio failed (%s); retried by the periodic job", photo.id, exc.status)
        return f"{outcome}_delete_pending"
    photo.deleted_at_twilio = rt.clock.now()
    photo.next_attempt_at = None
    if photo.last_error and photo.last_error.startswith("still at Twilio"):
        photo.last_error = None
    db.commit()
    return outcome


def _retry_or_fail(rt, db: Session, photo: Photo, reason: str, *, retryable: bool, now: datetime) -> str:
    log.warning("photo %s: download attempt %s failed: %s", photo.id, photo.attempts, reason)
    if not retryable or photo.attempts >= MAX_ATTEMPTS:
        photo.status = PhotoStatus.FAILED
        photo.reason = "download_failed"
        photo.last_error = reason if not retryable else f"gave up after {photo.attempts} attempts: {reason}"
        photo.next_attempt_at = None
        db.commit()
        return "failed"
    photo.last_error = f"retrying: {reason}"
    photo.next_attempt_at = now + backoff(photo.attempts)
    db.commit()
    enqueue_fetch(rt.queue, photo.id, photo.attempts + 1, at=photo.next_attempt_at)
    return "retry_scheduled"


def _refuse(rt, db: Session, photo: Photo, reason: PhotoRefusal, *, now: datetime) -> None:
    """Mark the file refused and queue one kind reply (through the outbox, so consent and opt-out still apply)."""
    photo.status = PhotoStatus.REFUSED
    photo.reason = reason.value
    photo.next_attempt_at = None
    photo.last_error = "not a photo we take (JPEG, PNG, HEIC, WebP)" if reason is PhotoRefusal.NOT_A_PHOTO \
        else "larger than Twilio's 5 MB"
    client = db.get(Client, photo.client_id)
    clinic = db.get(Clinic, photo.clinic_id)
    if client is None or clinic is None or client.opted_out:
        return
    others = db.scalar(select(func.count(Photo.id)).where(Photo.message_sid == photo.message_sid, Photo.id != photo.id,
                                                          Photo.status == PhotoStatus.REFUSED))
    if others:
        return  # one kind reply per text, however many of its files were refused
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id, kind=MessageKind.CLIENT_NOTICE, channel=Channel.SMS,
                        to_number=client.phone, from_number=clinic.sending_number,
                        body=text(f"photo.refused.{reason.value}", client.locale, clinic=clinic.name), due_at=now,
                        status=MessageStatus.PENDING, created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    dispatcher: Dispatcher = rt.dispatcher
    dispatcher.schedule(db, [row])
