"""``glowline plan``: start a plan for a finished intake and show a plan, from the command line."""

from __future__ import annotations

import getpass

import click


def _runtime():
    from glowline.runtime import Runtime
    from cli.main import load_config

    return Runtime(load_config())


@click.group()
def plan() -> None:
    """Treatment plans."""


@plan.command("start")
@click.option("--intake", "intake_id", required=True, type=int, help="The finished intake's id.")
@click.option("--protocol", "protocol_id", help="Protocol id (default: the one serving the intake's concern).")
@click.option("--first", "first", required=True, help='First session in the clinic\'s zone, e.g. "2026-12-03 10:00".')
@click.option("--sessions", type=int, help="Number of sessions (default: the protocol's).")
@click.option("--interval", "interval_weeks", type=int, help="Weeks between sessions (default: the protocol's).")
def plan_start(intake_id: int, protocol_id: str | None, first: str, sessions: int | None,
               interval_weeks: int | None) -> None:
    """Start a plan for a finished intake and print its sessions."""
    from sqlalchemy import select

    from glowline.exceptions import NotFound
    from glowline.store.models import Intake
    from glowline.plans.plan_text import parse_local_datetime
    from glowline.plans.start import start_plan
    from glowline.plans.staff_commands import summarize

    with _runtime() as rt, rt.transaction() as db:
        intake = db.scalar(select(Intake).where(Intake.id == intake_id))
        if intake is None:
            raise NotFound(f"intake {intake_id} not found")
        clinic = intake.clinic
        now = rt.clock.now()
        created = start_plan(db, rt, clinic=clinic, intake_id=intake.id, protocol_id=protocol_id,
                             first_session_at=parse_local_datetime(first, tz=clinic.timezone, now=now),
                             sessions=sessions, interval_weeks=interval_weeks, actor=f"cli {getpass.getuser()}",
                             now=now,
                             # Without a Redis URL nothing can be enqueued now; the reconciler picks the rows up.
                             dispatch=rt.config.redis_url is not None)
        db.flush()
        text = summarize(created, clinic, rt.catalog.get(created.protocol_id).name)
    click.echo(text)


IMPORT_COLUMNS = ("intake", "first", "protocol", "sessions", "interval")
PLAIN_PROGRESS_EVERY = 500  # rows between progress lines when the output is not a terminal


@plan.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--clinic", "clinic_id", required=True, type=int, help="The clinic whose intakes the file names.")
def plan_import(csv_file, clinic_id: int) -> None:
    """Start many plans from a CSV (columns: intake, first, and optionally protocol, sessions, interval).

    Each row is checked and started like ``plan start``; a refused row is reported by its line
    and the others still start, in one transaction. Exits 1 when any row was refused.
    """
    import csv
    import sys

    from glowline.exceptions import NotFound
    from glowline.plans.bulk import MAX_BATCH, start_plans
    from glowline.store.models import Clinic

    rows = list(csv.DictReader(csv_file))
    if not rows:
        raise click.UsageError(f"{csv_file.name}: no rows under the header")
    if len(rows) > MAX_BATCH:
        raise click.UsageError(f"{csv_file.name}: {len(rows)} rows; at most {MAX_BATCH} per import")
    missing = [c for c in ("intake", "first") if c not in rows[0]]
    if missing:
        raise click.UsageError(f"{csv_file.name}: missing column(s) {', '.join(missing)}; "
                               f"expected {', '.join(IMPORT_COLUMNS)}")
    with _runtime() as rt, rt.transaction() as db:
        clinic = db.get(Clinic, clinic_id)
        if clinic is None:
            raise NotFound(f"clinic {clinic_id} not found")
        now = rt.clock.now()
        requests, refused = _read_import_rows(rows, clinic.timezone, now)
        with _progress(len(requests), sys.stdout.isatty()) as progress:
            result = start_plans(db, rt, clinic=clinic, requests=requests, actor=f"cli {getpass.getuser()}",
                                 now=now, dispatch=rt.config.redis_url is not None, progress=progress)
    for refusal in sorted(refused + result.refused, key=lambda r: r.index):
        click.echo(f"line {refusal.index}: {refusal.error}", err=True)
    click.echo(f"{len(result.started)} plans started, {len(refused) + len(result.refused)} refused, "
               f"{len(rows)} rows in {csv_file.name}")
    if refused or result.refused:
        sys.exit(1)


