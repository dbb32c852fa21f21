"""Writing drafted plans: plans, sessions, outbox rows and audit events with Core inserts, many at once.

Every plan start (one from the API or a staff text, ten thousand from an import) is written
here, so a plan looks the same whichever way it came in. Through the ORM's unit of work a
plan's ~27 rows cost more than building it; as Core ``insert()`` executemany (insertmanyvalues
on SQLite and psycopg, RETURNING the new ids where a later row needs them, matched by columns
that are unique in the batch) a batch costs a few statements per table. Below that, where the
driver allows (``store.raw_rows``), rows skip SQLAlchemy's per-row parameter work: on PostgreSQL
every table goes in by COPY, ids reserved from its sequence; on SQLite the outbox rows nothing
reads back and the audit events go through the driver's own executemany.

Core inserts skip the ORM's mapper events, so what those would fill in is computed here
explicitly (an outbox row's ``segments``: ``outbox_rows`` counts them with the same rule).
Rows the dispatcher would take at once (due by its ``horizon_end()``) are written ``queued``
and handed to it by id, to be enqueued with one ``enqueue_many`` after the commit.
Does not commit.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Any, Protocol as TypingProtocol, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.types import UserDefinedType
from sqlalchemy.orm import Session

from glowline.clinics import audit
from glowline.clinics.audit import AuditAction
from glowline.messages.settings import MessageSettings
from glowline.plans.drafts import PlanDraft
from glowline.plans.outbox_rows import confirmation_columns, message_columns
from glowline.store import raw_rows
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

    # (session number, columns, their names, the columns converted for the driver, and those values
    # in the order of the sorted names, for COPY)
    rows: list[tuple[int, dict[str, Any], frozenset[str], dict[str, Any], tuple[Any, ...]]]


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _timeline_rows(draft: PlanDraft, settings: MessageSettings, converter: _Converter, *, require_attended: bool,
                   sender: str, now: datetime, cutoff: datetime | None) -> _Rows:
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
    out = []
    for number, columns in rows:
        converted, names = converter.convert(columns), frozenset(columns)
        out.append((number, columns, names, converted, tuple(converted[_PREFIX + name] for name in converter.order(names))))
    return _Rows(out)


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
    plan_ids = _insert_plans(db, [dict(
        clinic_id=clinic.id, client_id=d.recipient.id, intake_id=d.intake_id, protocol_id=d.protocol.id,
        protocols_version=d.catalog_version, session_count=len(d.timeline.sessions), interval_weeks=d.interval_weeks,
        status=PlanStatus.ACTIVE, version=1, created_by=actor, created_at=now) for d in drafts])
    # (plan, number) is unique, so the new ids are matched to their sessions whatever order they come back in.
    session_ids = {(row.plan_id, row.number): row.id for row in _insert_returning(db, TreatmentSession, [dict(
        plan_id=plan_id, number=s.number, starts_at=s.starts_at, duration_minutes=settings.session_minutes,
        status=SessionStatus.SCHEDULED) for plan_id, d in zip(plan_ids, drafts, strict=True)
        for s in d.timeline.sessions], "plan_id", "number")}
    cutoff = dispatcher.horizon_end() if dispatcher is not None else None
    shared = {} if shared is None else shared
    # One executemany per set of columns (insertmanyvalues needs the same keys in every row).
    queued: dict[frozenset[str], list[dict[str, Any]]] = {}
    others: dict[frozenset[str], list[Any]] = {}
    converter = _Converter(db, OutboxMessage)
    plain = converter.plain(_OWN_IDS)
    # The rows nothing reads back go in below SQLAlchemy (raw_rows: COPY on PostgreSQL, the driver's own
    # executemany on SQLite), as tuples in _OWN_IDS + sorted names order.
    copying = plain and raw_rows.supported(db)
    for plan_id, draft in zip(plan_ids, drafts, strict=True):
        built = shared.get(id(draft.timeline))
        if built is None:
            built = shared[id(draft.timeline)] = _timeline_rows(
                draft, settings, converter, require_attended=clinic.require_attended, sender=clinic.sending_number,
                now=now, cutoff=cutoff)
        ids = dict(clinic_id=clinic.id, client_id=draft.recipient.id, plan_id=plan_id,
                   to_number=draft.recipient.phone)
        for number, columns, names, converted, values in built.rows:
            own = {**ids, "session_id": session_ids[plan_id, number]}
            if columns["status"] is MessageStatus.QUEUED:
                queued.setdefault(names, []).append({**columns, **own})
            elif copying:
                others.setdefault(names, []).append((clinic.id, draft.recipient.id, plan_id, draft.recipient.phone,
                                                     own["session_id"], *values))
            else:
                others.setdefault(names, []).append({**converted, **_ids_for_driver(own, converter, plain)})
    # Queued rows first (a plan's confirmation keeps the lowest id, as listings break due-time ties by id);
    # they return their ids and due times, all the dispatcher needs.
    for group in queued.values():
        items = [(row.id, row.due_at) for row in _insert_returning(db, OutboxMessage, group, "due_at")]
        if dispatcher is not None:
            dispatcher.enqueue_after_commit(db, items)
    for names, rows in others.items():
        if copying:
            _copy_outbox(db, [*_OWN_IDS, *converter.order(names)], rows)
        else:
            _insert_many(db, OutboxMessage, rows)
    _insert_rows(db, AuditEvent, [audit.values(
        clinic_id=clinic.id, actor=actor, action=AuditAction.PLAN_STARTED, now=now, plan_id=plan_id, version=1,
        protocol_id=d.protocol.id, sessions=len(d.timeline.sessions), interval_weeks=d.interval_weeks)
        for plan_id, d in zip(plan_ids, drafts, strict=True)])
    _mark_planned(db, [d.intake_id for d in drafts if d.intake_id is not None])
    return plan_ids


def _table(model) -> Table:
    """The mapped class's table, for Core statements that skip the unit of work."""
    return cast(Table, model.__table__)


