"""Figures about texts and calls: opt-outs and what preceded them, delivery and its failures, segments and cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
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


@dataclass(frozen=True)
class Sent:
    """One group of the outbox rows sent in the range: a period, kind, channel and status, how many, their segments."""

    period: int
    kind: MessageKind
    channel: Channel
    status: MessageStatus
    count: int
    segments: int


@dataclass(frozen=True)
class Traffic:
    """What the scope's clinic sent in the range, counted in one pass; opt-out, delivery and cost figures all read it.

    The groups are a few hundred at most (periods x kinds x channels x statuses), never the
    messages themselves: the figures add them up instead of each scanning the same rows again.
    """

    groups: list[Sent]

    def per_period(self, keep: Callable[[Sent], bool], *, segments: bool = False) -> dict[int, int]:
        """Messages (or their segments) per period, of the groups ``keep`` accepts."""
        found: dict[int, int] = {}
        for group in self.groups:
            if keep(group):
                found[group.period] = found.get(group.period, 0) + (group.segments if segments else group.count)
        return found


def count_traffic(db: Session, scope: Scope) -> Traffic:
    """The range's sent messages grouped by period, kind, channel and status, read from the covering send-time index."""
    period = bucket(Out.sent_at, scope.periods)
    query = (select(period, Out.kind, Out.channel, Out.status, func.count(), func.coalesce(func.sum(Out.segments), 0))
             .where(Out.clinic_id == scope.clinic_id, of_protocol(scope, Out.plan_id), within(Out.sent_at, scope.periods))
             .group_by(*positions(4)))
    return Traffic([Sent(p, kind, channel, status, n, int(segments)) for p, kind, channel, status, n, segments
                    in db.execute(query)])


def _to_clients(group: Sent) -> bool:
    return group.kind != MessageKind.STAFF_NOTICE


def _opt_outs(scope: Scope, *columns):
    query = (select(*columns).select_from(ConsentEvent).join(Client, Client.id == ConsentEvent.client_id)
             .where(Client.clinic_id == scope.clinic_id, ConsentEvent.action == ConsentAction.OPT_OUT.value,
                    within(ConsentEvent.created_at, scope.periods)))
    if scope.protocol is not None:
        last = aliased(Out)
        query = query.where(select(last.id).where(last.client_id == ConsentEvent.client_id, of_protocol(scope, last.plan_id))
                            .exists())
    return query


def opt_outs(db: Session, scope: Scope, traffic: Traffic | None = None) -> Figure:
    """Opt-outs per period against the texts and calls sent to clients in it."""
    traffic = traffic if traffic is not None else count_traffic(db, scope)
    period = bucket(ConsentEvent.created_at, scope.periods)
    counts = {p: {"opt_outs": n} for p, n in db.execute(_opt_outs(scope, period, func.count()).group_by(*positions(1)))}
    for p, n in traffic.per_period(_to_clients).items():
        counts.setdefault(p, {})["messages_sent"] = n
    rows = per_period(scope, counts, ("messages_sent", "opt_outs"))
    for row in rows:
        _opt_out_rate(row)
    return Figure("opt_outs", "Opt-outs", ("period", "messages_sent", "opt_outs", "opt_out_rate"), rows,
                  derive=_opt_out_rate)


def _opt_out_rate(row: dict) -> None:
    row["opt_out_rate"] = rate(row["opt_outs"], row["messages_sent"])


def _preceding_kind() -> ColumnElement:
    """The kind of the last message sent to the client before the opt-out (NULL when there was none)."""
    return (select(Out.kind).where(Out.client_id == ConsentEvent.client_id, Out.sent_at.is_not(None),
                                 Out.sent_at <= ConsentEvent.created_at, Out.kind != MessageKind.STAFF_NOTICE)
            .order_by(Out.sent_at.desc(), Out.id.desc()).limit(1).correlate(ConsentEvent).scalar_subquery())


def opt_outs_by_kind(db: Session, scope: Scope, traffic: Traffic | None = None) -> Figure:
    """Which kind of message came last before each opt-out, and opt-outs per message of that kind sent.

    ``traffic`` may be cut into periods: only its sum over the scope's range is read.
    """
    traffic = traffic if traffic is not None else count_traffic(db, scope)
    kind = _preceding_kind()
    found = dict(db.execute(_opt_outs(scope, kind, func.count()).group_by(*positions(1))).all())
    sent: dict[MessageKind, int] = {}
    for group in filter(_to_clients, traffic.groups):
        sent[group.kind] = sent.get(group.kind, 0) + group.count
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


def _failed_unsent(scope: Scope, channel: Channel | None) -> list:
    """The conditions for failed rows that never left, timed by when they failed (there is no send time)."""
    conditions = [Out.clinic_id == scope.clinic_id, of_protocol(scope, Out.plan_id), within(Out.finished_at, scope.periods),
                  Out.sent_at.is_(None), Out.status.in_(FAILED)]
    if channel is not None:
        conditions.append(Out.channel == channel)
    return conditions


