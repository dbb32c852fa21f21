"""What every figure is: a name, a title for the owner, its columns, and its rows (one per period or reason)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, func, literal_column, select, true
from sqlalchemy.orm import Session

from glowline.results.periods import Period
from glowline.store.models import Plan


@dataclass(frozen=True)
class Scope:
    """Whose figures, over which periods: one clinic, optionally one protocol."""

    clinic_id: int
    periods: list[Period]
    protocol: str | None = None
    # Estimated price of one SMS segment, in US dollars (Config.sms_segment_price).
    segment_price: float = 0.0

    @property
    def start(self) -> datetime:
        """The first instant of the range (UTC)."""
        return self.periods[0].start

    @property
    def end(self) -> datetime:
        """The instant after the range (UTC)."""
        return self.periods[-1].end


@dataclass
class Figure:
    """One figure: rows of plain values (numbers, None for "no data", strings), ready for JSON, CSV and the page."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict] = field(default_factory=list)
    # Adds the rates (and other derived values) to a row of counts: the per-period rows had it
    # applied, and a total is the periods' counts summed, then derived the same way.
    derive: Callable[[dict], None] = field(default=lambda row: None, repr=False)

    def total(self, rows: list[dict] | None = None) -> dict:
        """The counts of ``rows`` (all by default) added up, then derived: the figure over the whole range."""
        rows = self.rows if rows is None else rows
        counted = [k for k in (rows[0] if rows else {})
                   if all(isinstance(r[k], int) and not isinstance(r[k], bool) for r in rows)]
        summed = {k: sum(r[k] for r in rows) for k in counted}
        self.derive(summed)
        return {k: summed.get(k) for k in self.columns if k != "period"}


def of_protocol(scope: Scope, plan_id: SQLColumnExpression) -> ColumnElement[bool]:
    """A condition keeping rows whose plan follows the scope's protocol (always true without a protocol)."""
    if scope.protocol is None:
        return true()
    return plan_id.in_(select(Plan.id).where(Plan.clinic_id == scope.clinic_id, Plan.protocol_id == scope.protocol))


def minutes_between(db: Session, later: SQLColumnExpression, earlier: SQLColumnExpression) -> ColumnElement:
    """``later - earlier`` in minutes, as the database computes it (the two dialects spell it differently)."""
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def per_period(scope: Scope, counts: dict[int, dict], columns: tuple[str, ...]) -> list[dict]:
    """One row per period (empty periods included, their counts 0), keyed by the period's index."""
    rows = []
    for index, period in enumerate(scope.periods):
        found = counts.get(index, {})
        rows.append({"period": period.key, "label": period.label} | {c: found.get(c, 0) for c in columns})
    return rows


def positions(count: int) -> list[ColumnElement]:
    """GROUP BY the first ``count`` selected columns by position.

    A CASE over the period bounds repeated in GROUP BY would carry its own copies of the bound
    parameters, which PostgreSQL does not see as the same expression; a position is the same
    on both dialects.
    """
    return [literal_column(str(n)) for n in range(1, count + 1)]