def _insert_returning(db: Session, model, rows: list[dict[str, Any]], *columns: str) -> list[Any]:
    """Insert ``rows`` into ``model``'s table; each new row's id and ``columns``, in no particular order.

    Unordered on purpose: SQLite cannot promise RETURNING in VALUES order, so SQLAlchemy would
    send an ordered insert one row at a time there; callers match rows by columns that are unique.
    On PostgreSQL the rows are copied in with reserved ids (and come back in order).
    """
    table = _table(model)
    if raw_rows.reserves_ids(db):
        ids = _copy_dicts(db, model, rows, with_ids=True)
        if ids is not None:
            inserted = _inserted(columns)
            return [inserted(new_id, *(row[name] for name in columns)) for new_id, row in zip(ids, rows, strict=True)]
    return list(db.execute(insert(table).returning(table.c.id, *(table.c[name] for name in columns)), rows))


def _insert_rows(db: Session, model, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (same keys in each) whose ids nothing needs: through ``raw_rows``, else one executemany."""
    if not (raw_rows.supported(db) and _copy_dicts(db, model, rows, with_ids=False) is not None):
        db.execute(insert(_table(model)), rows)


@lru_cache(maxsize=16)
def _inserted(columns: tuple[str, ...]) -> type:
    """A row type like RETURNING's: the new id and the given columns, by name."""
    return namedtuple("Inserted", ["id", *columns])


def _copy_dicts(db: Session, model, rows: list[dict[str, Any]], *, with_ids: bool) -> list[int] | None:
    """Write ``rows`` (same keys in each) through ``raw_rows``; their ids in order, or None if it cannot.

    It cannot when a column the rows leave out has a computed default (the caller inserts instead).
    """
    if not rows:
        return []
    table = _table(model)
    names = sorted(rows[0])
    defaults = raw_rows.scalar_defaults(db, table, names)
    if defaults is None:
        return None
    converter = _Converter(db, model)
    processors = [converter.processors[name] for name in names]
    values = [tuple(value if processor is None else processor(value)
                    for processor, value in zip(processors, (row[name] for name in names), strict=True))
              for row in rows]
    ids: list[int] = []
    if with_ids:
        ids = raw_rows.reserve_ids(db, table, len(rows))
        names, values = ["id", *names], [(new_id, *row) for new_id, row in zip(ids, values, strict=True)]
    raw_rows.write_rows(db, table, names, values, defaults)
    return ids


def _insert_many(db: Session, model, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (one executemany); their values already in the database's form (``_Converter``)."""
    table = _table(model)
    names = [name[len(_PREFIX):] for name in rows[0]]
    # Untyped parameters: SQLAlchemy passes the converted values through instead of converting each again.
    db.execute(insert(table).values({n: bindparam(_PREFIX + n, type_=_AsGiven()) for n in names}), rows)


def _copy_outbox(db: Session, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Write outbox rows (values in ``columns`` order) through ``raw_rows``; an insert if a default is computed."""
    table = _table(OutboxMessage)
    defaults = raw_rows.scalar_defaults(db, table, columns)
    if defaults is None:
        _insert_many(db, OutboxMessage, [{_PREFIX + name: value for name, value in zip(columns, row, strict=True)}
                                         for row in rows])
        return
    raw_rows.write_rows(db, table, columns, rows, defaults)


def _ids_for_driver(own: dict[str, Any], converter: _Converter, plain: bool) -> dict[str, Any]:
    """A row's own ids keyed for ``_insert_many`` (converted only if a driver ever needs it)."""
    if not plain:
        return converter.convert(own)
    return {"v_clinic_id": own["clinic_id"], "v_client_id": own["client_id"], "v_plan_id": own["plan_id"],
            "v_to_number": own["to_number"], "v_session_id": own["session_id"]}


class _AsGiven(UserDefinedType):
    """A parameter type with no conversion and no cast: the value is already what the driver takes."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        """Never a column's type; only parameters use it."""
        return "BLOB"


_OWN_IDS = ("clinic_id", "client_id", "plan_id", "to_number", "session_id")  # what differs between plans
_UNSEEN = object()
_PREFIX = "v_"  # a bound parameter may not take a column's own name in an INSERT's VALUES


class _Converter:
    """Turns column values into what the driver receives, with each column type's own bind processor.

    The outbox rows of a batch repeat a few hundred timelines; converting a timeline's values once
    (dates to the store's naive UTC, enums to their values) instead of once per plan saves most of
    SQLAlchemy's per-row work on 200,000 rows. Same processors as a typed insert, so the same values.
    """

    def __init__(self, db: Session, model):
        table = _table(model)
        dialect = db.get_bind().dialect
        # dialect_impl: the dialect's own type (SQLite's DATETIME writes its text form), as a typed insert uses.
        self.processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}
        # Every row of a batch carries the same ``now`` (created, updated, enqueued or finished) and one
        # of a few kinds, channels and statuses: each distinct value is converted once.
        self._converted: dict[tuple[str, Any], Any] = {}
        self._orders: dict[frozenset[str], tuple[str, ...]] = {}

    def convert(self, columns: dict[str, Any]) -> dict[str, Any]:
        """``columns`` as the driver takes them, keyed for ``_insert_many``."""
        out = {}
        converted = self._converted
        for name, value in columns.items():
            processor = self.processors[name]
            if processor is None:
                out[_PREFIX + name] = value
                continue
            key = (name, value)
            found = converted.get(key, _UNSEEN)
            if found is _UNSEEN:
                found = converted[key] = processor(value)
            out[_PREFIX + name] = found
        return out

    def order(self, names: frozenset[str]) -> tuple[str, ...]:
        """``names`` sorted, the column order of a COPY or a positional INSERT."""
        found = self._orders.get(names)
        if found is None:
            found = self._orders[names] = tuple(sorted(names))
        return found

    def plain(self, names: Iterable[str]) -> bool:
        """True when these columns' values go to the driver unconverted (ids and numbers as text)."""
        return all(self.processors[name] is None for name in names)


def _insert_plans(db: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the plans; their ids in the order of ``rows``.

    A batch's plans come from different intakes, so (client, intake) tells them apart; should two
    rows ever share them, the ordered insert (one statement per row on SQLite) is the safe way.
    """
    keys = [(row["client_id"], row["intake_id"]) for row in rows]
    if len(set(keys)) == len(keys):
        found = {(r.client_id, r.intake_id): r.id
                 for r in _insert_returning(db, Plan, rows, "client_id", "intake_id")}
        return [found[key] for key in keys]
    table = _table(Plan)
    return list(db.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())


def _mark_planned(db: Session, intake_ids: list[int]) -> None:
    """Mark the intakes planned, and make the session re-read any it holds (the UPDATE bypassed it)."""
    table = _table(Intake)
    for part in chunks(intake_ids):
        db.execute(update(table).where(table.c.id.in_(part)).values(status=IntakeStatus.PLANNED))
    for intake_id in intake_ids:
        held = db.identity_map.get(db.identity_key(Intake, intake_id))
        if held is not None:
            db.expire(held, ["status", "updated_at"])
