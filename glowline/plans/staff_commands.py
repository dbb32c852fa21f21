"""Staff text commands: PLAN starts a plan from an intake; MOVE, DONE, NOSHOW and RELEASE act on a session."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.exceptions import Conflict, NeedsConfirmation, NotFound, ValidationError
from glowline.plans.attendance import mark_attended, mark_no_show
from glowline.plans.holds import release_session
from glowline.plans.service import move_session
from glowline.store.models import Clinic, Plan, StaffPhone
from glowline.plans.plan_text import USAGE, parse_plan_text, take_moment
from glowline.plans.start import start_plan
from glowline.messages.catalog import text
from glowline.messages.dates import format_moment
from glowline.plans.timeline import zone

log = logging.getLogger(__name__)

NOT_STAFF_REPLY = "This number cannot start plans."
MOVE_USAGE = "MOVE <plan> <session> <date> <time> [SHIFT] [OK], e.g. MOVE 42 2 jan 12 3pm"
COMMANDS = (f"{USAGE}; {MOVE_USAGE} (SHIFT moves later sessions too, OK confirms a move outside the "
            "protocol's spacing); DONE <plan> <session> (attended); NOSHOW <plan> <session>; "
            "RELEASE <plan> <session> (keep the time after a reschedule request)")
HELP = text("staff.usage", usage=COMMANDS)
_SESSION_COMMAND = re.compile(r"^(?P<verb>move|done|noshow|release)\b[\s:]*#?(?P<plan>\d{1,9})\s+#?(?P<number>\d{1,3})"
                              r"(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


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
    verb = body.strip().split(maxsplit=1)[0].lower() if body.strip() else ""
    if verb in ("move", "done", "noshow", "release"):
        return _session_command(db, rt, clinic=clinic, phone=phone, body=body, now=now)
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


def _session_command(db: Session, rt, *, clinic: Clinic, phone: StaffPhone, body: str, now: datetime) -> str:
    """MOVE / DONE / NOSHOW / RELEASE on one session of one of the clinic's plans; the reply says what happened."""
    found = _SESSION_COMMAND.match(" ".join(body.split()))
    if found is None:
        return f"Not done: write the plan and session numbers. {HELP}"[:1500]
    verb, number = found["verb"].lower(), int(found["number"])
    plan = db.scalar(select(Plan).where(Plan.id == int(found["plan"]), Plan.clinic_id == clinic.id))
    actor = staff_actor(phone)
    try:
        if plan is None:
            raise NotFound(f"plan {found['plan']} not found")
        if verb == "move":
            return _move(db, rt, plan, number, found["rest"], clinic=clinic, actor=actor, now=now)
        rest = found["rest"].strip()
        if rest:
            raise ValidationError(f"did not understand {rest.split()[0]!r}", field="options")
        if verb == "done":
            mark_attended(db, plan, number, actor=actor, now=now, dispatcher=rt.dispatcher)
            return f"Plan {plan.id} session {number} marked attended."
        if verb == "noshow":
            mark_no_show(db, rt, plan, number, actor=actor, now=now)
            return (f"Plan {plan.id} session {number} marked no-show. The client gets one text offering "
                    "to rebook.")
        release_session(db, plan, number, actor=actor, now=now, dispatcher=rt.dispatcher)
        return f"Plan {plan.id} session {number} keeps its time; its reminders will go out again."
    except NeedsConfirmation as exc:
        return f"Not moved: {exc} Send the same MOVE with OK at the end to move anyway."[:1500]
    except (ValidationError, NotFound, Conflict) as exc:
        return f"Not done: {exc}".replace(USAGE, MOVE_USAGE)[:1500]


def _move(db: Session, rt, plan: Plan, number: int, rest: str, *, clinic: Clinic, actor: str, now: datetime) -> str:
    """Read "<date> <time> [SHIFT] [OK]" and move the session; the reply names the new local time."""
    when, options = take_moment(rest.lower().strip(" ,"), tz=clinic.timezone, now=now,
                                confirmed="ok" in rest.lower().replace(",", " ").split())
    flags = set(options.replace(",", " ").split())
    unknown = sorted(flags - {"shift", "ok"})
    if unknown:
        raise ValidationError(f"did not understand {unknown[0]!r}; {MOVE_USAGE}", field="options")
    move_session(db, plan, number, when, shift_later="shift" in flags, actor=actor, now=now, catalog=rt.catalog, links=rt.links,
                 dispatcher=rt.dispatcher, confirm="ok" in flags)
    local = when.astimezone(zone(clinic.timezone))
    later = " and the later sessions with it" if "shift" in flags else ""
    return (f"Plan {plan.id} session {number} moved to {format_moment(local, year=True)}{later}. "
            "The client gets one text with the new time.")
