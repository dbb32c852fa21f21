"""Helpers shared by the staff-surface tests (API, staff pages, staff SMS, browser); no tests here."""

from __future__ import annotations

from datetime import datetime, timezone

from glowline.store.models import Client, Intake, IntakeStatus

CLIENT_PHONE = "+12125550142"


def make_intake(db, clinic, *, phone: str = CLIENT_PHONE, concern: str | None = "acne scars",
                status: IntakeStatus = IntakeStatus.COMPLETE, flags: list | None = None) -> Intake:
    """Commit a finished intake for ``clinic`` from the client at ``phone``."""
    client = db.query(Client).filter_by(phone=phone).one_or_none()
    if client is None:
        client = Client(phone=phone)
        db.add(client)
    answers = {"name": "Dana", "concern": concern} if concern else {"name": "Dana"}
    intake = Intake(clinic_id=clinic.id, client=client, status=status, answers=answers, flags=flags or [],
                    completed_at=datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc))
    db.add(intake)
    db.commit()
    return intake


def in_redis(runtime, message_id: int) -> bool:
    """True when the outbox row has a send job in RQ (queued now or scheduled for later)."""
    from rq.registry import ScheduledJobRegistry

    ids = list(runtime.queue.job_ids) + ScheduledJobRegistry(queue=runtime.queue).get_job_ids()
    return any(i == f"outbox-{message_id}" or i.startswith(f"outbox-{message_id}-") for i in ids)
