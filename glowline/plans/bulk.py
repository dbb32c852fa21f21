"""Starting plans in bulk: many single starts in one transaction, each refused or started on its own.

A booking system syncing a day's plans (``POST /api/plans:batch``) and a clinic importing its
clients (``glowline plan import FILE.csv``) both come here. Every item goes through
``start.start_plan`` itself, so validation, the consent gate and the audit event are exactly
those of a single start; what changes is the transaction around them:

* a refused item leaves nothing behind and the others go on: every refusal of a single start
  (bad input, not found, not finished, no consent) is raised before it writes anything, so no
  SAVEPOINT is needed (and SQLite's driver, which opens no transaction before a SAVEPOINT, would
  commit at its RELEASE); an unexpected error still fails the whole batch, which the caller rolls back;
* one commit for the whole batch instead of one per plan (the caller commits);
* the rows to enqueue are collected and handed to the dispatcher once, after the loop, so
  the jobs go to Redis after that commit with ``enqueue_many`` (one round trip), not one
  ``enqueue`` per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.plans.start import start_plan
from glowline.store.models import Clinic, OutboxMessage, Plan

MAX_BATCH = 10_000


@dataclass(frozen=True)
class PlanRequest:
    """One plan to start, as every surface reads it: the intake, the first session and the options."""

    intake_id: int
    first_session_at: datetime
    protocol_id: str | None = None
    sessions: int | None = None
    interval_weeks: int | None = None


@dataclass(frozen=True)
class Refusal:
    """Why the item at ``index`` started nothing; ``status`` is what a single start would have answered."""

    index: int
    error: str
    field: str | None = None
    status: int = 400

    def as_dict(self) -> dict:
        """The refusal as the API and the CLI report it."""
        body: dict = {"index": self.index, "error": self.error, "status": self.status}
        if self.field is not None:
            body["field"] = self.field
        return body


@dataclass
class BatchResult:
    """What a batch did: the plans started and the items refused, each by its index in the input."""

    started: list[tuple[int, Plan]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def summary(self) -> str:
        """One line for staff: how many started, how many were refused."""
        return f"{len(self.started)} plans started, {len(self.refused)} refused"


class _Collector:
    """A dispatcher that only remembers the rows, so the batch schedules them all at once."""

    def __init__(self) -> None:
        self.rows: list[OutboxMessage] = []

    def schedule(self, db: Session, messages: Iterable[OutboxMessage]) -> None:
        """Keep the rows for the batch's single schedule call."""
        self.rows.extend(messages)


def refusal_for(index: int, exc: Exception) -> Refusal:
    """The refusal a single start's error becomes: 400 for bad input, 404 not found, 409 conflicts (consent)."""
    if isinstance(exc, ValidationError):
        return Refusal(index, str(exc), exc.field, 400)
    if isinstance(exc, NotFound):
        return Refusal(index, str(exc), None, 404)
    return Refusal(index, str(exc), getattr(exc, "field", None), 409)


def start_plans(db: Session, rt, *, clinic: Clinic, requests: Sequence[tuple[int, PlanRequest]], actor: str,
                now: datetime, dispatch: bool = True,
                progress: Callable[[int], None] | None = None) -> BatchResult:
    """Start each (index, request) like a single start; refusals are reported by index. Does not commit.

    ``progress(n)`` is called after each item with how many are done.
    """
    result = BatchResult()
    to_schedule: list[OutboxMessage] = []
    for done, (index, request) in enumerate(requests, start=1):
        collector = _Collector()
        try:
            plan = start_plan(db, rt, clinic=clinic, intake_id=request.intake_id,
                              first_session_at=request.first_session_at, sessions=request.sessions,
                              interval_weeks=request.interval_weeks, protocol_id=request.protocol_id,
                              actor=actor, now=now, dispatcher=collector)
        except (ValidationError, NotFound, Conflict) as exc:
            result.refused.append(refusal_for(index, exc))
        else:
            result.started.append((index, plan))
            to_schedule.extend(collector.rows)
        if progress is not None:
            progress(done)
    if dispatch and to_schedule:
        rt.dispatcher.schedule(db, to_schedule)
    return result
