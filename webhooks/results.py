"""The results page for a clinic's owner: figures and charts, filters, and a CSV of each figure's rows.

Routes live on the staff blueprint (same login, CSP and templates); this module only adds them.
The charts are drawn by Chart.js (vendored in static/, see README "Clinic results") from a JSON
data block; every chart has a table beside it with the same numbers.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request

from glowline.exceptions import ValidationError
from glowline.results import report
from glowline.results.report import Results
from webhooks.context import db, runtime
from webhooks.staff import _clinic, bp, login_required

NO_VALUE = "—"


def known_protocols(clinic_id: int) -> list[str]:
    """The protocols a filter may name: the catalogue's and any the clinic's plans still use."""
    return report.known_protocols(db(), clinic_id, list(runtime().catalog.protocols))


def results_for(clinic, args) -> Results:
    """Read the filters and work out the figures (ValidationError for a bad filter)."""
    today = runtime().clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
    wanted = report.read_request(args, clinic_id=clinic.id, today=today, protocols=known_protocols(clinic.id))
    return report.compute(db(), wanted, segment_price=runtime().config.sms_segment_price)


def chart_data(results: Results) -> dict:
    """What results.js plots: labels per period, rates as percentages, failures and the funnel."""
    figures = results.figures

    def percent(rows, key):
        return [None if row[key] is None else round(row[key] * 100, 1) for row in rows]

    return {
        "labels": [p.label for p in results.periods],
        "keys": [p.key for p in results.periods],
        "confirmation_rate": percent(figures["confirmations"].rows, "confirmation_rate"),
        "no_show_rate": percent(figures["no_shows"].rows, "no_show_rate"),
        "confirmed_no_show_rate": percent(figures["no_shows"].rows, "confirmed_no_show_rate"),
        "unconfirmed_no_show_rate": percent(figures["no_shows"].rows, "unconfirmed_no_show_rate"),
        "failures": {"labels": [row["reason"] for row in figures["failures"].rows],
                     "values": [row["failed"] for row in figures["failures"].rows]},
        "funnel": {"labels": [row["step"] for row in figures["funnel"].rows],
                   "values": [row["count"] for row in figures["funnel"].rows]},
        "opt_outs": {"labels": [row["message"] for row in figures["opt_outs_by_kind"].rows],
                     "values": [row["opt_outs"] for row in figures["opt_outs_by_kind"].rows]},
    }


@bp.app_template_filter("pct")
def _pct(value) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%"


@bp.app_template_filter("num")
def _num(value) -> str:
    return NO_VALUE if value is None else f"{value:,}"


@bp.app_template_filter("usd")
def _usd(value) -> str:
    return NO_VALUE if value is None else f"${value:,.2f}"


@bp.get("/results")
@login_required
def results_page():
    """The clinic's results: do reminders cut no-shows, which texts lose subscribers, what texting costs."""
    clinic = _clinic()
    try:
        results = results_for(clinic, request.args)
    except ValidationError as exc:
        return render_template("error.html", title="Results", message=str(exc), code=400), 400
    query = {k: v for k, v in request.args.items() if k in ("since", "until", "protocol", "period") and v}
    return render_template("results.html", results=results, chart=chart_data(results), query=query,
                           price=runtime().config.sms_segment_price, protocols=known_protocols(clinic.id))


@bp.get("/results/<name>.csv")
@login_required
def results_csv(name: str):
    """One figure's rows as CSV, with the page's filters."""
    if name not in report.NAMES:
        abort(404)
    clinic = _clinic()
    try:
        results = results_for(clinic, request.args)
    except ValidationError as exc:
        return Response(f"{exc}\n", status=400, mimetype="text/plain")
    filename = f"{name}-{results.request.since}-{results.request.until}.csv"
    return Response(report.to_csv(results.figures[name]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
