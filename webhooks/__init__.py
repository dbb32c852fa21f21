"""The web side: the Flask app factory and one blueprint per surface."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from glowline.store.models import MAX_ID

from glowline.config import Config
from glowline.runtime import Runtime
from webhooks.context import close_db

class BoundedInt(IntegerConverter):
    """Flask's ``int`` path converter, limited to what a database id can hold (MAX_ID)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(url_map, fixed_digits, min, MAX_ID if max is None else max, signed)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` may carry a ready ``RUNTIME`` or a ``GLOWLINE_CONFIG``."""
    test_config = dict(test_config or {})
    runtime = test_config.pop("RUNTIME", None)
    if runtime is None:
        config = test_config.pop("GLOWLINE_CONFIG", None) or Config.from_env()
        # The web app's own engine waits briefly for a locked SQLite file, then the request spools.
        runtime = Runtime(config.with_(db_busy_seconds=config.web_db_busy_seconds))
    config = runtime.config
    runtime.check()

    app = Flask(__name__)
    # Ids are 64-bit in the database: a bigger number in a path is a 404, not an overflow (a 500).
    app.url_map.converters["int"] = BoundedInt
    app.config.from_mapping(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=config.staff_session_minutes * 60,
        MAX_CONTENT_LENGTH=256 * 1024,
        TESTING=config.testing,
    )
    app.config.update(test_config)
    app.extensions["glowline"] = runtime
    if config.redis_url is not None:
        from webhooks.throttle import LoginThrottle

        app.extensions["glowline_throttle"] = LoginThrottle(config.redis_url, failures=config.staff_login_failures,
                                                            window_seconds=config.staff_lockout_seconds)
    else:
        app.logger.warning("no REDIS_URL: staff logins and API tokens are not rate-limited")
    app.teardown_appcontext(close_db)

    if not config.verify_signatures:
        app.logger.warning("TWILIO SIGNATURE VERIFICATION IS OFF: local simulation only, never in production")

    from webhooks import aftercare, api, health, sms, staff, status, voice

    for surface in (health, sms, status, voice, api, staff, aftercare):
        if hasattr(surface, "init_app"):
            surface.init_app(app)
        app.register_blueprint(surface.bp)
    return app

