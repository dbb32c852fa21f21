"""What happened at a visit: attended or no-show, and what each means for the messages that follow.

Attended releases aftercare a clinic holds until the visit is marked; a no-show cancels the
visit's aftercare and the next session's booking nudge (both assume the treatment happened),
sends the client one "we missed you" text offering to rebook, and tells staff.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from glowline.clinics.audit import AuditAction
from glowline.delivery import notices
from glowline.delivery.channels import channel_for
from glowline.exceptions import Conflict
from glowline.messages import dates, templates
from glowline.messages.links import PublicLinks
from glowline.messages.settings import MessageSettings
from glowline.plans import rebooking
from glowline.plans.outbox_rows import AFTER_VISIT_KINDS
from glowline.plans.service import (Dispatcher, _audit, _bump, _cancel, _open_messages,
                                    _require_active, _schedule, _session)
from glowline.plans.timeline import next_allowed_time, zone
from glowline.store.models import (MessageKind, MessageStatus, OutboxMessage, Plan, SessionStatus,
                                   TreatmentSession)

MARKABLE = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CALLBACK_REQUESTED)


def _markable(plan: Plan, number: int, now: datetime) -> TreatmentSession:
    _require_active(plan)
    row = _session(plan, number)
    if row.status not in MARKABLE:
        raise Conflict(f"session {number} is {row.status.value.replace('_', '-')}; it cannot be marked again")
    if row.starts_at > now:
        raise Conflict(f"session {number} has not started yet; mark it once the visit time has come")
    return row


def _next_live(plan: Plan, row: TreatmentSession) -> TreatmentSession | None:
    return next((s for s in plan.sessions if s.number > row.number and s.status is not SessionStatus.CANCELLED),
                None)


def release_held(db: Session, messages: list[OutboxMessage], *, plan: Plan, now: datetime) -> list[OutboxMessage]:
    """Held rows back to pending: due now (or when quiet hours end) if their time passed, skipped if too late."""
    clinic = plan.clinic
    tz = clinic.zone_for(plan.client)
    released = []
    for message in messages:
        due = max(message.due_at, next_allowed_time(now, tz, clinic.quiet_start, clinic.quiet_end))
        message.updated_at = now
        message.plan_version = plan.version
        if message.not_after is not None and due > message.not_after:
            message.status = MessageStatus.SKIPPED
            message.result = "held_until_too_late"
            message.finished_at = now
            continue
        message.status = MessageStatus.PENDING
        message.due_at = due
        released.append(message)
    return released


def mark_attended(db: Session, plan: Plan, number: int, *, actor: str, now: datetime,
                  dispatcher: Dispatcher | None = None) -> TreatmentSession:
    """Record that the client came; aftercare held for this (the clinic requires "attended") is released."""
    row = _markable(plan, number, now)
    row.status = SessionStatus.ATTENDED
    row.attendance_at = now
    following = _next_live(plan, row)
    held = [m for m in _open_messages(db, plan) if m.status is MessageStatus.HELD and m.kind in AFTER_VISIT_KINDS
            and (m.session_id == row.id
                 or (following is not None and m.session_id == following.id
                     and m.kind is MessageKind.BOOKING_NUDGE))]
    released = release_held(db, held, plan=plan, now=now)
    _audit(db, plan, AuditAction.SESSION_ATTENDED, actor, now, session=number)
    _schedule(db, dispatcher, released)
    return row


def mark_no_show(db: Session, rt, plan: Plan, number: int, *, actor: str, now: datetime) -> TreatmentSession:
    """Record that the client did not come: no aftercare, one "we missed you" text, and staff told."""
    row = _markable(plan, number, now)
    row.status = SessionStatus.NO_SHOW
    row.attendance_at = now
    following = _next_live(plan, row)
    _bump(db, plan, now, cancel={row.id})
    if following is not None:
        # The next session's nudge was timed from this visit's aftercare; the rebook offer replaces it.
        for message in _open_messages(db, plan):
            if message.session_id == following.id and message.kind is MessageKind.BOOKING_NUDGE:
                _cancel(message, now)
    # With opening hours set, the client picks a new time by number; otherwise staff call.
    offered = rebooking.offer(db, row, catalog=rt.catalog, now=now)
    missed = _missed_text(plan, row, now=now, links=rt.links,
                          choices=rebooking.offer_text(plan.clinic, offered, plan.client.locale,
                                                                 client=plan.client) if offered is not None else None)
    db.add(missed)
    _audit(db, plan, AuditAction.SESSION_NO_SHOW, actor, now, session=number)
    _schedule(db, rt.dispatcher, [missed])
    # Minimum necessary in a staff SMS: numbers only; the plan page has the rest.
    notices.notify_staff(db, rt, clinic=plan.clinic, now=now,
                        body=f"{plan.clinic.name}: plan {plan.id} session {number} was marked no-show. "
                             + ("The client was offered new times by text; details on the staff page."
                                if offered is not None else "Please call the client to rebook; details on the staff page."))
    return row


def _missed_text(plan: Plan, row: TreatmentSession, *, now: datetime, choices: str | None,
                 links: PublicLinks) -> OutboxMessage:
    settings = MessageSettings.from_clinic(plan.clinic, links=links)
    tz = plan.clinic.zone_for(plan.client)
    local = row.starts_at.astimezone(zone(tz))
    locale = plan.client.locale
    body = templates.render("missed_session_offer" if choices else "missed_session", settings, locale,
                            date=dates.format_date(local, locale), time=dates.format_time(local, locale),
                            session_number=row.number, total_sessions=plan.session_count, choices=choices)
    return OutboxMessage(
        clinic=plan.clinic, client=plan.client, plan=plan, session=row, plan_version=plan.version,
        kind=MessageKind.MISSED_SESSION,
        # A caller can pick an offered time by keypad; without times to offer a text says it all.
        channel=plan.client.preferred_channel if choices else channel_for(MessageKind.MISSED_SESSION,
                                                                          plan.client.preferred_channel),
        to_number=plan.client.phone, from_number=plan.clinic.sending_number, body=body,
        due_at=next_allowed_time(now, tz, settings.quiet_start, settings.quiet_end), not_after=None,
        status=MessageStatus.PENDING, created_at=now, updated_at=now,
    )
