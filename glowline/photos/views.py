"""What staff see of a client's photos: the list, and one photo's bytes for that clinic's staff only, audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.exceptions import NotFound, PhotoStoreError
from glowline.store.photo_rows import Photo, PhotoStatus

_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Image:
    """One photo's bytes as served: the full image or its thumbnail."""

    data: bytes
    content_type: str


def client_photos(db: Session, clinic_id: int, client_id: int) -> list[Photo]:
    """The client's photos at this clinic, newest first (every status: staff see refusals and failures too)."""
    return list(db.scalars(select(Photo).where(Photo.clinic_id == clinic_id, Photo.client_id == client_id)
                           .order_by(Photo.received_at.desc(), Photo.id.desc())))


def intake_photos(db: Session, clinic_id: int, intake_id: int) -> list[Photo]:
    """The photos sent while one intake was open, oldest first."""
    return list(db.scalars(select(Photo).where(Photo.clinic_id == clinic_id, Photo.intake_id == intake_id)
                           .order_by(Photo.id)))


def open_photo(db: Session, rt, *, clinic_id: int, public_id: str, actor: str, thumbnail: bool,
               now: datetime) -> Image:
    """One stored photo of this clinic; NotFound for any other (another clinic's looks exactly like none).

    A full view is written to the audit log (and committed) before the bytes are returned;
    a thumbnail is part of the client page, whose view is audited already.
    """
    photo = None
    if _PUBLIC_ID.fullmatch(public_id or ""):
        photo = db.scalar(select(Photo).where(Photo.public_id == public_id, Photo.clinic_id == clinic_id,
                                              Photo.status == PhotoStatus.STORED))
    if photo is None:
        raise NotFound("no such photo")
    try:
        data, content_type = rt.photo_store.get(photo.thumb_key if thumbnail else photo.image_key)
    except PhotoStoreError:
        raise NotFound("no such photo") from None
    if not thumbnail:
        audit.record(db, clinic_id=clinic_id, actor=actor, action=audit.AuditAction.PHOTO_VIEWED, now=now,
                     photo=photo.id, client=photo.client_id)
        db.commit()
    return Image(data, content_type)


def status_words(photo: Photo) -> str:
    """A photo's state in staff's words (never the client's data)."""
    if photo.status is PhotoStatus.STORED:
        return "stored"
    if photo.status is PhotoStatus.PENDING:
        return "downloading" + (f" ({photo.last_error})" if photo.last_error else "")
    if photo.status is PhotoStatus.REFUSED:
        return f"refused: {photo.last_error or photo.reason}; the client was told kindly"
    if photo.status is PhotoStatus.FAILED:
        return f"could not be downloaded: {photo.last_error or 'unknown error'}; ask the client to send it again"
    return "deleted under the clinic's retention setting"
