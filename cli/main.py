"""The ``glowline`` command: serve, work, migrate, manage clinics, preview plans, simulate texts."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from glowline.config import Config
from glowline.exceptions import ConfigError, GlowlineError
from glowline.store.models import Channel


def load_config() -> Config:
    """Read the configuration, turning a bad setting into one clear line and exit code 2."""
    try:
        return Config.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class _Group(click.Group):
    """Turns domain errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ConfigError, GlowlineError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
def main() -> None:
    """Glowline: SMS and voice intake, reminders and aftercare for aesthetic clinics."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Run everything locally: migrate, embedded Redis, the web app and one worker with the scheduler."""
    from cli.devrun import run_all

    sys.exit(run_all(load_config(), host, port))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app (development server; use gunicorn wsgi:app in production)."""
    from werkzeug.serving import run_simple

    from webhooks import create_app

    app = create_app({"GLOWLINE_CONFIG": load_config()})
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not compete for the RQ scheduler lock.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Warm worker processes to run (default: WORKER_PROCESSES, else one per core).")
def worker(burst: bool, no_scheduler: bool, processes: int | None) -> None:
    """Run warm RQ workers under one supervisor (with the scheduler unless told not to), logging at INFO."""
    import logging

    from workers.main import run_worker

    # Per-row outcomes (by id) and reconcile reports are INFO: an operator needs them by default.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    run_worker(load_config(), burst=burst, with_scheduler=not no_scheduler, processes=processes)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    import migrations

    config = load_config()
    migrations.upgrade(config.database_url)
    click.echo("database is up to date")


@contextmanager
def _session():
    """A committed-on-success session whose connections are released afterwards."""
    from glowline.runtime import Runtime

    with Runtime(load_config()) as runtime, runtime.transaction() as session:
        yield session


@main.group()
def clinic() -> None:
    """Clinics, their numbers and staff phones."""


@clinic.command("add")
@click.option("--name", required=True)
@click.option("--number", "numbers", multiple=True, help="Twilio number (repeatable; optional with --messaging-service).")
@click.option("--staff", multiple=True, help="Staff phone number (repeatable).")
@click.option("--timezone", required=True, help="IANA zone, e.g. America/New_York.")
@click.option("--contact", help="Call-back number clients see (default: the first Twilio number).")
@click.option("--quiet-start", default="20:00", show_default=True)
@click.option("--quiet-end", default="08:00", show_default=True)
@click.option("--reminders", default="48,2", show_default=True, help="Hours before each session.")
@click.option("--session-minutes", default=60, show_default=True, type=int)
@click.option("--messaging-service", help="Twilio Messaging Service SID (MG...): texts go through it (US A2P 10DLC).")
def clinic_add(name, numbers, staff, timezone, contact, quiet_start, quiet_end, reminders, session_minutes,
               messaging_service):
    """Add a clinic."""
    from glowline.clinics.service import add_clinic

    offsets = _hours(reminders)
    with _session() as session:
        created = add_clinic(session, name=name, numbers=list(numbers), staff=list(staff), timezone=timezone,
                             contact_phone=contact, quiet_start=quiet_start, quiet_end=quiet_end,
                             reminder_offsets_hours=offsets, session_minutes=session_minutes,
                             messaging_service=messaging_service)
        senders = [n.number for n in created.numbers] + ([created.messaging_service_sid]
                                                          if created.messaging_service_sid else [])
        click.echo(f"clinic {created.id} added: {created.name} ({', '.join(senders)})")


def _hours(raw: str) -> list[int]:
    from glowline.exceptions import ValidationError

    try:
        return [int(h) for h in raw.split(",") if h.strip()]
    except ValueError:
        raise ValidationError(f"reminders: expected hours like 48,2, got {raw!r}") from None


@clinic.command("set")
@click.option("--clinic", "clinic_id", required=True, type=int)
@click.option("--quiet-start", help="Start of quiet hours, HH:MM in the client's zone.")
@click.option("--quiet-end", help="End of quiet hours, HH:MM.")
@click.option("--reminders", help="Hours before each session, e.g. 48,2.")
@click.option("--template", "templates", multiple=True, metavar="KEY=TEXT",
              help="Override a message text (repeatable); see glowline/messages/templates.py for keys and placeholders.")
@click.option("--voice-fallback/--no-voice-fallback", default=None,
              help="Call instead when a reminder text cannot reach a landline.")
@click.option("--voice-retry-minutes", type=int, help="Call once more this long after an unanswered call.")
@click.option("--no-voice-retry", is_flag=True, help="Never call twice.")
@click.option("--staff-hours", help="When staff phones may get notices, HH:MM-HH:MM clinic time (default 08:00-20:00).")
@click.option("--aftercare-until", help="Evening limit for aftercare at a session's end, HH:MM (default 21:00).")
@click.option("--messaging-service", help='Send texts through this Messaging Service (MG...); "" goes back to the numbers.')
@click.option("--photo-retention-days", type=int, help="Keep photos this many days after the last plan ends (default 365).")
def clinic_set(clinic_id, quiet_start, quiet_end, reminders, templates, voice_fallback, voice_retry_minutes,
               no_voice_retry, staff_hours, aftercare_until, messaging_service, photo_retention_days):
    """Change a clinic's message settings (applies to plans started afterwards)."""
    from glowline.clinics.service import get_clinic, set_messaging_service, set_photo_retention, update_clinic
    from glowline.exceptions import ValidationError

    overrides = {}
    for item in templates:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValidationError(f"--template: expected KEY=TEXT, got {item!r}")
        overrides[key.strip()] = text
    with _session() as session:
        updated = update_clinic(get_clinic(session, clinic_id), quiet_start=quiet_start, quiet_end=quiet_end,
                                reminder_offsets_hours=_hours(reminders) if reminders else None,
                                templates=overrides, voice_fallback=voice_fallback,
                                voice_retry_minutes=voice_retry_minutes, clear_voice_retry=no_voice_retry,
                                staff_hours=staff_hours, aftercare_until=aftercare_until)
        if messaging_service is not None:
            set_messaging_service(session, updated, messaging_service)
        if photo_retention_days is not None:
            set_photo_retention(updated, photo_retention_days)
        retry = f"{updated.voice_retry_minutes} min" if updated.voice_retry_minutes else "off"
        click.echo(f"clinic {updated.id}: quiet {updated.quiet_start:%H:%M}-{updated.quiet_end:%H:%M}, "
                   f"reminders {','.join(map(str, updated.reminder_offsets_hours))} h before, "
                   f"templates overridden: {', '.join(sorted(updated.templates)) or 'none'}, "
                   f"voice fallback {'on' if updated.voice_fallback else 'off'}, voice retry {retry}, "
                   f"staff hours {updated.staff_hours_start:%H:%M}-{updated.staff_hours_end:%H:%M}, "
                   f"evening aftercare until {updated.aftercare_evening_until:%H:%M}, "
                   f"messaging service {updated.messaging_service_sid or 'none'}, "
                   f"photos kept {updated.photo_retention_days} days after the last plan")


