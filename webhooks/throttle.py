"""Guessing resistance for staff logins and API tokens: failures counted in Redis, per username and per address.

Built on ``limits`` (the library under Flask-Limiter) rather than Flask-Limiter's
decorators: only *failed* attempts may count, a username's lock must be readable for the
clinic's staff page, and the right password must still fail while the lock lasts. Each
limit is a moving window in Redis, so every web process shares it and a restart of one
forgets nothing. A username with ``failures`` misses inside the window is locked until
its oldest miss leaves the window; an address gets three times that (a front desk may
share one address), and a bearer token guesser is counted per address alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

ADDRESS_FACTOR = 3


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before its password is even checked, and for how long."""

    reason: str
    retry_after: int


class LoginThrottle:
    """Counts failed staff logins and bearer tokens; refuses while a username or an address is over its limit."""

    def __init__(self, redis_url: str, *, failures: int, window_seconds: int):
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url, key_prefix="glowline-throttle"))
        self._user = RateLimitItemPerSecond(failures, window_seconds, namespace="login-user")
        self._address = RateLimitItemPerSecond(failures * ADDRESS_FACTOR, window_seconds, namespace="login-addr")
        self._token = RateLimitItemPerSecond(failures * ADDRESS_FACTOR, window_seconds, namespace="token-addr")

    def check_login(self, username: str, address: str) -> Refusal | None:
        """A refusal when this username or this address has failed too often lately."""
        return (self._over(self._user, username.lower(), "too many failed logins for this username")
                or self._over(self._address, address, "too many failed logins from this address"))

    def login_failed(self, username: str, address: str) -> None:
        """Count one failed login against the username and the address."""
        self._hit(self._user, username.lower())
        self._hit(self._address, address)

    def check_token(self, address: str) -> Refusal | None:
        """A refusal when this address has sent too many bad bearer tokens lately."""
        return self._over(self._token, address, "too many bad API tokens from this address")

    def token_failed(self, address: str) -> None:
        """Count one bad bearer token against the address."""
        self._hit(self._token, address)

    def locked_until(self, username: str) -> datetime | None:
        """When the lock on ``username`` ends, or None when it is not locked."""
        try:
            stats = self._limiter.get_window_stats(self._user, username.lower())
        except RedisError:
            return None
        if stats.remaining > 0:
            return None
        return datetime.fromtimestamp(stats.reset_time, tz=timezone.utc) + timedelta(seconds=1)

    def _over(self, item, key: str, reason: str) -> Refusal | None:
        try:
            if self._limiter.test(item, key):
                return None
            stats = self._limiter.get_window_stats(item, key)
        except RedisError:
            # Staff must still reach the queue when Redis is down; the password hash still guards it.
            log.warning("login throttle unavailable (Redis down); attempt checked by password only")
            return None
        wait = max(1, int(stats.reset_time - datetime.now(timezone.utc).timestamp()) + 1)
        return Refusal(reason, wait)

    def _hit(self, item, key: str) -> None:
        try:
            self._limiter.hit(item, key)
        except RedisError:
            log.warning("login throttle unavailable (Redis down); a failure was not counted")
