"""A text's photos as they arrive: the media references Twilio sent become pending photo rows and download jobs.

The webhook only records Twilio's ids (``MediaUrlN`` read as message and media SIDs) and
answers; the download, checks and conversion are the job's (``glowline.photos.fetch``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.store.db import on_commit
from glowline.store.models import Client, Clinic
from glowline.store.photo_rows import Photo, PhotoStatus
from glowline.transports.media import media_ids

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio's limit per MMS
FETCH_JOB = "workers.photos.fetch_photo"


@dataclass(frozen=True)
class MediaRef:
    """One media item of an inbound MMS: Twilio's ids for it and the type Twilio declared."""

    message_sid: str
    media_sid: str
    declared_type: str


def media_refs(form: Mapping[str, str]) -> list[MediaRef]:
    """The media of a signed inbound text, in order; an item not in Twilio's URL form is left out (and logged by index)."""
    try:
        count = min(max(int(form.get("NumMedia") or 0), 0), MAX_MEDIA)
    except ValueError:
        return []
    refs = []
    for n in range(count):
        ids = media_ids(form.get(f"MediaUrl{n}") or "")
        if ids is None:
            log.warning("inbound media %d is not a Twilio media URL; left out", n)
            continue
        refs.append(MediaRef(ids[0], ids[1], (form.get(f"MediaContentType{n}") or "")[:100]))
    return refs


def enqueue_fetch(queue, photo_id: int, attempt: int, at: datetime | None = None) -> None:
    """Put one photo's download job into RQ (now, or at ``at``); the id only, never the URL or the client."""
    kwargs = dict(job_id=f"photo-{photo_id}-{attempt}", result_ttl=3600, failure_ttl=7 * 24 * 3600)
    if at is None:
        queue.enqueue(FETCH_JOB, photo_id, **kwargs)
    else:
        queue.enqueue_at(at, FETCH_JOB, photo_id, **kwargs)


def attach(db: Session, rt, *, clinic: Clinic, client: Client, refs: list[MediaRef], now: datetime,
           inbound_id: int | None = None, intake_id: int | None = None) -> list[Photo]:
    """Pending photo rows for ``refs`` (the client's, at any time), downloaded by jobs enqueued after commit."""
    photos = [Photo(public_id=secrets.token_hex(16), clinic_id=clinic.id, client_id=client.id, intake_id=intake_id,
                    inbound_id=inbound_id, message_sid=ref.message_sid, media_sid=ref.media_sid,
                    declared_type=ref.declared_type, status=PhotoStatus.PENDING, attempts=0, next_attempt_at=now,
                    received_at=now)
              for ref in refs]
    db.add_all(photos)
    db.flush()
    ids = [p.id for p in photos]

    def enqueue() -> None:
        try:
            for photo_id in ids:
                enqueue_fetch(rt.queue, photo_id, 1)
        except Exception:
            log.exception("could not enqueue photo downloads; the reconciler will retry them")

    on_commit(db, enqueue)
    return photos
