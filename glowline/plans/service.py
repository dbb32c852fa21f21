"""The plan service: start, move and cancel treatment plans and keep their outbox in step.

Functions here change the session they are given and never commit: the caller owns the
transaction, and the dispatcher enqueues only after that commit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol as TypingProtocol
from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.compliance import consent
from glowline.messages import dates, templates
from glowline.messages.links import PublicLinks
from glowline.clinics.audit import AuditAction
from glowline.delivery.channels import channel_for
from glowline.exceptions import Conflict, NeedsConfirmation
from glowline.store.models import (UNSENT_STATUSES, Client, Clinic, Intake, MessageKind, MessageStatus,
                                   OutboxMessage, Plan, PlanStatus, SessionStatus, TreatmentSession)
from glowline.catalog.protocols import Catalog, Protocol
from glowline.plans.moves import MoveChange, find_session, plan_move
from glowline.plans.drafts import Recipient, draft_plan
from glowline.plans.outbox_rows import confirmation_columns, message_columns
from glowline.plans.timeline import MessageSettings, PlannedMessage, next_allowed_time, require_aware, zone
from glowline.plans.writer import NewRowDispatcher, write_plans

class Dispatcher(TypingProtocol):
    """What the plan service needs from the dispatcher: schedule rows once the caller commits."""

    def schedule(self, db: Session, messages: Iterable[OutboxMessage]) -> None:
        """Schedule these outbox rows (after commit)."""


def _row(plan: Plan, session: TreatmentSession | None, message: PlannedMessage, *, sender: str,
         now: datetime, due_now_ok: bool = False) -> OutboxMessage:
    """An outbox row for a planned message (past due: skipped; see ``outbox_rows.message_columns``)."""
    return OutboxMessage(clinic=plan.clinic, client=plan.client, plan=plan, session=session,
                         to_number=plan.client.phone, **message_columns(
                             message, preferred=plan.client.preferred_channel,
                             require_attended=plan.clinic.require_attended, sender=sender, version=plan.version,
                             now=now, due_now_ok=due_now_ok))


def _confirmation(plan: Plan, first: TreatmentSession, settings: MessageSettings, *, sender: str,
                  now: datetime) -> OutboxMessage:
    """The plan confirmation, due now or, in quiet hours, when they end."""
    return OutboxMessage(clinic=plan.clinic, client=plan.client, plan=plan, session=first,
                         to_number=plan.client.phone, **confirmation_columns(
                             first.starts_at, plan.session_count, settings,
                             client_tz=plan.clinic.zone_for(plan.client), locale=plan.client.locale,
                             preferred=plan.client.preferred_channel, sender=sender, version=plan.version, now=now))


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
                links: PublicLinks, dispatcher: NewRowDispatcher | None = None) -> Plan:
    """Write a plan (version 1), its sessions, every message, the confirmation and an audit event.

    The same checks and writer as a batch of one (``drafts.draft_plan``, ``writer.write_plans``).
    """
    settings = MessageSettings.from_clinic(clinic, links=links)
    db.flush()  # the consent record may have just been added
    draft = draft_plan(settings=settings, clinic_id=clinic.id, recipient=Recipient.of(client), protocol=protocol,
                       catalog_version=catalog_version, first_session_at=first_session_at, sessions=sessions,
                       interval_weeks=interval_weeks, intake=intake, consent=consent.state_of(db, client, clinic),
                       now=now)
    [plan_id] = write_plans(db, [draft], clinic=clinic, settings=settings, actor=actor, now=now,
                            dispatcher=dispatcher)
    plan = db.get(Plan, plan_id)
    assert plan is not None
    return plan


def _open_messages(db: Session, plan: Plan) -> list[OutboxMessage]:
    """The plan's messages still to go out, held ones included."""
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                       OutboxMessage.status.in_(UNSENT_STATUSES))))


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
    return find_session(plan.sessions, number)


def _require_active(plan: Plan) -> None:
    if plan.status is not PlanStatus.ACTIVE:
        raise Conflict(f"the plan is {plan.status.value}; only an active plan can change")