def _outcomes(db: Session, scope: Scope, key, *measures, channel: Channel | None = Channel.SMS,
              statuses: tuple[MessageStatus, ...] = LEFT) -> list:
    """Rows of (key, *measures) for texts Twilio took, timed by when they were sent, or failed when never sent.

    Two queries rather than one over COALESCE(sent_at, finished_at): each of them can use an
    index (the clinic's send times; the few failed rows), where the COALESCE would read every row.
    """
    rows: list = []
    for when, unsent in ((Out.sent_at, False), (Out.finished_at, True)):
        if unsent:
            conditions = _failed_unsent(scope, channel)
        else:
            conditions = [Out.clinic_id == scope.clinic_id, of_protocol(scope, Out.plan_id), within(when, scope.periods),
                          Out.status.in_(statuses)]
            if channel is not None:
                conditions.append(Out.channel == channel)
        grouping = key(when) if callable(key) else key
        rows += db.execute(select(grouping, *measures).where(*conditions).group_by(*positions(1))).all()
    return rows


def _added(rows: list) -> dict:
    """The two queries' rows added up by key (a few dozen rows, never the messages themselves)."""
    found: dict = {}
    for key, *values in rows:
        found[key] = [a + b for a, b in zip(found.get(key, [0] * len(values)), values, strict=True)]
    return found


def _texts(group: Sent) -> bool:
    return group.channel == Channel.SMS and group.status in LEFT


def delivery(db: Session, scope: Scope, traffic: Traffic | None = None) -> Figure:
    """Texts sent per period and how many were delivered or failed (those still 'sent' await Twilio's word)."""
    traffic = traffic if traffic is not None else count_traffic(db, scope)
    sent = traffic.per_period(_texts)
    delivered = traffic.per_period(lambda g: _texts(g) and g.status == S.DELIVERED)
    failed = traffic.per_period(lambda g: _texts(g) and g.status in FAILED)
    # Texts that failed before Twilio took them are timed by when they failed: the few failed rows, by index.
    period = bucket(Out.finished_at, scope.periods)
    unsent = select(period, func.count()).where(*_failed_unsent(scope, Channel.SMS)).group_by(*positions(1))
    for p, n in db.execute(unsent):
        sent[p], failed[p] = sent.get(p, 0) + n, failed.get(p, 0) + n
    counts = {p: {"sent": n, "delivered": delivered.get(p, 0), "failed": failed.get(p, 0)} for p, n in sent.items()}
    rows = per_period(scope, counts, ("sent", "delivered", "failed"))
    for row in rows:
        _delivery_rate(row)
    return Figure("delivery", "Texts delivered",
                  ("period", "sent", "delivered", "failed", "awaiting_report", "delivery_rate"), rows,
                  derive=_delivery_rate)


def _delivery_rate(row: dict) -> None:
    row["awaiting_report"] = row["sent"] - row["delivered"] - row["failed"]
    row["delivery_rate"] = rate(row["delivered"], row["delivered"] + row["failed"])


def failures(db: Session, scope: Scope) -> Figure:
    """Failed texts and calls in the range by Twilio error code, in words."""
    # Only failed rows: the (status, due_at) index finds them without reading the sent ones.
    found = _added(_outcomes(db, scope, Out.error_code, func.count(), channel=None, statuses=FAILED))
    ordered = sorted(((code, n) for code, (n,) in found.items() if n), key=lambda row: (-row[1], row[0] or 0))
    rows = [{"error_code": code, "reason": twilio_errors.describe(code), "failed": count} for code, count in ordered]
    return Figure("failures", "Why texts failed", ("error_code", "reason", "failed"), rows)


def costs(db: Session, scope: Scope, traffic: Traffic | None = None) -> Figure:
    """Texts Twilio accepted per period, their SMS segments, and the cost at the configured price per segment."""
    traffic = traffic if traffic is not None else count_traffic(db, scope)
    texts, segments = traffic.per_period(_texts), traffic.per_period(_texts, segments=True)
    calls = traffic.per_period(lambda g: g.channel == Channel.VOICE and g.status in LEFT)
    counts = {p: {"texts": texts.get(p, 0), "segments": segments.get(p, 0), "calls": calls.get(p, 0)}
              for p in texts.keys() | calls.keys()}
    rows = per_period(scope, counts, ("texts", "segments", "calls"))

    def cost(row: dict) -> None:
        row["estimated_cost_usd"] = round(row["segments"] * scope.segment_price, 2)

    for row in rows:
        cost(row)
    return Figure("costs", "What texting cost", ("period", "texts", "segments", "estimated_cost_usd", "calls"), rows,
                  derive=cost)
