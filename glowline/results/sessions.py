"""Figures about appointments: confirmations, no-shows, plan completion per protocol, the intake-to-plan funnel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from glowline.results.figure import Figure, Scope, minutes_between, per_period, positions
from glowline.results.periods import bucket, rate, within
from glowline.store.models import (Intake, IntakeStatus, MessageKind, OutboxMessage, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)

S = TreatmentSession
FINISHED_INTAKES = (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN, IntakeStatus.PLANNED)
# The median query's key for the whole range, beside the periods' indexes (0, 1, ...).
WHOLE = -1


def _sessions(scope: Scope, *columns):
    # Sessions are found by start time (the range's few thousand), their plan checked after:
    # "+ 0" keeps SQLite, which has no statistics, from walking every plan of the clinic instead.
    plans = select(Plan.id).where(Plan.clinic_id == scope.clinic_id)
    if scope.protocol is not None:
        plans = plans.where(Plan.protocol_id == scope.protocol)
    return select(*columns).select_from(S).where((S.plan_id + 0).in_(plans), within(S.starts_at, scope.periods))


def _count_if(condition) -> ColumnElement:
    return func.count().filter(condition)


def _with_first_reminder(scope: Scope):
    """Sessions starting in the range: period, status, confirmed_at, and when their first reminder went out (or NULL).

    The first reminder (the 48-hour one, with the default offsets) is found by one outer join
    grouped per session, over the (session_id, kind, sent_at) index: where a correlated
    subquery per session gave PostgreSQL a cost estimate high enough to JIT-compile the query.
    """
    reminder = aliased(OutboxMessage)
    return (_sessions(scope, S.id, bucket(S.starts_at, scope.periods).label("period"), S.status, S.confirmed_at,
                      func.min(reminder.sent_at).label("reminded_at"))
            .outerjoin(reminder, and_(reminder.session_id == S.id, reminder.kind == MessageKind.REMINDER,
                                      reminder.sent_at.is_not(None)))
            .group_by(S.id))


@dataclass(frozen=True)
class Visits:
    """The range's sessions counted in one pass: (period, status, confirmed, reminded) -> how many, and the medians.

    Both the confirmation and the no-show figures add these up (a few hundred groups at most).
    ``medians`` are the minutes from first reminder to confirmation per period, ``median`` over the range.
    """

    groups: dict[tuple[int, SessionStatus, bool, bool], int]
    medians: dict[int, float]
    median: float | None

    def per_period(self, keep: Callable[[SessionStatus, bool, bool], bool]) -> dict[int, int]:
        """Sessions per period of the (status, confirmed, reminded) groups ``keep`` accepts."""
        found: dict[int, int] = {}
        for (period, status, confirmed, reminded), count in self.groups.items():
            if keep(status, confirmed, reminded):
                found[period] = found.get(period, 0) + count
        return found


def _medians(db: Session, rows) -> Select:
    """Per period and for the whole range (key WHOLE): the median minutes from first reminder to confirmation."""
    durations = (select(rows.c.period, minutes_between(db, rows.c.confirmed_at, rows.c.reminded_at).label("minutes"))
                 .where(rows.c.status != SessionStatus.CANCELLED, rows.c.confirmed_at >= rows.c.reminded_at)
                 .subquery())
    both = union_all(select(durations.c.period, durations.c.minutes),
                     select(literal(WHOLE).label("period"), durations.c.minutes)).subquery()
    ranked = select(both.c.period, both.c.minutes,
                    func.row_number().over(partition_by=both.c.period, order_by=both.c.minutes).label("rn"),
                    func.count().over(partition_by=both.c.period).label("n")).subquery()
    # The middle row, or the two middle rows' mean when the count is even: (n+1)//2 and (n+2)//2.
    return (select(ranked.c.period, null(), null(), null(), null(), func.avg(ranked.c.minutes))
            .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
            .group_by(ranked.c.period))


def count_visits(db: Session, scope: Scope) -> Visits:
    """Every session starting in the range, grouped by period, status, confirmed or not and reminded or not, and the medians.

    One statement: the sessions with their first reminder are read once (MATERIALIZED, SQLite
    3.35+ and PostgreSQL 12+) and both counted and ranked, so the outbox is joined only once.
    """
    rows = _with_first_reminder(scope).cte("visits").prefix_with("MATERIALIZED")
    counts = select(rows.c.period, rows.c.status, rows.c.confirmed_at.is_not(None), rows.c.reminded_at.is_not(None),
                    func.count(), null()).group_by(*positions(4))
    groups: dict[tuple[int, SessionStatus, bool, bool], int] = {}
    medians: dict[int, float] = {}
    for period, status, confirmed, reminded, count, median in db.execute(union_all(counts, _medians(db, rows))):
        if status is None:
            medians[period] = round(float(median), 1)
        else:
            groups[(period, SessionStatus(status), bool(confirmed), bool(reminded))] = count
    return Visits(groups, medians, medians.pop(WHOLE, None))


def confirmations(db: Session, scope: Scope, visits: Visits | None = None) -> Figure:
    """Sessions (by start) that were confirmed, and the median time from the first reminder to the confirmation."""
    visits = visits if visits is not None else count_visits(db, scope)
    cancelled = SessionStatus.CANCELLED
    counted = {"sessions": visits.per_period(lambda status, c, r: status != cancelled),
               "confirmed": visits.per_period(lambda status, c, r: status != cancelled and c),
               "reminded": visits.per_period(lambda status, c, r: status != cancelled and r)}
    rows = per_period(scope, _by_period(counted), ("sessions", "reminded", "confirmed"))
    for index, row in enumerate(rows):
        _confirmation_rate(row)
        row["median_minutes_to_confirm"] = visits.medians.get(index)
    return Figure("confirmations", "Confirmed appointments",
                  ("period", "sessions", "reminded", "confirmed", "confirmation_rate", "median_minutes_to_confirm"), rows,
                  derive=_confirmation_rate)


def _by_period(counted: dict[str, dict[int, int]]) -> dict[int, dict]:
    """{name: {period: n}} turned into {period: {name: n}}, what ``per_period`` reads."""
    found: dict[int, dict] = {}
    for name, periods in counted.items():
        for period, count in periods.items():
            found.setdefault(period, {})[name] = count
    return found


def _confirmation_rate(row: dict) -> None:
    row["confirmation_rate"] = rate(row["confirmed"], row["sessions"])


def no_shows(db: Session, scope: Scope, visits: Visits | None = None) -> Figure:
    """Sessions marked attended or no-show, and how often confirmed, unconfirmed, reminded and unreminded ones failed."""
    visits = visits if visits is not None else count_visits(db, scope)
    marked = (SessionStatus.ATTENDED, SessionStatus.NO_SHOW)
    missed = SessionStatus.NO_SHOW
    counted = {"marked": visits.per_period(lambda status, c, r: status in marked),
               "no_shows": visits.per_period(lambda status, c, r: status == missed),
               "confirmed": visits.per_period(lambda status, c, r: status in marked and c),
               "confirmed_no_shows": visits.per_period(lambda status, c, r: status == missed and c),
               "reminded": visits.per_period(lambda status, c, r: status in marked and r),
               "reminded_no_shows": visits.per_period(lambda status, c, r: status == missed and r)}
    rows = per_period(scope, _by_period(counted), tuple(counted))
    for row in rows:
        _no_show_rates(row)
    return Figure("no_shows", "No-shows", ("period", "marked", "no_shows", "no_show_rate", "confirmed",
                                           "confirmed_no_shows", "confirmed_no_show_rate", "unconfirmed",
                                           "unconfirmed_no_shows", "unconfirmed_no_show_rate", "reminded",
                                           "reminded_no_shows", "reminded_no_show_rate", "unreminded",
                                           "unreminded_no_shows", "unreminded_no_show_rate"), rows, derive=_no_show_rates)


def _no_show_rates(row: dict) -> None:
    row["unconfirmed"] = row["marked"] - row["confirmed"]
    row["unconfirmed_no_shows"] = row["no_shows"] - row["confirmed_no_shows"]
    row["unreminded"] = row["marked"] - row["reminded"]
    row["unreminded_no_shows"] = row["no_shows"] - row["reminded_no_shows"]
    row["no_show_rate"] = rate(row["no_shows"], row["marked"])
    row["confirmed_no_show_rate"] = rate(row["confirmed_no_shows"], row["confirmed"])
    row["unconfirmed_no_show_rate"] = rate(row["unconfirmed_no_shows"], row["unconfirmed"])
    row["reminded_no_show_rate"] = rate(row["reminded_no_shows"], row["reminded"])
    row["unreminded_no_show_rate"] = rate(row["unreminded_no_shows"], row["unreminded"])


def _plans(scope: Scope, *columns):
    query = select(*columns).where(Plan.clinic_id == scope.clinic_id, within(Plan.created_at, scope.periods))
    return query.where(Plan.protocol_id == scope.protocol) if scope.protocol is not None else query


def plans(db: Session, scope: Scope) -> Figure:
    """Plans started in the range, per protocol: how many still run, completed, or were cancelled."""
    query = (_plans(scope, Plan.protocol_id, func.count(), _count_if(Plan.status == PlanStatus.ACTIVE),
                    _count_if(Plan.status == PlanStatus.COMPLETED), _count_if(Plan.status == PlanStatus.CANCELLED))
             .group_by(Plan.protocol_id).order_by(Plan.protocol_id))
    rows = [{"protocol": protocol, "started": n, "running": a, "completed": c, "cancelled": x,
             "completion_rate": rate(c, n), "cancellation_rate": rate(x, n)}
            for protocol, n, a, c, x in db.execute(query)]
    return Figure("plans", "Plans started, completed and cancelled",
                  ("protocol", "started", "running", "completed", "cancelled", "completion_rate", "cancellation_rate"),
                  rows)


def cancellations(db: Session, scope: Scope) -> Figure:
    """Cancelled plans by protocol and by how many sessions had taken place before the cancellation."""
    before = (select(func.count(S.id)).where(S.plan_id == Plan.id, S.starts_at < Plan.cancelled_at,
                                             S.status != SessionStatus.CANCELLED)
              .correlate(Plan).scalar_subquery())
    after = before.label("after_sessions")
    query = (_plans(scope, Plan.protocol_id, after, func.count())
             .where(Plan.status == PlanStatus.CANCELLED)
             .group_by(*positions(2)).order_by(*positions(2)))
    rows = [{"protocol": protocol, "after_sessions": n, "cancelled_at_session": n + 1, "plans": count}
            for protocol, n, count in db.execute(query)]
    return Figure("cancellations", "Where plans were cancelled",
                  ("protocol", "after_sessions", "cancelled_at_session", "plans"), rows)


def funnel(db: Session, scope: Scope) -> Figure:
    """Intakes begun in the range, and how many finished, got a plan, came to a first visit and completed it."""
    begun = (Intake.clinic_id == scope.clinic_id, within(Intake.created_at, scope.periods))
    started, finished = db.execute(select(func.count(), _count_if(Intake.status.in_(FINISHED_INTAKES)))
                                   .where(*begun)).one()

    def intakes_with(*conditions, visit: bool = False) -> int:
        # Joins, not an EXISTS per intake: one pass over the range's plans (and their sessions).
        query = (select(func.count(func.distinct(Plan.intake_id))).select_from(Intake)
                 .join(Plan, (Plan.intake_id == Intake.id) & (Plan.clinic_id == scope.clinic_id)))
        if visit:
            query = query.join(S, S.plan_id == Plan.id)
        if scope.protocol is not None:
            query = query.where(Plan.protocol_id == scope.protocol)
        return db.scalar(query.where(*begun, *conditions)) or 0

    steps = (("intake begun", started), ("intake finished", finished), ("plan started", intakes_with()),
             ("first visit attended", intakes_with(S.status == SessionStatus.ATTENDED, visit=True)),
             ("plan completed", intakes_with(Plan.status == PlanStatus.COMPLETED)))
    rows = [{"step": step, "count": count, "share_of_intakes": rate(count, started)} for step, count in steps]
    return Figure("funnel", "From first text to completed plan", ("step", "count", "share_of_intakes"), rows)
