"""Figures about texts and calls: opt-outs and what preceded them, delivery and its failures, segments and cost."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, aliased

from glowline.results.figure import Figure, Scope, of_protocol, per_period, positions
from glowline.results.periods import bucket, rate, within
from glowline.store.models import (Channel, Client, ConsentAction, ConsentEvent, MessageKind, MessageStatus,
                                   OutboxMessage)
from glowline.transports import errors as twilio_errors

Out = OutboxMessage
S = MessageStatus
# Staff-facing names of what a message was for (the page is in the clinic's language, English here).
KIND_WORDS = {
    MessageKind.REMINDER: "appointment reminder",
    MessageKind.AFTERCARE: "aftercare advice",
    MessageKind.AFTERCARE_END: "end of aftercare",
    MessageKind.BOOKING_NUDGE: "booking nudge",
    MessageKind.PLAN_CONFIRMATION: "plan confirmation",
    MessageKind.STAFF_NOTICE: "staff notice",
    MessageKind.CLIENT_NOTICE: "notice to the client",
    MessageKind.SESSION_MOVED: "appointment moved",
    MessageKind.MISSED_SESSION: "we missed you / rebook",
    MessageKind.CONSENT_REQUEST: "consent request",
    MessageKind.STAFF_REPLY: "staff reply",
}
NO_TEXT_BEFORE = "no text before it"
# Twilio took these: a text that reached the carrier costs its segments whatever happened next.
LEFT = (S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED)
FAILED = (S.UNDELIVERED, S.FAILED)
# The estimate for rows written before the segments column: GSM-7 lengths (160 alone, 153 each when split).
_ESTIMATE = case((func.length(Out.body) <= 160, 1), else_=(func.length(Out.body) + 152) // 153)


def _to_clients(scope: Scope) -> list:
    return [Out.clinic_id == scope.clinic_id, Out.kind != MessageKind.STAFF_NOTICE, of_protocol(scope, Out.plan_id)]


def _sent_to_clients(db: Session, scope: Scope) -> dict[int, int]:
    period = bucket(Out.sent_at, scope.periods)
    query = (select(period, func.count()).where(*_to_clients(scope), within(Out.sent_at, scope.periods))
             .group_by(*positions(1)))
    return dict(db.execute(query).all())


def _opt_outs(scope: Scope, *columns):
    query = (select(*columns).select_from(ConsentEvent).join(Client, Client.id == ConsentEvent.client_id)
             .where(Client.clinic_id == scope.clinic_id, ConsentEvent.action == ConsentAction.OPT_OUT.value,
                    within(ConsentEvent.created_at, scope.periods)))
    if scope.protocol is not None:
        last = aliased(Out)
        query = query.where(select(last.id).where(last.client_id == Client.id, of_protocol(scope, last.plan_id))
                            .exists())
    return query


def opt_outs(db: Session, scope: Scope) -> Figure:
    """Opt-outs per period against the texts and calls sent to clients in it."""
    period = bucket(ConsentEvent.created_at, scope.periods)
    counts = {p: {"opt_outs": n} for p, n in db.execute(_opt_outs(scope, period, func.count()).group_by(*positions(1)))}
    for p, n in _sent_to_clients(db, scope).items():
        counts.setdefault(p, {})["messages_sent"] = n
    rows = per_period(scope, counts, ("messages_sent", "opt_outs"))
    for row in rows:
        row["opt_out_rate"] = rate(row["opt_outs"], row["messages_sent"])
    return Figure("opt_outs", "Opt-outs", ("period", "messages_sent", "opt_outs", "opt_out_rate"), rows)


def _preceding_kind() -> ColumnElement:
    """The kind of the last message sent to the client before the opt-out (NULL when there was none)."""
    return (select(Out.kind).where(Out.client_id == ConsentEvent.client_id, Out.sent_at.is_not(None),
                                 Out.sent_at <= ConsentEvent.created_at, Out.kind != MessageKind.STAFF_NOTICE)
            .order_by(Out.sent_at.desc(), Out.id.desc()).limit(1).correlate(ConsentEvent).scalar_subquery())


def opt_outs_by_kind(db: Session, scope: Scope) -> Figure:
    """Which kind of message came last before each opt-out, and opt-outs per message of that kind sent."""
    kind = _preceding_kind()
    found = dict(db.execute(_opt_outs(scope, kind, func.count()).group_by(*positions(1))).all())
    sent = dict(db.execute(select(Out.kind, func.count()).where(*_to_clients(scope), within(Out.sent_at, scope.periods))
                           .group_by(Out.kind)).all())
    rows = []
    for key in found:
        member = MessageKind(key) if key is not None else None
        rows.append({"kind": member.value if member else None,
                     "message": KIND_WORDS.get(member, str(key)) if member else NO_TEXT_BEFORE,
                     "opt_outs": found[key], "sent": sent.get(member, 0) if member else None,
                     "opt_outs_per_sent": rate(found[key], sent.get(member, 0)) if member else None})
    rows.sort(key=lambda row: (-row["opt_outs"], row["message"]))
    return Figure("opt_outs_by_kind", "What clients read just before they opted out",
                  ("kind", "message", "opt_outs", "sent", "opt_outs_per_sent"), rows)


def _outcomes(scope: Scope, *columns, channel: Channel | None = Channel.SMS):
    when = func.coalesce(Out.sent_at, Out.finished_at)
    query = select(*columns).where(Out.clinic_id == scope.clinic_id, Out.status.in_(LEFT),
                                   of_protocol(scope, Out.plan_id), within(when, scope.periods))
    return query.where(Out.channel == channel) if channel is not None else query


def delivery(db: Session, scope: Scope) -> Figure:
    """Texts sent per period and how many were delivered or failed (those still 'sent' await Twilio's word)."""
    period = bucket(func.coalesce(Out.sent_at, Out.finished_at), scope.periods)
    query = _outcomes(scope, period, func.count(), func.count().filter(Out.status == S.DELIVERED),
                      func.count().filter(Out.status.in_(FAILED))).group_by(*positions(1))
    counts = {p: {"sent": n, "delivered": d, "failed": f} for p, n, d, f in db.execute(query)}
    rows = per_period(scope, counts, ("sent", "delivered", "failed"))
    for row in rows:
        row["awaiting_report"] = row["sent"] - row["delivered"] - row["failed"]
        row["delivery_rate"] = rate(row["delivered"], row["delivered"] + row["failed"])
    return Figure("delivery", "Texts delivered",
                  ("period", "sent", "delivered", "failed", "awaiting_report", "delivery_rate"), rows)


def failures(db: Session, scope: Scope) -> Figure:
    """Failed texts and calls in the range by Twilio error code, in words."""
    query = (_outcomes(scope, Out.error_code, func.count(), channel=None).where(Out.status.in_(FAILED))
             .group_by(Out.error_code))
    found = sorted(db.execute(query).all(), key=lambda row: (-row[1], row[0] or 0))
    rows = [{"error_code": code, "reason": twilio_errors.describe(code), "failed": count} for code, count in found]
    return Figure("failures", "Why texts failed", ("error_code", "reason", "failed"), rows)


def costs(db: Session, scope: Scope) -> Figure:
    """Texts Twilio accepted per period, their SMS segments, and the cost at the configured price per segment."""
    period = bucket(Out.sent_at, scope.periods)
    segments = func.coalesce(func.sum(func.coalesce(Out.segments, _ESTIMATE)), 0)
    accepted = [Out.clinic_id == scope.clinic_id, Out.status.in_(LEFT), Out.sent_at.is_not(None),
                of_protocol(scope, Out.plan_id), within(Out.sent_at, scope.periods)]
    texts = (select(period, func.count(), segments).where(*accepted, Out.channel == Channel.SMS)
             .group_by(*positions(1)))
    counts = {p: {"texts": n, "segments": int(s)} for p, n, s in db.execute(texts)}
    calls = select(period, func.count()).where(*accepted, Out.channel == Channel.VOICE).group_by(*positions(1))
    for p, n in db.execute(calls):
        counts.setdefault(p, {})["calls"] = n
    rows = per_period(scope, counts, ("texts", "segments", "calls"))
    for row in rows:
        row["estimated_cost_usd"] = round(row["segments"] * scope.segment_price, 2)
    return Figure("costs", "What texting cost", ("period", "texts", "segments", "estimated_cost_usd", "calls"), rows)
