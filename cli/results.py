"""``glowline results``: a clinic's figures for a period, printed for a terminal."""

from __future__ import annotations

import click


@click.command()
@click.option("--clinic", "clinic_id", required=True, type=int)
@click.option("--since", help="First day, YYYY-MM-DD (default: twelve weeks or months before --until).")
@click.option("--until", help="Last day, YYYY-MM-DD (default: today, in the clinic's zone).")
@click.option("--protocol", help="Only this protocol's plans.")
@click.option("--period", type=click.Choice(["week", "month"]), default="week", show_default=True)
def results(clinic_id: int, since: str | None, until: str | None, protocol: str | None, period: str) -> None:
    """Print a clinic's confirmations, no-shows, opt-outs, delivery, cost and rebooking."""
    from zoneinfo import ZoneInfo

    from cli.main import load_config
    from glowline.clinics.service import get_clinic
    from glowline.results import report
    from glowline.results.text import format_results
    from glowline.runtime import Runtime

    with Runtime(load_config()) as rt, rt.transaction() as db:
        clinic = get_clinic(db, clinic_id)
        today = rt.clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
        args = {"since": since, "until": until, "protocol": protocol, "period": period}
        wanted = report.read_request(args, clinic_id=clinic.id, today=today,
                                     protocols=report.known_protocols(db, clinic.id, list(rt.catalog.protocols)))
        found = report.compute(db, wanted, segment_price=rt.config.sms_segment_price)
        click.echo(format_results(found, price=rt.config.sms_segment_price))
