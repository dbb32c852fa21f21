"""A clinic's opening hours, closed dates and capacity: what rebooking by text offers times from.

Written as people write them on a door: "mon-fri 09:00-17:00; sat 10:00-14:00" (local time,
several spans a day allowed, days not named are closed), closed dates as 2026-12-25.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from glowline.exceptions import ValidationError
from glowline.store.models import Clinic, ClinicClosure, OpeningHours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_CAPACITY = 100
_ENTRY = re.compile(r"^(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?)\s+(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})$")


def _clock(text: str, entry: str) -> time:
    hour, minute = (int(p) for p in text.split(":"))
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ValidationError(f"{text} is not a time of day (in {entry!r})", field="hours")
    return time(23, 59) if hour == 24 else time(hour, minute)


def parse_hours(spec: str) -> list[tuple[int, time, time]]:
    """Read "mon-fri 09:00-17:00; sat 10:00-14:00" into (weekday, opens, closes) spans, checked."""
    spans: list[tuple[int, time, time]] = []
    for raw in re.split(r"[;\n]+", spec.lower()):
        entry = " ".join(raw.split())
        if not entry:
            continue
        found = _ENTRY.match(entry)
        if found is None:
            raise ValidationError(f"could not read {entry!r}; write it like mon-fri 09:00-17:00", field="hours")
        names = [d.strip() for d in found["days"].split("-")]
        if any(n not in DAYS for n in names):
            raise ValidationError(f"unknown day in {entry!r}; use {', '.join(DAYS)}", field="hours")
        first, last = DAYS.index(names[0]), DAYS.index(names[-1])
        if last < first:
            raise ValidationError(f"{found['days']} runs backwards; write it like mon-fri", field="hours")
        opens, closes = _clock(found["open"], entry), _clock(found["close"], entry)
        if closes <= opens:
            raise ValidationError(f"{entry!r} closes before it opens", field="hours")
        spans += [(day, opens, closes) for day in range(first, last + 1)]
    by_day: dict[int, list[tuple[time, time]]] = {}
    for day, opens, closes in spans:
        for o, c in by_day.get(day, []):
            if opens < c and o < closes:
                raise ValidationError(f"{DAYS[day]} has overlapping hours", field="hours")
        by_day.setdefault(day, []).append((opens, closes))
    return sorted(spans)


def parse_dates(values: Iterable[str]) -> list[date]:
    """Closed dates written as 2026-12-25."""
    out = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            out.append(date.fromisoformat(value))
        except ValueError:
            raise ValidationError(f"{value!r} is not a date; write it like 2026-12-25", field="closed") from None
    return sorted(set(out))


def set_calendar(db: Session, clinic: Clinic, *, hours: str | None = None, capacity: int | None = None,
                 closed: Iterable[str] | None = None, clear: bool = False) -> None:
    """Replace what is given: the weekly hours, the closed dates, the capacity; ``clear`` turns rebooking off."""
    if clear:
        db.execute(delete(OpeningHours).where(OpeningHours.clinic_id == clinic.id))
        clinic.capacity = None
        return
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationError(f"capacity must be between 1 and {MAX_CAPACITY} treatments at once",
                              field="capacity")
    spans = parse_hours(hours) if hours is not None else None
    days = parse_dates(closed) if closed is not None else None
    if spans is not None:
        db.execute(delete(OpeningHours).where(OpeningHours.clinic_id == clinic.id))
        db.add_all(OpeningHours(clinic_id=clinic.id, weekday=d, opens=o, closes=c) for d, o, c in spans)
    if days is not None:
        db.execute(delete(ClinicClosure).where(ClinicClosure.clinic_id == clinic.id))
        db.add_all(ClinicClosure(clinic_id=clinic.id, day=d) for d in days)
    if capacity is not None:
        clinic.capacity = capacity
    db.flush()


def describe_calendar(db: Session, clinic: Clinic) -> dict:
    """The calendar as text, the way it is written: hours spec, closed dates, capacity."""
    spans = db.scalars(select(OpeningHours).where(OpeningHours.clinic_id == clinic.id)
                       .order_by(OpeningHours.weekday, OpeningHours.opens)).all()
    closed = db.scalars(select(ClinicClosure.day).where(ClinicClosure.clinic_id == clinic.id)
                        .order_by(ClinicClosure.day)).all()
    return {"hours": "; ".join(f"{DAYS[s.weekday]} {s.opens:%H:%M}-{s.closes:%H:%M}" for s in spans),
            "closed": [d.isoformat() for d in closed], "capacity": clinic.capacity}
