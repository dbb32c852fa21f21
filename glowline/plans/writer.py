"""Writing drafted plans: plans, sessions, outbox rows and audit events with Core inserts, many at once.

Every plan start (one from the API or a staff text, ten thousand from an import) is written
here, so a plan looks the same whichever way it came in. Through the ORM's unit of work a
plan's ~27 rows cost more than building it; as Core ``insert()`` executemany (insertmanyvalues
on SQLite and psycopg, RETURNING ids in parameter order where a later row needs them) a
batch costs a few statements per table.

Core inserts skip the ORM's mapper events, so what those would fill in is computed here
explicitly (an outbox row's ``segments``: ``outbox_rows`` counts them with the same rule).
Rows the dispatcher would take at once (due by its ``horizon_end()``) are written ``queued``
and handed to it by id, to be enqueued with one ``enqueue_many`` after the commit.
Does not commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol as TypingProtocol, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.clinics.audit import AuditAction
from glowline.messages.settings import MessageSettings
from glowline.plans.drafts import PlanDraft
from glowline.plans.outbox_rows import confirmation_columns, message_columns
from glowline.store.models import (AuditEvent, Intake, IntakeStatus, MessageStatus, OutboxMessage, Plan, PlanStatus,
                                   SessionStatus, TreatmentSession)

# Ids per IN list: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
CHUNK = 5000


class NewRowDispatcher(TypingProtocol):
    """What writing new rows needs from the dispatcher: its horizon, and the ids to enqueue after commit."""

    def horizon_end(self) -> datetime:
        """Rows due by this time are enqueued now."""

    def enqueue_after_commit(self, db: Session, items: list[tuple[int, datetime]]) -> None:
        """Enqueue these (row id, due time) pairs once ``db`` commits."""


@dataclass(frozen=True)
class _Rows:
    """A timeline's outbox rows minus the ids, built once per timeline a batch shares."""

    rows: list[tuple[int, dict[str, Any], frozenset[str]]]  # (session number, columns, their names)


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _timeline_rows(draft: PlanDraft, settings: MessageSettings, *, require_attended: bool, sender: str,
                   now: datetime, cutoff: datetime | None) -> _Rows:
    """The confirmation and every planned message of ``draft``'s timeline, queued when inside the horizon."""
    recipient, timeline = draft.recipient, draft.timeline
    first = timeline.sessions[0]
    rows = [(1, confirmation_columns(first.starts_at, len(timeline.sessions), settings,
                                     client_tz=recipient.timezone or settings.timezone, locale=recipient.locale,
                                     preferred=recipient.channel, sender=sender, version=1, now=now))]
    rows += [(m.session_number, message_columns(m, preferred=recipient.channel, require_attended=require_attended,
                                                sender=sender, version=1, now=now)) for m in timeline.messages]
    for _, columns in rows:
        if cutoff is not None and columns["status"] is MessageStatus.PENDING and columns["due_at"] <= cutoff:
            columns.update(status=MessageStatus.QUEUED, enqueued_at=now)
        # Columns left NULL are left out: each value costs a bind conversion, 200,000 rows a batch.
        for name in ("result", "finished_at", "not_after"):
            if columns[name] is None:
                del columns[name]
    return _Rows([(number, columns, frozenset(columns)) for number, columns in rows])


def write_plans(db: Session, drafts: Sequence[PlanDraft], *, clinic, settings: MessageSettings, actor: str,
                now: datetime, dispatcher: NewRowDispatcher | None,
                shared: dict[int, _Rows] | None = None) -> list[int]:
    """Write each draft's plan (version 1), sessions, messages, confirmation and audit event; the plan ids.

    Intakes the drafts come from become planned. The dispatcher, when given, enqueues the rows
    inside its horizon after the caller commits. ``shared`` keeps the rows of each timeline
    between calls of one batch (same clinic, ``now`` and dispatcher).
    """
    if not drafts:
        return []
    db.flush()  # rows the caller added through the ORM (a client, its consent) come first
    plan_ids = _insert_ids(db, Plan, [dict(
        clinic_id=clinic.id, client_id=d.recipient.id, intake_id=d.intake_id, protocol_id=d.protocol.id,
        protocols_version=d.catalog_version, session_count=len(d.timeline.sessions), interval_weeks=d.interval_weeks,
        status=PlanStatus.ACTIVE, version=1, created_by=actor, created_at=now) for d in drafts])
    session_ids = iter(_insert_ids(db, TreatmentSession, [dict(
        plan_id=plan_id, number=s.number, starts_at=s.starts_at, duration_minutes=settings.session_minutes,
        status=SessionStatus.SCHEDULED) for plan_id, d in zip(plan_ids, drafts, strict=True) for s in d.timeline.sessions]))
    cutoff = dispatcher.horizon_end() if dispatcher is not None else None
    shared = {} if shared is None else shared
    # One executemany per set of columns (insertmanyvalues needs the same keys in every row).
    queued: dict[frozenset[str], list[dict[str, Any]]] = {}
    others: dict[frozenset[str], list[dict[str, Any]]] = {}
    for plan_id, draft in zip(plan_ids, drafts, strict=True):
        sessions = {s.number: next(session_ids) for s in draft.timeline.sessions}
        built = shared.get(id(draft.timeline))
        if built is None:
            built = shared[id(draft.timeline)] = _timeline_rows(
                draft, settings, require_attended=clinic.require_attended, sender=clinic.sending_number, now=now,
                cutoff=cutoff)
        ids = dict(clinic_id=clinic.id, client_id=draft.recipient.id, plan_id=plan_id,
                   to_number=draft.recipient.phone)
        for number, columns, names in built.rows:
            row = {**columns, **ids, "session_id": sessions[number]}
            (queued if row["status"] is MessageStatus.QUEUED else others).setdefault(names, []).append(row)
    for group in others.values():
        db.execute(insert(_table(OutboxMessage)), group)
    # Queued rows return their ids, for the dispatcher.
    for group in queued.values():
        message_ids = _insert_ids(db, OutboxMessage, group)
        if dispatcher is not None:
            dispatcher.enqueue_after_commit(db, [(i, row["due_at"]) for i, row in zip(message_ids, group, strict=True)])
    db.execute(insert(_table(AuditEvent)), [audit.values(
        clinic_id=clinic.id, actor=actor, action=AuditAction.PLAN_STARTED, now=now, plan_id=plan_id, version=1,
        protocol_id=d.protocol.id, sessions=len(d.timeline.sessions), interval_weeks=d.interval_weeks)
        for plan_id, d in zip(plan_ids, drafts, strict=True)])
    _mark_planned(db, [d.intake_id for d in drafts if d.intake_id is not None])
    return plan_ids


def _table(model) -> Table:
    """The mapped class's table, for Core statements that skip the unit of work."""
    return cast(Table, model.__table__)


def _insert_ids(db: Session, model, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``model``'s table; their new ids, in the order of ``rows``."""
    table = _table(model)
    result = db.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _mark_planned(db: Session, intake_ids: list[int]) -> None:
    """Mark the intakes planned, and make the session re-read any it holds (the UPDATE bypassed it)."""
    table = _table(Intake)
    for part in chunks(intake_ids):
        db.execute(update(table).where(table.c.id.in_(part)).values(status=IntakeStatus.PLANNED))
    for intake_id in intake_ids:
        held = db.identity_map.get(db.identity_key(Intake, intake_id))
        if held is not None:
            db.expire(held, ["status", "updated_at"])
