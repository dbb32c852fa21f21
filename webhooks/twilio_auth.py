"""Twilio webhook signatures: every inbound Twilio request is verified before anything else."""

from __future__ import annotations

import functools
import logging

from flask import abort, request
from twilio.request_validator import RequestValidator

from glowline.config import ACCOUNT_SID
from webhooks.context import runtime

log = logging.getLogger(__name__)


def signing_token(config) -> str:
    """The token Twilio signs with; locally (no credentials) the simulator signs with SECRET_KEY."""
    return config.twilio_auth_token or config.secret_key


def public_url() -> str:
    """The URL Twilio requested: PUBLIC_BASE_URL plus this path and query.

    Behind a TLS proxy ``request.url`` says http:// and the signature would
    never match, so the public base comes from configuration.
    """
    base = runtime().config.public_base_url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def verify_twilio(view):
    """Refuse (403) a bad signature or, with Twilio credentials, another account's AccountSid; nothing runs first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        config = runtime().config
        if config.verify_signatures:
            signature = request.headers.get("X-Twilio-Signature")
            if not signature:
                log.warning("twilio webhook %s refused: no signature", request.path)
                abort(403)
            validator = RequestValidator(signing_token(config))
            # The MultiDict itself: Twilio signs every value of a repeated parameter, and
            # to_dict() would keep only the first, failing genuine requests.
            if not validator.validate(public_url(), request.form, signature):
                log.warning("twilio webhook %s refused: bad signature", request.path)
                abort(403)
        account = request.form.get("AccountSid")
        if config.twilio_account_sid and account != config.twilio_account_sid and (
                not account or ACCOUNT_SID.fullmatch(account)):
            # Signed, but for another account (a sub-account or a second project sharing the token), or
            # for none: not ours to store or act on. A malformed one is the contract's 400.
            log.warning("twilio webhook %s refused: AccountSid is not the configured account", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapper
