"""Rebooking: of the clients who asked to move (R), missed a visit, or got a booking nudge, how many ended booked, and how.

Read from the audit log (a session marked no-show, a session held after R, a session moved,
and by whom) and the outbox (the nudge sent); "by the client" is a move the client made by
picking an offered time (the audit actor "client #id"), or, after a nudge, a confirmation;
"by staff" is a move a staff member or API token made.
"""

from __future__ import annotations

import enum

from sqlalchemy import CTE, ColumnElement, Select, SQLColumnExpression, and_, case, func, literal, select
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


def _moves(scope: Scope) -> CTE:
    """The clinic's session moves from the range's start on (a move answers a trigger in the range only after it)."""
    move = aliased(AuditEvent)
    # "+ 0": SQLite (no statistics) would otherwise search the clinic's moves by time once per
    # trigger, reading every later move each time; this leaves it the plan index, a handful of
    # rows per trigger. PostgreSQL hashes the moves once either way.
    return (select(move.id, move.plan_id, _session_number(move).label("number"), move.created_at, move.actor)
            .where(move.clinic_id + 0 == scope.clinic_id, move.action == AuditAction.SESSION_MOVED.value,
                   move.created_at >= scope.start)
            .cte("moves"))


def _how(actor: SQLColumnExpression, confirmed: SQLColumnExpression | None = None) -> ColumnElement:
    whens: list[tuple[SQLColumnExpression, SQLColumnExpression]] = [
        (actor.like(CLIENT_ACTOR), literal("client")), (actor.is_not(None), literal("staff"))]
    if confirmed is not None:
        whens.append((confirmed, literal("client")))
    return case(*whens, else_=literal("not rebooked"))


def _counted(scope: Scope, triggers: Select) -> Select:
    """Per period and outcome: each trigger (key, period, plan_id, number, after[, confirmed]) with the first move after it.

    One outer join of the triggers to the moves, then the earliest move per trigger by a window
    (a trigger nobody answered keeps its one row, with no actor): where a correlated
    ``ORDER BY ... LIMIT 1`` per trigger cost 30,000 index searches and, on PostgreSQL, a
    cost estimate high enough to pay a second of JIT compilation.
    """
    found, moves = triggers.subquery(), _moves(scope)
    first = func.row_number().over(partition_by=found.c.key, order_by=(moves.c.created_at, moves.c.id))
    extra = [found.c.confirmed] if "confirmed" in found.c else []
    joined = (select(found.c.period, moves.c.actor, *extra, first.label("rn")).select_from(found)
              .outerjoin(moves, and_(moves.c.plan_id == found.c.plan_id, moves.c.number == found.c.number,
                                     moves.c.created_at >= found.c.after))
              .subquery())
    confirmed = joined.c.confirmed if extra else None
    return (select(joined.c.period, _how(joined.c.actor, confirmed), func.count()).where(joined.c.rn == 1)
            .group_by(*positions(2)))


def _audit_trigger(scope: Scope, action: AuditAction) -> Select:
    event = aliased(AuditEvent)
    return _counted(scope, select(event.id.label("key"), bucket(event.created_at, scope.periods).label("period"),
                                  event.plan_id, _session_number(event).label("number"), event.created_at.label("after"))
                    .where(event.clinic_id == scope.clinic_id, event.action == action.value,
                           within(event.created_at, scope.periods), of_protocol(scope, event.plan_id)))


def _nudges(scope: Scope) -> Select:
    nudge = OutboxMessage
    session = aliased(TreatmentSession)
    return _counted(scope, select(nudge.id.label("key"), bucket(nudge.sent_at, scope.periods).label("period"),
                                  nudge.plan_id, session.number.label("number"), nudge.sent_at.label("after"),
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
