"""The clinic's results in the JSON API: the same figures as the results page, for a clinic's own dashboards.

Routes live on the API blueprint (same bearer tokens and JSON errors); this module only adds them.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import jsonify, request

from glowline.results import report
from webhooks.api import _clinic, bp
from webhooks.auth import token_required
from webhooks.context import db, runtime


@bp.get("/results")
@token_required
def show_results():
    """Confirmations, no-shows, rebooking, plans, opt-outs, delivery and cost for a range (since, until, protocol, period)."""
    clinic = _clinic()
    today = runtime().clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
    protocols = report.known_protocols(db(), clinic.id, list(runtime().catalog.protocols))
    wanted = report.read_request(request.args, clinic_id=clinic.id, today=today, protocols=protocols)
    return jsonify(report.compute(db(), wanted, segment_price=runtime().config.sms_segment_price).as_json())
