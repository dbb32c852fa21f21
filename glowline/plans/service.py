"""The plan service: start, move and cancel treatment plans and keep their outbox in step.

Functions here change the session they are given and never commit: the caller owns the
transaction, and the dispatcher enqueues only after that commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol as TypingProtocol
from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.messages import dates, templates
from glowline.clinics.audit import AuditAction
from glowline.delivery.channels import channel_for
from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.store.models import (OPEN_STATUSES, Client, Clinic, Intake, IntakeStatus,
                             MessageKind, MessageStatus, OutboxMessage, Plan, PlanStatus, SessionStatus,
                             TreatmentSession)
from glowline.catalog.protocols import Catalog, Protocol
from glowline.plans.timeline import (MessageSettings, PlannedMessage, PlannedSession, build_timeline,
                               next_allowed_time, require_aware, session_messages, space_sessions, zone)

SKIPPED_PAST_DUE = "past_due_at_creation"


class Dispatcher(TypingProtocol):
    """What the plan service needs from the dispatcher: schedule rows once the caller commits."""

    def schedule(self, db: Session, messages: Iterable[OutboxMessage]) -> None:
        """Schedule these outbox rows (after commit)."""


def _row(plan: Plan, session: TreatmentSession | None, message: PlannedMessage, *, sender: str,
         now: datetime) -> OutboxMessage:
    """An outbox row for a planned message; one already past due is recorded as skipped, not sent late.

    A 48-hour reminder for a session 10 hours away would go out at once, out of order with
    the plan confirmation that already names the date, and the delivery side would have to
    guess whether a late reminder still makes sense. Recording it skipped keeps the history
    honest (the clinic sees why no 48h reminder went out) without sending anything.
    """
    skipped = message.due_at <= now
    return OutboxMessage(
        clinic=plan.clinic, client=plan.client, plan=plan, session=session,
        plan_version=plan.version, kind=MessageKind(message.kind),
        channel=channel_for(MessageKind(message.kind), plan.client.preferred_channel),
        to_number=plan.client.phone, from_number=sender, body=message.body, due_at=message.due_at,
        not_after=message.not_after,
        status=MessageStatus.SKIPPED if skipped else MessageStatus.PENDING,
        result=SKIPPED_PAST_DUE if skipped else None, finished_at=now if skipped else None,
        created_at=now, updated_at=now,
    )


def _confirmation(plan: Plan, first: TreatmentSession, settings: MessageSettings, *, sender: str,
                  now: datetime) -> OutboxMessage:
    """The plan confirmation, due now or, in quiet hours, when they end."""
    tz = plan.clinic.zone_for(plan.client)
    local = first.starts_at.astimezone(zone(tz))
    body = templates.render("plan_confirmation", settings, date=dates.format_date(local),
                            time=dates.format_time(local), session_number=1,
                            total_sessions=plan.session_count)
    due = next_allowed_time(now, tz, settings.quiet_start, settings.quiet_end)
    return OutboxMessage(
        clinic=plan.clinic, client=plan.client, plan=plan, session=first, plan_version=plan.version,
        kind=MessageKind.PLAN_CONFIRMATION,
        channel=channel_for(MessageKind.PLAN_CONFIRMATION, plan.client.preferred_channel), to_number=plan.client.phone,
        from_number=sender, body=body, due_at=due, not_after=first.starts_at, status=MessageStatus.PENDING,
        created_at=now, updated_at=now,
    )


def _audit(db: Session, plan: Plan, action: AuditAction, actor: str, now: datetime, **details) -> None:
    audit.record(db, clinic_id=plan.clinic_id, actor=actor, action=action, now=now, plan_id=plan.id,
                 version=plan.version, **details)


def _schedule(db: Session, dispatcher: Dispatcher | None, rows: list[OutboxMessage]) -> None:
    pending = [r for r in rows if r.status is MessageStatus.PENDING]
    db.flush()
    if dispatcher is not None and pending:
        dispatcher.schedule(db, pending)


def create_plan(db: Session, *, clinic: Clinic, client: Client, protocol: Protocol, catalog_version: str,
                first_session_at: datetime, sessions: int | None = None, interval_weeks: int | None = None,
                intake: Intake | None = None, actor: str, now: datetime,
                dispatcher: Dispatcher | None = None) -> Plan:
    """Write a plan (version 1), its sessions, every message, the confirmation and an audit event."""
    require_aware(first_session_at, "first_session_at")
    require_aware(now, "now")
    if first_session_at <= now:
        raise ValidationError("the first session must be in the future", field="first_session_at")
    if intake is not None and (intake.clinic_id != clinic.id or intake.client_id != client.id):
        raise NotFound("intake not found for this clinic and client")
    settings = MessageSettings.from_clinic(clinic)
    sender = clinic.sending_number
    timeline = build_timeline(protocol, first_session_at, settings, sessions=sessions,
                              interval_weeks=interval_weeks, channel=client.preferred_channel.value,
                              client_timezone=clinic.zone_for(client))
    plan = Plan(clinic=clinic, client=client, intake_id=intake.id if intake is not None else None,
                protocol_id=protocol.id, protocols_version=catalog_version, session_count=len(timeline.sessions),
                interval_weeks=interval_weeks or protocol.interval_weeks.default, status=PlanStatus.ACTIVE,
                version=1, created_by=actor, created_at=now)
    db.add(plan)
    rows_by_number = {}
    for planned in timeline.sessions:
        row = TreatmentSession(number=planned.number, starts_at=planned.starts_at,
                               duration_minutes=settings.session_minutes, status=SessionStatus.SCHEDULED)
        plan.sessions.append(row)
        rows_by_number[planned.number] = row
    db.flush()
    rows = [_confirmation(plan, rows_by_number[1], settings, sender=sender, now=now)]
    rows += [_row(plan, rows_by_number[m.session_number], m, sender=sender, now=now) for m in timeline.messages]
    db.add_all(rows)
    if intake is not None:
        intake.status = IntakeStatus.PLANNED
    _audit(db, plan, AuditAction.PLAN_STARTED, actor, now, protocol_id=protocol.id, sessions=plan.session_count,
           interval_weeks=plan.interval_weeks)
    _schedule(db, dispatcher, rows)
    return plan


def _open_messages(db: Session, plan: Plan) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                       OutboxMessage.status.in_(OPEN_STATUSES))))


def _cancel(message: OutboxMessage, now: datetime) -> None:
    message.status = MessageStatus.CANCELLED
    message.finished_at = now
    message.updated_at = now


def _bump(db: Session, plan: Plan, now: datetime, cancel: Collection[int | None]) -> None:
    """New version; cancel open rows of the sessions in ``cancel``, re-stamp the other open rows.

    A job already queued for a cancelled row sees an old version (or a cancelled status)
    and does nothing; the re-stamped rows stay current.
    """
    plan.version += 1
    for message in _open_messages(db, plan):
        if message.session_id in cancel:
            _cancel(message, now)
        else:
            message.plan_version = plan.version
            message.updated_at = now


def _session(plan: Plan, number: int) -> TreatmentSession:
    for row in plan.sessions:
        if row.number == number:
            return row
    raise NotFound(f"plan has no session {number}; it has sessions 1 to {len(plan.sessions)}")


def _require_active(plan: Plan) -> None:
    if plan.status is not PlanStatus.ACTIVE:
        raise Conflict(f"the plan is {plan.status.value}; only an active plan can change")


def move_session(db: Session, plan: Plan, number: int, new_start: datetime, *, shift_later: bool, actor: str,
                 now: datetime, catalog: Catalog, dispatcher: Dispatcher | None = None) -> Plan:
    """Move one session (and, with ``shift_later``, every later one by the plan interval) and redo their messages."""
    require_aware(new_start, "starts_at")
    _require_active(plan)
    if new_start <= now:
        raise ValidationError("the new time must be in the future", field="starts_at")
    protocol = catalog.get(plan.protocol_id)
    settings = MessageSettings.from_clinic(plan.clinic)
    client_tz = plan.clinic.zone_for(plan.client)
    channel = plan.client.preferred_channel.value
    ordered = list(plan.sessions)
    target = _session(plan, number)
    if target.status is SessionStatus.CANCELLED:
        raise Conflict(f"session {number} is cancelled")
    old_start = target.starts_at
    index = ordered.index(target)
    previous = next((s for s in reversed(ordered[:index]) if s.status is not SessionStatus.CANCELLED), None)
    if previous is not None and new_start < previous.starts_at + timedelta(minutes=previous.duration_minutes):
        raise ValidationError(f"session {number} cannot start before session {previous.number} ends",
                              field="starts_at")
    later = [s for s in ordered[index + 1:] if s.status is not SessionStatus.CANCELLED]
    moved = [target] + (later if shift_later else [])
    if not shift_later and later and new_start + timedelta(minutes=target.duration_minutes) > later[0].starts_at:
        raise ValidationError(f"session {number} must end before session {later[0].number} starts, "
                              "or shift the later sessions too", field="starts_at")
    starts = space_sessions(new_start, len(moved), plan.interval_weeks, settings.timezone)
    for row, start in zip(moved, starts, strict=False):
        row.starts_at = start
        # A confirmation was for the old time; the client must confirm the new one.
        row.status = SessionStatus.SCHEDULED
        row.confirmed_at = None
    moved_ids = {row.id for row in moved}
    neighbour = later[0] if later and not shift_later else None
    open_before = {(m.session_id, m.kind) for m in _open_messages(db, plan)}
    _bump(db, plan, now, cancel=moved_ids)
    if neighbour is not None:
        # The neighbour's booking nudge is timed from this session's aftercare; its reminders are unchanged.
        for message in _open_messages(db, plan):
            if message.session_id == neighbour.id and message.kind is MessageKind.BOOKING_NUDGE:
                _cancel(message, now)
    sender = plan.clinic.sending_number
    live = [s for s in ordered if s.status is not SessionStatus.CANCELLED]
    planned = {s.id: PlannedSession(s.number, s.starts_at, s.starts_at + timedelta(minutes=s.duration_minutes))
               for s in live}
    rows: list[OutboxMessage] = []
    for row in moved + ([neighbour] if neighbour is not None else []):
        position = live.index(row)
        before = live[position - 1] if position > 0 else None
        after = live[position + 1] if position + 1 < len(live) else None
        wanted: list[PlannedMessage] = []
        if before is not None:
            wanted += [m for m in session_messages(protocol, planned[before.id], planned[row.id], settings, channel,
                                                   client_tz, total_sessions=plan.session_count)
                       if m.session_number == row.number]
        if row is not neighbour:
            wanted += [m for m in session_messages(protocol, planned[row.id],
                                                   planned[after.id] if after is not None else None,
                                                   settings, channel, client_tz, total_sessions=plan.session_count)
                       if m.session_number == row.number]
        elif (row.id, MessageKind.BOOKING_NUDGE) not in open_before:
            # Its nudge already went out (or never existed): do not send a second one.
            wanted = []
        rows += [_row(plan, row, m, sender=sender, now=now) for m in wanted]
        if row.number == 1 and (row.id, MessageKind.PLAN_CONFIRMATION) in open_before:
            # The confirmation had not gone out yet and names the old date: send the new one instead.
            rows.append(_confirmation(plan, row, settings, sender=sender, now=now))
    db.add_all(rows)
    _audit(db, plan, AuditAction.SESSION_MOVED, actor, now, session=number, shift_later=shift_later,
           moved_sessions=[r.number for r in moved], old_start=old_start.isoformat(),
           new_start=target.starts_at.isoformat())
    _schedule(db, dispatcher, rows)
    return plan


def cancel_session(db: Session, plan: Plan, number: int, *, actor: str, now: datetime) -> Plan:
    """Cancel one session and its pending messages; the other sessions keep theirs."""
    _require_active(plan)
    row = _session(plan, number)
    if row.status is SessionStatus.CANCELLED:
        raise Conflict(f"session {number} is already cancelled")
    row.status = SessionStatus.CANCELLED
    _bump(db, plan, now, cancel={row.id})
    _audit(db, plan, AuditAction.SESSION_CANCELLED, actor, now, session=number)
    db.flush()
    return plan


def cancel_plan(db: Session, plan: Plan, *, actor: str, now: datetime) -> Plan:
    """Cancel a plan, its future sessions and every pending message; cancelling twice changes nothing."""
    if plan.status is PlanStatus.CANCELLED:
        return plan
    _require_active(plan)
    plan.status = PlanStatus.CANCELLED
    plan.cancelled_at = now
    for row in plan.sessions:
        if row.starts_at > now and row.status is not SessionStatus.CANCELLED:
            row.status = SessionStatus.CANCELLED
    _bump(db, plan, now, cancel={*(row.id for row in plan.sessions), None})
    _audit(db, plan, AuditAction.PLAN_CANCELLED, actor, now)
    db.flush()
    return plan
