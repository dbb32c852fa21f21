"""Per-request access to the runtime and a database session closed on teardown."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from glowline.runtime import Runtime


def runtime() -> Runtime:
    """The app's runtime (config, engine, Redis, transport, catalogs)."""
    return current_app.extensions["glowline"]


def db() -> Session:
    """The request's database session, opened on first use."""
    if "db" not in g:
        g.db = runtime().sessions()
    return g.db


def close_db(_exc=None) -> None:
    """Close the request's session (rolling back anything uncommitted)."""
    session = g.pop("db", None)
    if session is not None:
        session.close()
