"""Photo housekeeping for the periodic job: expire photos past the clinic's retention, and catch up what Redis lost.

A photo is kept while its client has an active plan, then ``photo_retention_days`` (365 by
default) after the later of its arrival and the client's last plan ending. An expired photo's
bytes are deleted from the store; its row stays (``expired``) as the record that it existed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.exceptions import PhotoStoreError
from glowline.photos.inbound import enqueue_fetch
from glowline.store.models import Clinic, Plan, PlanStatus
from glowline.store.photo_rows import Photo, PhotoStatus

log = logging.getLogger(__name__)

BATCH = 200
# A pending photo whose next attempt is this far past due lost its job (a Redis flush): enqueue it again.
LOST_AFTER = timedelta(minutes=2)
KEPT = (PhotoStatus.STORED, PhotoStatus.FAILED, PhotoStatus.REFUSED)


def _expires_at(db: Session, photo: Photo, clinic: Clinic) -> datetime | None:
    """When the photo may be deleted, or None while its client has an active plan."""
    plans = db.execute(select(Plan.status, Plan.completed_at, Plan.cancelled_at)
                       .where(Plan.clinic_id == photo.clinic_id, Plan.client_id == photo.client_id)).all()
    if any(p.status is PlanStatus.ACTIVE for p in plans):
        return None
    ended = [t for p in plans for t in (p.completed_at, p.cancelled_at) if t is not None]
    start = max([photo.received_at, *ended])
    return start + timedelta(days=clinic.photo_retention_days or 365)


def expire_photos(db: Session, rt, *, now: datetime) -> int:
    """Delete the bytes of every photo past its clinic's retention (committed); how many expired."""
    photos = db.scalars(select(Photo).where(Photo.status.in_(KEPT)).order_by(Photo.id).limit(BATCH * 5)).all()
    clinics: dict[int, Clinic | None] = {}
    due = []
    for photo in photos:
        if photo.clinic_id not in clinics:
            clinics[photo.clinic_id] = db.get(Clinic, photo.clinic_id)
        clinic = clinics[photo.clinic_id]
        expires = _expires_at(db, photo, clinic) if clinic is not None else None
        if expires is not None and expires <= now:
            due.append(photo)
    # End the reading transaction first: the database store deletes through its own sessions.
    db.commit()
    done = 0
    for photo in due[:BATCH]:
        try:
            rt.photo_store.delete(photo.image_key)
            rt.photo_store.delete(photo.thumb_key)
        except PhotoStoreError:
            log.warning("photo %s: could not delete expired bytes; tried again next run", photo.id)
            continue
        photo.status = PhotoStatus.EXPIRED
        photo.expired_at = now
        db.commit()
        done += 1
    if done:
        log.info("photos: %d expired under the clinics' retention", done)
    return done


def catch_up(db: Session, rt, *, now: datetime) -> int:
    """Enqueue again the downloads Redis lost, and the deletes at Twilio still owed; how many."""
    lost = db.scalars(select(Photo.id).where(Photo.status == PhotoStatus.PENDING,
                                             Photo.next_attempt_at < now - LOST_AFTER).limit(BATCH)).all()
    owed = db.scalars(select(Photo.id).where(Photo.status.in_((PhotoStatus.STORED, PhotoStatus.REFUSED)),
                                             Photo.deleted_at_twilio.is_(None),
                                             Photo.stored_at.is_(None) | (Photo.stored_at < now - LOST_AFTER),
                                             # A delete that failed waits for its next try (fetch.delete_backoff).
                                             Photo.next_attempt_at.is_(None) | (Photo.next_attempt_at <= now))
                      .limit(BATCH)).all()
    for photo_id in [*lost, *owed]:
        # The minute in the id keeps one catch-up per photo per run, whatever else is queued.
        enqueue_fetch(rt.queue, photo_id, 1000 + int(now.timestamp()) // 60)
    return len(lost) + len(owed)


def failed_count(db: Session, clinic_id: int) -> int:
    """How many of the clinic's photos could not be downloaded (shown on the queue page)."""
    return db.scalar(select(func.count(Photo.id)).where(Photo.clinic_id == clinic_id,
                                                         Photo.status == PhotoStatus.FAILED)) or 0
