"""Starting a plan from a finished intake: find the intake, choose its protocol, create the plan.

Every way in (the staff PLAN text, the staff page, the JSON API, the command line) ends here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.catalog.protocols import Catalog, Protocol
from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.plans.service import create_plan
from glowline.plans.writer import NewRowDispatcher
from glowline.store.models import Clinic, Intake, IntakeStatus, Plan

# Where the intake questionnaire keeps the client's concern (the first key present wins).
CONCERN_KEYS = ("concern", "condition", "concerns")
PLANNABLE = (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN)


def intake_concern(intake: Any) -> str | None:
    """The condition the client named in the intake, if any."""
    answers = intake.answers or {}
    for key in CONCERN_KEYS:
        value = answers.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def find_intake(db: Session, clinic_id: int, intake_id: int) -> Intake:
    """The clinic's intake with this id; another clinic's intake is NotFound, so ids do not leak."""
    intake = db.scalar(select(Intake).where(Intake.id == intake_id, Intake.clinic_id == clinic_id))
    if intake is None:
        raise NotFound(f"intake {intake_id} not found")
    return intake


def protocol_for_intake(catalog: Catalog, intake: Any) -> Protocol:
    """The protocol serving the intake's concern; an intake without one needs an explicit protocol."""
    concern = intake_concern(intake)
    if concern is None:
        raise ValidationError(f"intake {intake.id} names no concern; choose a protocol", field="protocol")
    return catalog.for_condition(concern)


def latest_plan_id(db: Session, clinic_id: int, intake_id: int) -> int | None:
    """The newest plan started from this intake, if any (for the "already has plan N" answer)."""
    return db.scalar(select(Plan.id).where(Plan.intake_id == intake_id, Plan.clinic_id == clinic_id)
                     .order_by(Plan.id.desc()).limit(1))


def check_intake(catalog: Catalog, intake: Any, protocol_id: str | None, existing_plan: int | None) -> Protocol:
    """The protocol a plan for this intake follows, or what refuses it (already planned, unfinished, no protocol).

    ``intake`` is an Intake or a selected row with its id, status and answers; ``existing_plan``
    is the plan a planned intake already has. A single start and a batch both ask here.
    """
    if intake.status is IntakeStatus.PLANNED:
        raise Conflict(f"intake {intake.id} already has plan {existing_plan}" if existing_plan
                       else f"intake {intake.id} already has a plan")
    if intake.status not in PLANNABLE:
        raise Conflict(f"intake {intake.id} is {intake.status.value.replace('_', ' ')}; "
                       "only a finished intake can start a plan")
    if protocol_id is not None:
        try:
            return catalog.get(protocol_id)
        except NotFound as exc:
            raise ValidationError(str(exc), field="protocol") from None
    return protocol_for_intake(catalog, intake)


def start_plan(db: Session, rt, *, clinic: Clinic, intake_id: int, first_session_at: datetime,
               sessions: int | None = None, interval_weeks: int | None = None, protocol_id: str | None = None,
               actor: str, now: datetime, dispatch: bool = True, dispatcher: NewRowDispatcher | None = None) -> Plan:
    """Start a plan for one of the clinic's finished intakes (the protocol from its concern unless given).

    Does not commit; the dispatcher (``rt.dispatcher`` unless another is given, none without
    ``dispatch``) enqueues the first messages after the caller commits.
    """
    intake = find_intake(db, clinic.id, intake_id)
    existing = latest_plan_id(db, clinic.id, intake.id) if intake.status is IntakeStatus.PLANNED else None
    protocol = check_intake(rt.catalog, intake, protocol_id, existing)
    return create_plan(db, clinic=clinic, client=intake.client, protocol=protocol,
                       catalog_version=rt.catalog.version, first_session_at=first_session_at, sessions=sessions,
                       interval_weeks=interval_weeks, intake=intake, actor=actor, now=now,
                       links=rt.links, dispatcher=(dispatcher or rt.dispatcher) if dispatch else None)
