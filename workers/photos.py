"""RQ job: download one photo a client sent, check and store it, then delete it at Twilio.

Takes the photo's row id only (no URL, no number, nothing of the client's in Redis) and
re-reads the row; safe to run twice (see ``glowline.photos.fetch``).
"""

from __future__ import annotations

import logging

from glowline.photos.fetch import process
from workers import context

log = logging.getLogger(__name__)


def fetch_photo(photo_id: int) -> str:
    """Fetch, check, convert and store one photo, and delete it at Twilio; returns what happened."""
    rt = context.current()
    with rt.sessions() as db:
        outcome = process(rt, db, int(photo_id))
    log.info("photo %s: %s", photo_id, outcome)
    return outcome
