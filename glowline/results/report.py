"""A clinic's results for a range: every figure, per period and in total, for the page, the API, CSV and the CLI."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from glowline.exceptions import ValidationError
from glowline.results import messages, rebooking, sessions
from glowline.results.figure import Figure, Scope
from glowline.results.periods import Period, PeriodKind, cut
from glowline.store.models import Clinic, Plan

# Figures cut by period (each with a total for the range), then figures for the range as a whole.
PERIODIC = ("confirmations", "no_shows", "rebooking", "opt_outs", "delivery", "costs")
WHOLE = ("plans", "cancellations", "funnel", "opt_outs_by_kind", "failures")
NAMES = PERIODIC + WHOLE


@dataclass(frozen=True)
class Request:
    """What a reader asked for: a clinic, a range of local days (both included), maybe a protocol, weeks or months."""

    clinic_id: int
    since: date
    until: date
    protocol: str | None = None
    period: PeriodKind = PeriodKind.WEEK


@dataclass
class Results:
    """Every figure for one request: ``figures`` per period (or for the range), ``totals`` for the range."""

    request: Request
    timezone: str
    periods: list[Period]
    protocols: list[str]
    figures: dict[str, Figure]
    totals: dict[str, dict]

    def as_json(self) -> dict:
        """The figures as plain JSON values: rates are fractions (0..1) or null when nothing to divide."""
        r = self.request
        return {"clinic_id": r.clinic_id, "since": r.since.isoformat(), "until": r.until.isoformat(),
                "protocol": r.protocol, "period": r.period.value, "timezone": self.timezone,
                "periods": [{"key": p.key, "label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()}
                            for p in self.periods],
                "totals": self.totals,
                "figures": {name: figure.rows for name, figure in self.figures.items()}}


def protocols_used(db: Session, clinic_id: int) -> list[str]:
    """The protocols the clinic has plans for, for the filter."""
    return list(db.scalars(select(Plan.protocol_id).where(Plan.clinic_id == clinic_id).distinct()
                           .order_by(Plan.protocol_id)))


def compute(db: Session, request: Request, *, segment_price: float) -> Results:
    """Work out every figure for the request (a couple of dozen aggregate queries, no rows loaded)."""
    clinic = db.get(Clinic, request.clinic_id)
    if clinic is None:
        raise ValidationError(f"clinic {request.clinic_id} not found", field="clinic")
    periods = cut(request.since, request.until, request.period, clinic.timezone)
    scope = Scope(clinic_id=clinic.id, periods=periods, protocol=request.protocol, segment_price=segment_price)
    whole = Scope(clinic_id=clinic.id, protocol=request.protocol, segment_price=segment_price,
                  periods=[Period(key="total", label="whole range", start=periods[0].start, end=periods[-1].end)])
    # The sessions and the sent messages are each read once (one grouped pass) and shared by the
    # figures that count them; a median cannot be added up, so the sessions' pass also ranks the
    # periods and the whole range.
    visits, traffic = sessions.count_visits(db, scope), messages.count_traffic(db, scope)
    figures = {"confirmations": sessions.confirmations(db, scope, visits),
               "no_shows": sessions.no_shows(db, scope, visits), "rebooking": rebooking.rebooking(db, scope),
               "opt_outs": messages.opt_outs(db, scope, traffic), "delivery": messages.delivery(db, scope, traffic),
               "costs": messages.costs(db, scope, traffic)}
    # Totals add up the periods' counts (a few dozen numbers) and derive the rates again.
    totals: dict[str, dict] = {name: figure.total() for name, figure in figures.items() if name != "rebooking"}
    rebooked = figures["rebooking"]
    totals["rebooking"] = {trigger.value: rebooked.total([row for row in rebooked.rows if row["trigger"] == trigger.value])
                           | {"trigger": trigger.value} for trigger in rebooking.Trigger}
    totals["confirmations"]["median_minutes_to_confirm"] = visits.median
    figures |= {"plans": sessions.plans(db, whole), "cancellations": sessions.cancellations(db, whole),
                "funnel": sessions.funnel(db, whole), "opt_outs_by_kind": messages.opt_outs_by_kind(db, whole, traffic),
                "failures": messages.failures(db, whole)}
    return Results(request=request, timezone=clinic.timezone, periods=periods,
                   protocols=protocols_used(db, clinic.id), figures=figures, totals=totals)


def to_csv(figure: Figure) -> str:
    """One figure's rows as CSV, its columns in order; an empty rate is an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(figure.columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in figure.rows)
    return out.getvalue()


# Dates far from now are typos, and years near 1 or 9999 would overflow the period arithmetic.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _day(raw: str, field: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{field}: expected a date like 2026-10-01, got {raw[:40]!r}", field=field) from None
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"{field}: expected a date from {EARLIEST} to {LATEST}", field=field)
    return day


def read_request(args, *, clinic_id: int, today: date, protocols: list[str]) -> Request:
    """A request from query parameters (since, until, protocol, period); a bad one raises ValidationError naming it.

    Without ``until`` the range ends today (the clinic's day); without ``since`` it covers the
    twelve weeks (or twelve months) before.
    """
    raw_period = (args.get("period") or PeriodKind.WEEK.value).strip().lower()
    try:
        period = PeriodKind(raw_period)
    except ValueError:
        raise ValidationError("period: week or month", field="period") from None
    until = _day(args["until"], "until") if args.get("until") else today
    if args.get("since"):
        since = _day(args["since"], "since")
    elif period is PeriodKind.WEEK:
        since = until - timedelta(weeks=12) + timedelta(days=1)
    else:
        since = date(until.year - (until.month < 12), until.month % 12 + 1, 1)
    if since > until:
        raise ValidationError("since: must be on or before until", field="since")
    protocol = (args.get("protocol") or "").strip() or None
    if protocol is not None and protocol not in protocols:
        raise ValidationError(f"protocol: not one of this clinic's protocols ({', '.join(protocols) or 'none'})",
                              field="protocol")
    return Request(clinic_id=clinic_id, since=since, until=until, protocol=protocol, period=period)


def known_protocols(db: Session, clinic_id: int, catalogue: list[str]) -> list[str]:
    """The protocols a filter may name: the catalogue's and any the clinic's plans still use."""
    return sorted(set(catalogue) | set(protocols_used(db, clinic_id)))
