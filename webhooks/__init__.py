"""The web side: the Flask app factory and one blueprint per surface."""

from __future__ import annotations

import logging

from flask import Flask

from glowline.config import Config
from glowline.runtime import Runtime
from webhooks.context import close_db

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` may carry a ready ``RUNTIME`` or a ``GLOWLINE_CONFIG``."""
    test_config = dict(test_config or {})
    runtime = test_config.pop("RUNTIME", None)
    if runtime is None:
        config = test_config.pop("GLOWLINE_CONFIG", None) or Config.from_env()
        runtime = Runtime(config)
    config = runtime.config
    runtime.check()

    app = Flask(__name__)
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
    app.teardown_appcontext(close_db)

    if not config.verify_signatures:
        log.warning("TWILIO SIGNATURE VERIFICATION IS OFF: local simulation only, never in production")
        app.logger.warning("TWILIO SIGNATURE VERIFICATION IS OFF: local simulation only, never in production")

    from webhooks import health

    app.register_blueprint(health.bp)
    for name in ("sms", "status", "voice", "api", "staff"):
        _register_optional(app, name)
    return app


def _register_optional(app: Flask, name: str) -> None:
    """Register ``webhooks.<name>.bp`` and its ``init_app`` hook if that surface exists."""
    import importlib

    try:
        module = importlib.import_module(f"webhooks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"webhooks.{name}":
            raise
        return
    if hasattr(module, "init_app"):
        module.init_app(app)
    app.register_blueprint(module.bp)
