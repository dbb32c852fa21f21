"""Who is asking: bearer tokens for the API, a per-user login for the staff pages."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from flask import current_app, g, jsonify, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from glowline.clinics.service import hash_token
from glowline.store.models import ApiToken, StaffUser
from webhooks.context import db, runtime


@functools.cache
def _dummy_hash() -> str:
    # Checked when the username is unknown, so a wrong name costs as long as a wrong password.
    return generate_password_hash("not-a-real-password")


def throttle():
    """The app's login and token throttle (None without Redis)."""
    return current_app.extensions.get("glowline_throttle")


def client_address() -> str:
    """The address an attempt comes from (behind a proxy, configure it to pass the real one)."""
    return request.remote_addr or "unknown"


def too_many(refusal):
    """A JSON 429 saying how long to wait."""
    response = jsonify(error=f"{refusal.reason}; try again later", field="Authorization")
    response.status_code = 429
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def _unauthorized():
    response = jsonify(error="a valid bearer token is required", field="Authorization")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="glowline"'
    return response


def token_required(view):
    """Let the request through only with a live ``Authorization: Bearer`` token; sets g.clinic_id and g.actor."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        guard = throttle()
        refusal = guard.check_token(client_address()) if guard is not None else None
        if refusal is not None:
            return too_many(refusal)
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _unauthorized()
        token = db().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value.strip()),
                                                   ApiToken.revoked_at.is_(None)))
        if token is None:
            if guard is not None:
                guard.token_failed(client_address())
            return _unauthorized()
        token.last_used_at = runtime().clock.now()
        db().commit()
        g.clinic_id = token.clinic_id
        g.actor = f"api token {token.name}"
        return view(*args, **kwargs)

    return wrapped


def check_login(username: str, password: str) -> StaffUser | None:
    """The staff user these credentials belong to, or None."""
    user = db().scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def log_in(user: StaffUser) -> None:
    """Start a fresh staff session for ``user`` (a new cookie, so an old one cannot be fixed on them)."""
    session.clear()
    session.permanent = True
    session["staff_user_id"] = user.id
    session["clinic_id"] = user.clinic_id
    session["username"] = user.username
    _touch(runtime().clock.now())


def log_out() -> None:
    """End the staff session."""
    session.clear()


def _touch(now: datetime) -> None:
    minutes = runtime().config.staff_session_minutes
    session["expires_at"] = (now + timedelta(minutes=minutes)).timestamp()


def current_staff() -> StaffUser | None:
    """The logged-in staff user of this request, if the session is live; an idle one past its time expires."""
    user_id = session.get("staff_user_id")
    if user_id is None:
        return None
    now = runtime().clock.now()
    # The runtime clock, not the cookie's max-age, decides: tests move it, and it is the server's word.
    if now.timestamp() >= float(session.get("expires_at", 0)):
        session.clear()
        return None
    user = db().get(StaffUser, user_id)
    if user is None or user.clinic_id != session.get("clinic_id"):
        session.clear()
        return None
    _touch(now)
    return user


def login_required(view):
    """Send visitors without a live staff session to the login page; sets g.staff, g.clinic_id, g.actor."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not load_staff():
            if request.accept_mimetypes.best == "application/json" or request.is_json:
                return jsonify(error="log in first", field="session"), 401
            return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def load_staff() -> bool:
    """Put the logged-in staff user on ``g``; False when there is none."""
    user = current_staff()
    if user is None:
        return False
    g.staff = user
    g.clinic_id = user.clinic_id
    g.actor = f"staff {user.username}"
    return True
