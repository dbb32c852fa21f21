"""Starting plans in bulk: thousands of starts in one transaction, each refused or started on its own.

A booking system syncing a day's plans (``POST /api/plans:batch``) and a clinic importing its
clients (``glowline plan import FILE.csv``) both come here. Each item runs the checks of a
single start, the same functions (``start.check_intake``, ``drafts.draft_plan``), and is written
by the same writer (``writer.write_plans``); what changes is how the batch reads and writes:

* what the checks need (intakes, their clients, consent records, plans already started) is
  read for the whole batch in a few queries, not a handful per item;
* a day's plans share slots, so each distinct timeline is built once per batch;
* the rows are written with Core inserts, a round of inserts per ``WRITE_EVERY`` plans;
* a refused item leaves nothing behind and the others go on: every refusal is decided before
  anything is written, so no SAVEPOINT is needed (and SQLite's driver, which opens no
  transaction before a SAVEPOINT, would commit at its RELEASE); an unexpected error still fails
  the whole batch, which the caller rolls back;
* one commit for the whole batch (the caller's), and the rows inside the dispatcher's horizon
  go to Redis after it with ``enqueue_many`` (one round trip per round of inserts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glowline.compliance.consent import ConsentState, state_from
from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.messages.settings import MessageSettings
from glowline.plans.drafts import PlanDraft, Recipient, TimelineKey, draft_plan
from glowline.plans.start import check_intake
from glowline.plans.timeline import Timeline
from glowline.plans.writer import chunks, write_plans
from glowline.store.models import Client, Clinic, ConsentEvent, Intake, IntakeStatus, Plan

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

    started: list[tuple[int, int]] = field(default_factory=list)  # (index, plan id)
    refused: list[Refusal] = field(default_factory=list)

    def summary(self) -> str:
        """One line for staff: how many started, how many were refused."""
        return f"{len(self.started)} plans started, {len(self.refused)} refused"


def refusal_for(index: int, exc: Exception) -> Refusal:
    """The refusal a single start's error becomes: 400 for bad input, 404 not found, 409 conflicts (consent)."""
    if isinstance(exc, ValidationError):
        return Refusal(index, str(exc), exc.field, 400)
    if isinstance(exc, NotFound):
        return Refusal(index, str(exc), None, 404)
    return Refusal(index, str(exc), getattr(exc, "field", None), 409)


# Plans written per round of inserts: bounds the rows held at once and lets the progress bar move.
WRITE_EVERY = 1000


def start_plans(db: Session, rt, *, clinic: Clinic, requests: Sequence[tuple[int, PlanRequest]], actor: str,
                now: datetime, dispatch: bool = True,
                progress: Callable[[int], None] | None = None) -> BatchResult:
    """Start each (index, request) like a single start; refusals are reported by index. Does not commit.

    ``progress(n)`` is called as items are through (refused or written) with how many are.
    """
    context = _Context.load(db, clinic, [r.intake_id for _, r in requests])
    settings = MessageSettings.from_clinic(clinic, links=rt.links)
    timelines: dict[TimelineKey, Timeline] = {}
    drafts: list[tuple[int, PlanDraft]] = []
    refused: list[Refusal] = []
    # An intake named twice: the later item sees it planned by the earlier one, as a single start would.
    claimed: dict[int, int] = {}  # intake id -> position in drafts
    repeats: list[tuple[int, int, int]] = []  # (index, intake id, position in drafts)
    for index, request in requests:
        try:
            intake = context.intake(request.intake_id)
            if intake.id in claimed:
                repeats.append((index, intake.id, claimed[intake.id]))
                continue
            protocol = check_intake(rt.catalog, intake, request.protocol_id, context.planned.get(intake.id))
            draft = draft_plan(settings=settings, clinic_id=clinic.id, recipient=context.clients[intake.client_id],
                               protocol=protocol, catalog_version=rt.catalog.version,
                               first_session_at=request.first_session_at, sessions=request.sessions,
                               interval_weeks=request.interval_weeks, intake=intake,
                               consent=context.consent(intake.client_id), now=now, timelines=timelines)
        except (ValidationError, NotFound, Conflict) as exc:
            refused.append(refusal_for(index, exc))
        else:
            claimed[intake.id] = len(drafts)
            drafts.append((index, draft))
    through = len(refused) + len(repeats)
    plan_ids: list[int] = []
    dispatcher = rt.dispatcher if dispatch else None
    shared: dict = {}
    for part in chunks(drafts, WRITE_EVERY):
        plan_ids += write_plans(db, [d for _, d in part], clinic=clinic, settings=settings, actor=actor, now=now,
                                dispatcher=dispatcher, shared=shared)
        through += len(part)
        if progress is not None:
            progress(through)
    if progress is not None and not drafts:
        progress(through)
    refused += [refusal_for(index, Conflict(f"intake {intake_id} already has plan {plan_ids[position]}"))
                for index, intake_id, position in repeats]
    refused.sort(key=lambda r: r.index)
    return BatchResult(started=[(index, plan_id) for (index, _), plan_id in zip(drafts, plan_ids, strict=True)],
                       refused=refused)


