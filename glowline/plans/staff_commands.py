"""The staff PLAN text command: a staff phone starts a plan by replying to the intake notice."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.store.models import Clinic, Plan, StaffPhone
from glowline.plans.plan_text import USAGE, parse_plan_text
from glowline.plans.start import start_plan
from glowline.messages.dates import format_moment
from glowline.plans.timeline import zone

log = logging.getLogger(__name__)

NOT_STAFF_REPLY = "This number cannot start plans."


def staff_actor(phone: StaffPhone) -> str:
    """How a staff phone appears in the audit log: its id and last digits, enough for the clinic to tell."""
    return f"staff phone {phone.id} (...{phone.number[-4:]})"


def handle_staff_text(db: Session, rt, *, clinic: Clinic, from_number: str, body: str, now: datetime) -> str:
    """Run a PLAN command from one of ``clinic``'s staff phones and return the reply text.

    Does not commit: the caller commits with its inbound record, and the plan's first
    messages are enqueued after that commit. A bad command changes nothing and the reply
    says what to fix.
    """
    phone = db.scalar(select(StaffPhone).where(StaffPhone.clinic_id == clinic.id, StaffPhone.number == from_number))
    if phone is None:
        # The router checks this too; a second check keeps a routing slip from starting plans.
        return NOT_STAFF_REPLY
    try:
        request = parse_plan_text(body, tz=clinic.timezone, now=now, schema=rt.schemas["plan_request"])
        plan = start_plan(db, rt, clinic=clinic, intake_id=request.intake_id,
                          first_session_at=request.first_session_at, sessions=request.sessions,
                          interval_weeks=request.interval_weeks, actor=staff_actor(phone), now=now)
    except ValidationError as exc:
        return f"Not started: {exc}"[:1500]
    except (NotFound, Conflict) as exc:
        return f"Not started: {exc}. {USAGE}"[:1500]
    log.info("plan %s started by staff phone %s for intake %s", plan.id, phone.id, request.intake_id)
    return summarize(plan, clinic, rt.catalog.get(plan.protocol_id).name)


def summarize(plan: Plan, clinic: Clinic, protocol_name: str) -> str:
    """The reply after a plan starts: its protocol, each session's local date and time, what the client gets."""
    local = zone(clinic.timezone)
    dates = "; ".join(f"{s.number}) {format_moment(s.starts_at.astimezone(local), year=True)}"
                      for s in plan.sessions)
    return (f"Plan {plan.id} started for intake {plan.intake_id}: {protocol_name}, "
            f"{plan.session_count} sessions every {plan.interval_weeks} weeks. {dates}. " + client_gets(plan))


def client_gets(plan: Plan) -> str:
    """What the client will receive now; an opted-out client receives nothing, and staff must know."""
    if plan.client.opted_out:
        return ("The client has opted out of messages (texted STOP): nothing will be sent until they "
                "text START, so please call them.")
    return "The client gets one text confirming the first session."
