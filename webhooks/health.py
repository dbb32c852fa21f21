"""GET /healthz: database, Redis, workers and scheduler, up or down."""

from flask import Blueprint, jsonify

from glowline.delivery import heartbeat
from webhooks.context import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report each component; 503 when anything a send needs is down."""
    health = heartbeat.check(runtime())
    return jsonify(health.as_dict()), (200 if health.ok else 503)
