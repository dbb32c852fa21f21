"""Rebooking: of the clients who asked to move (R), missed a visit, or got a booking nudge, how many ended booked, and how.

Read from the audit log (a session marked no-show, a session held after R, a session moved,
and by whom) and the outbox (the nudge sent); "by the client" is a move the client made by
picking an offered time (the audit actor "client #id"), or, after a nudge, a confirmation;
"by staff" is a move a staff member or API token made.
"""

from __future__ import annotations

import enum

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from glowline.clinics.audit import AuditAction
from glowline.results.figure import Figure, Scope, of_protocol, positions
from glowline.results.periods import bucket, rate, within
from glowline.store.models import AuditEvent, MessageKind, OutboxMessage, TreatmentSession


class Trigger(str, enum.Enum):
    """What a rebooking follows."""
    RESCHEDULE = "asked to reschedule (R)"
    NO_SHOW = "no-show"
    NUDGE = "booking nudge"


CLIENT_ACTOR = "client #%"


def _session_number(event) -> ColumnElement:
    # Audit details are JSON; the session number is a plain integer in it.
    return event.details["session"].as_integer()


def _first_move_actor(plan_id: SQLColumnExpression, number: SQLColumnExpression, after: SQLColumnExpression) -> ColumnElement:
    """Who made the first move of that session after ``after``: an audit actor, or NULL if nobody moved it."""
    move = aliased(AuditEvent)
    return (select(move.actor).where(move.plan_id == plan_id, move.action == AuditAction.SESSION_MOVED.value,
                                     _session_number(move) == number, move.created_at >= after)
            .order_by(move.created_at, move.id).limit(1).scalar_subquery())


def _how(actor: SQLColumnExpression, confirmed: SQLColumnExpression | None = None) -> ColumnElement:
    whens: list[tuple[SQLColumnExpression, SQLColumnExpression]] = [
        (actor.like(CLIENT_ACTOR), literal("client")), (actor.is_not(None), literal("staff"))]
    if confirmed is not None:
        whens.append((confirmed, literal("client")))
    return case(*whens, else_=literal("not rebooked"))


def _counted(inner) -> Select:
    """Per period and outcome: the correlated look-up of the mover runs once per trigger, in ``inner``."""
    rows = inner.subquery()
    confirmed = rows.c.confirmed if "confirmed" in rows.c else None
    return select(rows.c.period, _how(rows.c.actor, confirmed), func.count()).group_by(*positions(2))


def _audit_trigger(scope: Scope, action: AuditAction) -> Select:
    event = aliased(AuditEvent)
    actor = _first_move_actor(event.plan_id, _session_number(event), event.created_at)
    return _counted(select(bucket(event.created_at, scope.periods).label("period"), actor.label("actor"))
                    .where(event.clinic_id == scope.clinic_id, event.action == action.value,
                           within(event.created_at, scope.periods), of_protocol(scope, event.plan_id)))


def _nudges(scope: Scope) -> Select:
    nudge = OutboxMessage
    session = aliased(TreatmentSession)
    actor = _first_move_actor(nudge.plan_id, session.number, nudge.sent_at)
    return _counted(select(bucket(nudge.sent_at, scope.periods).label("period"), actor.label("actor"),
                           (session.confirmed_at >= nudge.sent_at).label("confirmed"))
                    .select_from(nudge).join(session, session.id == nudge.session_id)
                    .where(nudge.clinic_id == scope.clinic_id, nudge.kind == MessageKind.BOOKING_NUDGE,
                           within(nudge.sent_at, scope.periods), of_protocol(scope, nudge.plan_id)))


def rebooking(db: Session, scope: Scope) -> Figure:
    """Per period and trigger: how many, how many ended in a booked session, by the client or by staff."""
    queries = {Trigger.RESCHEDULE: _audit_trigger(scope, AuditAction.SESSION_HELD),
               Trigger.NO_SHOW: _audit_trigger(scope, AuditAction.SESSION_NO_SHOW),
               Trigger.NUDGE: _nudges(scope)}
    rows = []
    for trigger, query in queries.items():
        counts: dict[int, dict[str, int]] = {}
        for period, how, count in db.execute(query):
            counts.setdefault(period, {})[how] = count
        for index, period in enumerate(scope.periods):
            found = counts.get(index, {})
            by_client, by_staff = found.get("client", 0), found.get("staff", 0)
            total = by_client + by_staff + found.get("not rebooked", 0)
            row = {"period": period.key, "label": period.label, "trigger": trigger.value, "count": total,
                   "by_client": by_client, "by_staff": by_staff}
            _booked_rate(row)
            rows.append(row)
    return Figure("rebooking", "Rebooked after R, a no-show or a nudge",
                  ("period", "trigger", "count", "booked", "by_client", "by_staff", "booked_rate"), rows,
                  derive=_booked_rate)


def _booked_rate(row: dict) -> None:
    row["booked"] = row["by_client"] + row["by_staff"]
    row["booked_rate"] = rate(row["booked"], row["count"])
