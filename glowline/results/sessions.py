"""Figures about appointments: confirmations, no-shows, plan completion per protocol, the intake-to-plan funnel."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from glowline.results.figure import Figure, Scope, minutes_between, per_period, positions
from glowline.results.periods import bucket, rate, within
from glowline.store.models import (Intake, IntakeStatus, MessageKind, OutboxMessage, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)

S = TreatmentSession
FINISHED_INTAKES = (IntakeStatus.COMPLETE, IntakeStatus.NEEDS_HUMAN, IntakeStatus.PLANNED)


def first_reminder_sent() -> ColumnElement:
    """When a session's first reminder (the 48-hour one, with the default offsets) went out, or NULL."""
    return (select(func.min(OutboxMessage.sent_at))
            .where(OutboxMessage.session_id == S.id, OutboxMessage.kind == MessageKind.REMINDER,
                   OutboxMessage.sent_at.is_not(None))
            .correlate(S).scalar_subquery())


def _sessions(scope: Scope, *columns):
    # Sessions are found by start time (the range's few thousand), their plan checked after:
    # "+ 0" keeps SQLite, which has no statistics, from walking every plan of the clinic instead.
    plans = select(Plan.id).where(Plan.clinic_id == scope.clinic_id)
    if scope.protocol is not None:
        plans = plans.where(Plan.protocol_id == scope.protocol)
    return select(*columns).select_from(S).where((S.plan_id + 0).in_(plans), within(S.starts_at, scope.periods))


def _count_if(condition) -> ColumnElement:
    return func.count().filter(condition)


def median_minutes(db: Session, scope: Scope) -> dict[int, float]:
    """The median minutes from first reminder to confirmation per period, with window functions on both dialects."""
    period = bucket(S.starts_at, scope.periods)
    # The reminder's time is looked up once per session (inner), then compared and subtracted.
    pairs = (_sessions(scope, period.label("period"), S.confirmed_at.label("confirmed"), first_reminder_sent().label("sent"))
             .where(S.status != SessionStatus.CANCELLED, S.confirmed_at.is_not(None))
             # MATERIALIZED (SQLite 3.35+, PostgreSQL 12+): otherwise both fold it into the next query
             # and look the reminder up twice per session.
             .cte("pairs").prefix_with("MATERIALIZED"))
    durations = (select(pairs.c.period, minutes_between(db, pairs.c.confirmed, pairs.c.sent).label("minutes"))
                 .where(pairs.c.confirmed >= pairs.c.sent).subquery())
    ranked = select(durations.c.period, durations.c.minutes,
                    func.row_number().over(partition_by=durations.c.period, order_by=durations.c.minutes).label("rn"),
                    func.count().over(partition_by=durations.c.period).label("n")).subquery()
    # The middle row, or the two middle rows' mean when the count is even: (n+1)//2 and (n+2)//2.
    middle = (select(ranked.c.period, func.avg(ranked.c.minutes))
              .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
              .group_by(ranked.c.period))
    return {period: round(float(value), 1) for period, value in db.execute(middle)}


def confirmations(db: Session, scope: Scope) -> Figure:
    """Sessions (by start) that were confirmed, and the median time from the first reminder to the confirmation."""
    period = bucket(S.starts_at, scope.periods)
    query = (_sessions(scope, period, func.count(), func.count(S.confirmed_at), func.count(first_reminder_sent()))
             .where(S.status != SessionStatus.CANCELLED).group_by(*positions(1)))
    counts = {p: {"sessions": n, "confirmed": c, "reminded": r} for p, n, c, r in db.execute(query)}
    medians = median_minutes(db, scope)
    rows = per_period(scope, counts, ("sessions", "reminded", "confirmed"))
    for index, row in enumerate(rows):
        _confirmation_rate(row)
        row["median_minutes_to_confirm"] = medians.get(index)
    return Figure("confirmations", "Confirmed appointments",
                  ("period", "sessions", "reminded", "confirmed", "confirmation_rate", "median_minutes_to_confirm"), rows,
                  derive=_confirmation_rate)


def _confirmation_rate(row: dict) -> None:
    row["confirmation_rate"] = rate(row["confirmed"], row["sessions"])


def no_shows(db: Session, scope: Scope) -> Figure:
    """Sessions marked attended or no-show, and how often confirmed, unconfirmed, reminded and unreminded ones failed."""
    period = bucket(S.starts_at, scope.periods)
    missed = S.status == SessionStatus.NO_SHOW
    confirmed = S.confirmed_at.is_not(None)
    reminded = first_reminder_sent().is_not(None)
    query = (_sessions(scope, period, func.count(), _count_if(missed), _count_if(confirmed),
                       _count_if(missed & confirmed), _count_if(reminded), _count_if(missed & reminded))
             .where(S.status.in_((SessionStatus.ATTENDED, SessionStatus.NO_SHOW))).group_by(*positions(1)))
    names = ("marked", "no_shows", "confirmed", "confirmed_no_shows", "reminded", "reminded_no_shows")
    counts = {row[0]: dict(zip(names, row[1:], strict=True)) for row in db.execute(query)}
    rows = per_period(scope, counts, names)
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
