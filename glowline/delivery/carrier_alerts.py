"""A burst of carrier blocks on one clinic (30034 unregistered number, 30007 filtered as spam) raises one alert.

One blocked text is a row on the queue page; fifty in an hour mean the clinic's whole
traffic is being refused, which a person must hear about once, not find in hundreds of
failed rows. The alert is one audit event and one staff notice per clinic per
``ALERT_EVERY``; the queue page shows a banner while the burst lasts. The notice may be
blocked too (it goes out the same way), which is why the banner reads the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.delivery.notices import notify_staff
from glowline.store.models import AuditEvent, Clinic, OutboxMessage

log = logging.getLogger(__name__)

BURST_CODES = frozenset({30034, 30007})
BURST_SIZE = 5  # blocked texts in WINDOW that make a burst
WINDOW = timedelta(hours=1)
ALERT_EVERY = timedelta(hours=6)


def blocked_recently(db: Session, clinic_id: int, now: datetime) -> int:
    """How many of the clinic's texts carriers blocked (30034/30007) in the last WINDOW."""
    return db.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.clinic_id == clinic_id, OutboxMessage.error_code.in_(sorted(BURST_CODES)),
        OutboxMessage.updated_at >= now - WINDOW)) or 0


def banner(db: Session, clinic_id: int, now: datetime) -> str | None:
    """The queue page's alert while a burst lasts, else None (staff-facing words)."""
    count = blocked_recently(db, clinic_id, now)
    if count < BURST_SIZE:
        return None
    return (f"Carriers blocked {count} of this clinic's texts in the last hour (Twilio errors 30034/30007: number not "
            "registered for US A2P 10DLC, or filtered as spam). Texts will keep failing until this is fixed: register "
            "the clinic's number on a Messaging Service with an approved campaign (README: Messaging Services), then "
            "retry the failed texts.")


def check_burst(db: Session, rt, *, clinic: Clinic, code: int | None, now: datetime) -> bool:
    """After a blocked text: alert staff once when it completes a burst; True when this call raised the alert."""
    if code not in BURST_CODES:
        return False
    # One alert however many callbacks arrive at once: they queue on the clinic's row (PostgreSQL).
    db.execute(select(Clinic.id).where(Clinic.id == clinic.id).with_for_update())
    if blocked_recently(db, clinic.id, now) < BURST_SIZE:
        return False
    already = db.scalar(select(AuditEvent.id).where(
        AuditEvent.clinic_id == clinic.id, AuditEvent.action == audit.AuditAction.CARRIER_ALERT.value,
        AuditEvent.created_at >= now - ALERT_EVERY).limit(1))
    if already is not None:
        return False
    audit.record(db, clinic_id=clinic.id, actor="glowline", action=audit.AuditAction.CARRIER_ALERT, now=now,
                 code=code)
    notify_staff(db, rt, clinic=clinic, body=(
        f"{clinic.name}: carriers are blocking the clinic's texts (Twilio {code}). See the queue page; register "
        "the number for A2P 10DLC on a Messaging Service, then retry."), now=now)
    log.warning("clinic %s: burst of carrier blocks (%s); staff alerted once", clinic.id, code)
    return True