def move_session(db: Session, plan: Plan, number: int, new_start: datetime, *, shift_later: bool, actor: str,
                 now: datetime, catalog: Catalog, links: PublicLinks, dispatcher: Dispatcher | None = None,
                 confirm: bool = False, notify: bool = True) -> Plan:
    """Move one session (and, with ``shift_later``, every later one by the plan interval) and redo their messages.

    A move that takes the spacing outside the protocol's interval range raises
    NeedsConfirmation naming the rules it breaks, unless ``confirm`` says staff meant it.
    """
    require_aware(new_start, "starts_at")
    _require_active(plan)
    change = work_out_move(db, plan, number, new_start, shift_later=shift_later, now=now, catalog=catalog,
                           links=links)
    if change.interval_breaks and not confirm:
        raise NeedsConfirmation("this move breaks the protocol's spacing: " + "; ".join(change.interval_breaks)
                                + ". Confirm to move anyway.", rules=list(change.interval_breaks))
    if not notify:
        change = replace(change, notify=False)
    apply_move(db, plan, change, actor=actor, now=now, links=links, dispatcher=dispatcher)
    return plan


def work_out_move(db: Session, plan: Plan, number: int, new_start: datetime, *, shift_later: bool, now: datetime,
                  catalog: Catalog, links: PublicLinks) -> MoveChange:
    """What moving session ``number`` would change, written nowhere (reads the plan's open messages)."""
    require_aware(now, "now")
    return plan_move(sessions=list(plan.sessions), number=number, new_start=new_start, shift_later=shift_later,
                     interval_weeks=plan.interval_weeks, total_sessions=plan.session_count,
                     protocol=catalog.get(plan.protocol_id), settings=MessageSettings.from_clinic(plan.clinic, links=links),
                     channel=plan.client.preferred_channel.value, client_tz=plan.clinic.zone_for(plan.client),
                     locale=plan.client.locale,
                     open_kinds={(m.session_id, m.kind) for m in _open_messages(db, plan)}, now=now)


def _moved_notice(plan: Plan, row: TreatmentSession, settings: MessageSettings, *, shifted: bool, sender: str,
                  now: datetime) -> OutboxMessage:
    """The client's "your appointment moved" text: new day and time, due now or when quiet hours end."""
    tz = plan.clinic.zone_for(plan.client)
    local = row.starts_at.astimezone(zone(plan.clinic.timezone))
    locale = plan.client.locale
    body = templates.render("sessions_moved" if shifted else "session_moved", settings, locale,
                            date=dates.format_date(local, locale),
                            time=dates.format_session_time(row.starts_at, plan.clinic.timezone, tz, locale),
                            session_number=row.number, total_sessions=plan.session_count)
    return OutboxMessage(
        clinic=plan.clinic, client=plan.client, plan=plan, session=row, plan_version=plan.version,
        kind=MessageKind.SESSION_MOVED,
        channel=channel_for(MessageKind.SESSION_MOVED, plan.client.preferred_channel), to_number=plan.client.phone,
        from_number=sender, body=body, due_at=next_allowed_time(now, tz, settings.quiet_start, settings.quiet_end),
        not_after=row.starts_at, status=MessageStatus.PENDING, created_at=now, updated_at=now,
    )


def apply_move(db: Session, plan: Plan, change: MoveChange, *, actor: str, now: datetime, links: PublicLinks,
               dispatcher: Dispatcher | None = None) -> Plan:
    """Write a worked-out move: new starts, a new plan version, cancelled and new messages, the client's text."""
    settings = MessageSettings.from_clinic(plan.clinic, links=links)
    by_id = {row.id: row for row in plan.sessions}
    for move in change.moves:
        row = by_id[move.session_id]
        row.starts_at = move.new_start
        # A confirmation or a call-back request was for the old time; the client must confirm the new one.
        row.status = SessionStatus.SCHEDULED
        row.confirmed_at = None
    _bump(db, plan, now, cancel=change.cancel_sessions)
    if change.cancel_nudge_of is not None:
        # The neighbour's booking nudge is timed from this session's aftercare; its reminders are unchanged.
        for message in _open_messages(db, plan):
            if message.session_id == change.cancel_nudge_of and message.kind is MessageKind.BOOKING_NUDGE:
                _cancel(message, now)
    sender = plan.clinic.sending_number
    rows = [_row(plan, by_id[session_id], m, sender=sender, now=now,
                 due_now_ok=(session_id, m.key) in change.retimed) for session_id, m in change.messages]
    target = _session(plan, change.target)
    if change.confirmation:
        rows.append(_confirmation(plan, target, settings, sender=sender, now=now))
    if change.notify:
        rows.append(_moved_notice(plan, target, settings, shifted=change.shift_later and len(change.moves) > 1,
                                  sender=sender, now=now))
    db.add_all(rows)
    first = change.moves[0]
    _audit(db, plan, AuditAction.SESSION_MOVED, actor, now, session=change.target, shift_later=change.shift_later,
           moved_sessions=[m.number for m in change.moves], old_start=first.old_start.isoformat(),
           new_start=first.new_start.isoformat(), interval_breaks=list(change.interval_breaks))
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