class _Context:
    """What the checks need for a whole batch, read in a few queries: intakes, clients, consent, plans."""

    def __init__(self, intakes: dict[int, Any], planned: dict[int, int], clients: dict[int, Recipient],
                 consent: dict[int, list[Any]], opted_out: dict[int, datetime | None]):
        self.intakes, self.planned, self.clients = intakes, planned, clients
        self.events, self.opted_out = consent, opted_out

    @classmethod
    def load(cls, db: Session, clinic: Clinic, intake_ids: Iterable[int]) -> _Context:
        """Read the clinic's intakes among ``intake_ids``, their clients, consent records and existing plans."""
        db.flush()
        wanted = sorted(set(intake_ids))
        intakes: dict[int, Any] = {}
        for part in chunks(wanted):
            intakes.update((row.id, row) for row in db.execute(
                select(Intake.id, Intake.clinic_id, Intake.client_id, Intake.status, Intake.answers)
                .where(Intake.clinic_id == clinic.id, Intake.id.in_(part))))
        planned: dict[int, int] = {}
        for part in chunks([i for i, row in intakes.items() if row.status is IntakeStatus.PLANNED]):
            planned.update((intake_id, plan_id) for intake_id, plan_id in db.execute(
                select(Plan.intake_id, func.max(Plan.id))
                .where(Plan.clinic_id == clinic.id, Plan.intake_id.in_(part)).group_by(Plan.intake_id)).tuples()
                if intake_id is not None)
        client_ids = sorted({row.client_id for row in intakes.values()})
        clients: dict[int, Recipient] = {}
        opted_out: dict[int, datetime | None] = {}
        events: dict[int, list[Any]] = {}
        for part in chunks(client_ids):
            for row in db.execute(select(Client.id, Client.phone, Client.timezone, Client.language,
                                         Client.preferred_channel, Client.opted_out_at).where(Client.id.in_(part))):
                clients[row.id] = Recipient.of(row)
                opted_out[row.id] = row.opted_out_at
            for event in db.execute(select(ConsentEvent.client_id, ConsentEvent.action, ConsentEvent.created_at,
                                           ConsentEvent.method, ConsentEvent.wording)
                                    .where(ConsentEvent.clinic_id == clinic.id, ConsentEvent.client_id.in_(part))
                                    .order_by(ConsentEvent.client_id, ConsentEvent.created_at, ConsentEvent.id)):
                events.setdefault(event.client_id, []).append(event)
        return cls(intakes, planned, clients, events, opted_out)

    def intake(self, intake_id: int) -> Any:
        """The clinic's intake with this id; another clinic's is NotFound, as in a single start."""
        found = self.intakes.get(intake_id)
        if found is None:
            raise NotFound(f"intake {intake_id} not found")
        return found

    def consent(self, client_id: int) -> ConsentState:
        """The client's consent for the clinic, judged from its record as ``consent.state_of`` does."""
        return state_from(self.opted_out[client_id], self.events.get(client_id, []))