@clinic.command("hours")
@click.option("--clinic", "clinic_id", required=True, type=int)
@click.option("--hours", help='Weekly opening hours, local time, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00".')
@click.option("--capacity", type=int, help="How many treatments at once.")
@click.option("--closed", multiple=True, metavar="YYYY-MM-DD", help="A closed date, e.g. a holiday (repeatable; "
              "replaces the list).")
@click.option("--no-closed", is_flag=True, help="Remove every closed date.")
@click.option("--require-attended/--no-require-attended", default=None,
              help="Hold aftercare until staff mark the visit attended.")
@click.option("--clear", is_flag=True, help="Remove the hours and capacity: R goes back to staff calling back.")
def clinic_hours(clinic_id, hours, capacity, closed, no_closed, require_attended, clear):
    """Set when the clinic is open and how many it treats at once, so clients can rebook by text."""
    from glowline.clinics.hours import describe_calendar, set_calendar
    from glowline.clinics.service import get_clinic

    with _session() as session:
        found = get_clinic(session, clinic_id)
        set_calendar(session, found, hours=hours, capacity=capacity, clear=clear,
                     closed=[] if no_closed else (list(closed) if closed else None))
        if require_attended is not None:
            found.require_attended = require_attended
        shown = describe_calendar(session, found)
        state = "on" if shown["hours"] and shown["capacity"] else "off (staff call back after R)"
        click.echo(f"clinic {found.id}: hours {shown['hours'] or 'none'}; capacity {shown['capacity'] or 'none'}; "
                   f"closed {', '.join(shown['closed']) or 'none'}; rebooking by text {state}; "
                   f"aftercare {'held until attended' if found.require_attended else 'at the end of each visit'}")