def _read_import_rows(rows: list[dict], tz: str, now):
    """(line, PlanRequest) for each row that reads, and a Refusal (by line) for each that does not."""
    from glowline.exceptions import ValidationError
    from glowline.plans.bulk import PlanRequest, refusal_for
    from glowline.plans.plan_text import parse_local_datetime

    requests, refused = [], []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            requests.append((line, PlanRequest(
                intake_id=_int(row, "intake", required=True), protocol_id=(row.get("protocol") or "").strip() or None,
                first_session_at=parse_local_datetime((row.get("first") or "").strip(), tz=tz, now=now),
                sessions=_int(row, "sessions"), interval_weeks=_int(row, "interval"))))
        except ValidationError as exc:
            refused.append(refusal_for(line, exc))
    return requests, refused


def _int(row: dict, column: str, *, required: bool = False) -> int | None:
    from glowline.exceptions import ValidationError

    text = (row.get(column) or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{column}: a number is required", field=column)
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValidationError(f"{column}: {text[:20]!r} is not a positive whole number", field=column)
    return int(text)


class _progress:
    """A progress bar on a terminal (click's); plain "n/total" lines otherwise, so logs stay readable."""

    def __init__(self, total: int, terminal: bool):
        self.total, self.terminal, self.bar, self.shown = total, terminal, None, 0

    def __enter__(self):
        if self.terminal:
            self.bar = click.progressbar(length=self.total, label="Starting plans").__enter__()
        return self.update

    def update(self, done: int) -> None:
        """Show that ``done`` of the rows are through."""
        if self.bar is not None:
            self.bar.update(done - self.shown)
            self.shown = done
        # Rows come through a round of inserts at a time, so a line marks each multiple of the step passed.
        elif done // PLAIN_PROGRESS_EVERY > self.shown // PLAIN_PROGRESS_EVERY or done == self.total:
            click.echo(f"{done}/{self.total} rows")
            self.shown = done

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@plan.command("show")
@click.argument("plan_id", type=int)
def plan_show(plan_id: int) -> None:
    """Print a plan's sessions and every message with its status."""
    from glowline.exceptions import NotFound
    from glowline.store.models import OutboxMessage, Plan
    from glowline.messages.dates import format_moment
    from glowline.plans.timeline import zone

    with _runtime() as rt, rt.transaction() as db:
        found = db.get(Plan, plan_id)
        if found is None:
            raise NotFound(f"plan {plan_id} not found")
        tz = zone(found.clinic.zone_for(found.client))
        click.echo(f"Plan {found.id} ({found.status.value}, version {found.version}): {found.protocol_id}, "
                   f"{found.session_count} sessions every {found.interval_weeks} weeks; clinic {found.clinic.name}")
        for s in found.sessions:
            click.echo(f"  session {s.number}: {format_moment(s.starts_at.astimezone(tz), year=True)}  "
                       f"{s.status.value}")
        rows = db.query(OutboxMessage).filter_by(plan_id=found.id).order_by(OutboxMessage.due_at, OutboxMessage.id)
        for m in rows:
            flag = " (simulated)" if m.simulated else ""
            reason = f"  {m.last_error}" if m.last_error else ""
            click.echo(f"  #{m.id:<5} {format_moment(m.due_at.astimezone(tz)):<24} {m.kind.value:<18} "
                       f"{m.channel.value:<6} {m.status.value}{flag}{reason}")
