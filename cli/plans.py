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