@clinic.command("list")
def clinic_list() -> None:
    """List clinics."""
    from sqlalchemy import select

    from glowline.store.models import Clinic

    with _session() as session:
        for c in session.scalars(select(Clinic).order_by(Clinic.id)):
            numbers = ", ".join(n.number for n in c.numbers)
            click.echo(f"{c.id}\t{c.name}\t{c.timezone}\t{numbers}\tstaff: {len(c.staff_phones)}")


@main.command()
@click.option("--protocol", "protocol_id", required=True, help="Protocol id from protocols.json.")
@click.option("--first", "first", required=True, help='First session, local time: "2026-12-03 10:00".')
@click.option("--timezone", "tz", default="America/New_York", show_default=True)
@click.option("--sessions", type=int, help="Number of sessions (within the protocol's range).")
@click.option("--interval", type=int, help="Weeks between sessions (within the protocol's range).")
@click.option("--clinic-name", default="Your Clinic", show_default=True)
@click.option("--clinic-phone", default="+12125550100", show_default=True)
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=Channel.SMS.value, show_default=True)
@click.option("--clinic", "clinic_id", type=int,
              help="Use this clinic's name, zone, quiet hours, reminders and templates.")
def preview(protocol_id, first, tz, sessions, interval, clinic_name, clinic_phone, channel, clinic_id) -> None:
    """Print a plan's full timeline without creating anything."""
    from datetime import datetime

    from glowline.clinics.service import check_timezone
    from glowline.exceptions import ValidationError
    from glowline.plans.preview import format_preview
    from glowline.runtime import Runtime
    from glowline.plans.timeline import MessageSettings, build_timeline, localize

    try:
        wall = datetime.strptime(first, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValidationError(f'--first: expected "YYYY-MM-DD HH:MM", got {first!r}') from None
    with Runtime(load_config()) as runtime:
        if clinic_id is not None:
            from glowline.clinics.service import get_clinic

            with runtime.transaction() as session:
                settings = MessageSettings.from_clinic(get_clinic(session, clinic_id), links=runtime.links)
            tz = settings.timezone
        else:
            settings = MessageSettings(clinic_name=clinic_name, clinic_phone=clinic_phone, timezone=check_timezone(tz),
                                       links=runtime.links)
        catalog = runtime.catalog
        timeline = build_timeline(catalog.get(protocol_id), localize(wall, tz), settings,
                                  sessions=sessions, interval_weeks=interval, channel=channel)
        click.echo(format_preview(timeline, tz))


@main.group()
def staff() -> None:
    """Staff logins."""


@staff.command("add")
@click.option("--clinic", "clinic_id", required=True, type=int)
@click.option("--username", required=True)
@click.password_option()
def staff_add(clinic_id: int, username: str, password: str) -> None:
    """Add a staff user (password hashed)."""
    from glowline.clinics.service import add_staff_user, get_clinic

    with _session() as session:
        user = add_staff_user(session, get_clinic(session, clinic_id), username, password)
        click.echo(f"staff user {user.username} added to clinic {clinic_id}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--clinic", "clinic_id", required=True, type=int)
@click.option("--name", required=True, help="What the token is for, e.g. booking-system.")
def token_create(clinic_id: int, name: str) -> None:
    """Create an API token; it is shown once and stored hashed."""
    from glowline.clinics.service import create_api_token, get_clinic

    with _session() as session:
        _, plain = create_api_token(session, get_clinic(session, clinic_id), name)
    click.echo(plain)
    click.echo("store it now: it is not shown again", err=True)


def _register_commands() -> None:
    """Commands that live in their own modules (they import this one for ``main``)."""
    from cli.plans import plan
    from cli.results import results
    from cli.simulator import text

    main.add_command(text)
    main.add_command(plan)
    main.add_command(results)


_register_commands()
