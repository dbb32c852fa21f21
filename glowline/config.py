"""Configuration: the one place that reads the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Mapping
from urllib.parse import urlsplit

from glowline.exceptions import ConfigError

# Twilio account SIDs are AC plus 32 hex digits; anything else is a typo or a pasted auth token.
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout in development (and in an editable install); site-packages when installed from a wheel.
ROOT = PACKAGE_DIR.parent
# A wheel carries its own copy of the clinic's data files here (setup.py copies the top-level
# protocols.json and schemas/ in at build time); a checkout has no such folder and uses its own files,
# which is where clinics edit them.
BUNDLED_DATA_DIR = PACKAGE_DIR / "_data"
DATA_DIR = BUNDLED_DATA_DIR if (BUNDLED_DATA_DIR / "protocols.json").is_file() else ROOT
INSTALLED = DATA_DIR == BUNDLED_DATA_DIR
DEFAULT_TWILIO_API = "https://api.twilio.com"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


# Where `glowline run` serves by default; texts and callbacks name it until PUBLIC_BASE_URL is set.
LOCAL_BASE_URL = "http://127.0.0.1:5000"


def _decimal(env: Mapping[str, str], name: str, default: float, *, expected: str, valid, bounds: str) -> float:
    """A number from the environment, ``default`` when unset; ConfigError names the variable and what it takes."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected {expected}, got {raw!r}") from None
    if not valid(value):
        raise ConfigError(f"{name}: {bounds}, got {raw!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _decimal(env, name, default, expected="a number of seconds", valid=lambda v: v > 0,
                    bounds="must be positive")


def _price(env: Mapping[str, str], name: str, default: float) -> float:
    return _decimal(env, name, default, expected="a price in US dollars, e.g. 0.0083", valid=lambda v: 0 <= v < 10,
                    bounds="expected a price per segment from 0 to 10 dollars")


def default_var_dir() -> Path:
    """Where state lives by default: the checkout's var/, or var/ in the current directory when installed."""
    # An installed package must never write into site-packages; an installed `glowline run`
    # keeps its SQLite file and Redis data beside the directory it was started from.
    return Path.cwd() / "var" if INSTALLED else ROOT / "var"


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL: cannot parse {raw!r} as a database URL") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"DATABASE_URL: unsupported database {backend!r}; use sqlite or postgresql")
    if backend == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we install; plain postgresql:// would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _redis_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL: expected redis://, rediss:// or unix://, got {raw!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"REDIS_URL: no host in {raw!r}")
    try:
        _ = parts.port  # urllib parses the port lazily and raises only when asked
    except ValueError:
        raise ConfigError(f"REDIS_URL: bad port in {raw!r}") from None
    return raw


def _http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}: expected an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Config:
    """Every setting the pipeline uses, with defaults that run on a laptop."""

    database_url: str = ""
    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base_url: str = DEFAULT_TWILIO_API
    twilio_timeout: float = 10.0
    public_base_url: str = LOCAL_BASE_URL
    secret_key: str = "dev-only-secret-change-me"
    verify_signatures: bool = True
    schedule_horizon_hours: int = 24
    queue_name: str = "glowline"
    job_timeout: int = 60
    # Recovery timing (README, "Recovery bounds"): how often a worker runs the reconcile tick,
    # and the retry backoff's first step and ceiling when Twilio gives no Retry-After.
    reconcile_seconds: int = 30
    # `glowline worker`'s warm worker processes; None: one per core.
    worker_processes: int | None = None
    retry_base_seconds: int = 30
    retry_cap_seconds: int = 300
    # How long a SQLite connection waits for a lock before it fails: the workers can wait;
    # the web app must answer Twilio well inside its 15 s, so a locked file spools instead.
    db_busy_seconds: float = 30.0
    web_db_busy_seconds: float = 3.0
    # How long a process trusts what it read about a clinic (its numbers, staff phones, settings) before
    # reading it again; changes made in the same process apply at once (glowline/clinics/directory.py).
    clinic_cache_seconds: float = 10.0
    staff_session_minutes: int = 60
    staff_login_failures: int = 10
    staff_lockout_seconds: int = 900
    # US dollars per SMS segment for the results' cost estimate (Twilio's US list price, 2026).
    sms_segment_price: float = 0.0083
    var_dir: Path = field(default_factory=default_var_dir)
    protocols_path: Path = DATA_DIR / "protocols.json"
    schemas_dir: Path = DATA_DIR / "schemas"
    # The photo store: the database unless a bucket is named (any S3-compatible object store).
    photo_s3_bucket: str | None = None
    photo_s3_endpoint_url: str | None = None
    photo_s3_region: str = "us-east-1"
    photo_s3_access_key_id: str | None = None
    photo_s3_secret_access_key: str | None = None
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def twilio_enabled(self) -> bool:
        """True when real Twilio credentials are configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def embedded_redis(self) -> bool:
        """True when no REDIS_URL is set and the run command must start its own server."""
        return self.redis_url is None

    def with_(self, **changes) -> Config:
        """Return a copy with some settings changed (tests and the run command use it)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the environment; a malformed setting raises ConfigError naming it."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("GLOWLINE_VAR_DIR") or default_var_dir())
        database_url = _database_url(env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'glowline.sqlite3'}")
        redis_url = _redis_url(env["REDIS_URL"]) if env.get("REDIS_URL") else None
        sid = env.get("TWILIO_ACCOUNT_SID") or None
        token = env.get("TWILIO_AUTH_TOKEN") or None
        if bool(sid) != bool(token):
            missing = "TWILIO_AUTH_TOKEN" if sid else "TWILIO_ACCOUNT_SID"
            raise ConfigError(f"{missing}: set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither")
        if sid and not ACCOUNT_SID.fullmatch(sid):
            raise ConfigError("TWILIO_ACCOUNT_SID: expected AC followed by 32 hexadecimal digits")
        secret = env.get("SECRET_KEY") or ""
        if sid and len(secret) < 16:
            raise ConfigError("SECRET_KEY: set a random secret of at least 16 characters when Twilio is live")
        public_base_url = env.get("PUBLIC_BASE_URL")
        verify = _bool(env, "TWILIO_VERIFY_SIGNATURES", True)
        if sid:
            # Live Twilio: every real webhook is signed for the public URL and every callback
            # URL is built from it, so a localhost default would fail them all silently.
            if not public_base_url or not public_base_url.startswith("https://"):
                raise ConfigError("PUBLIC_BASE_URL: set the https URL Twilio reaches when Twilio is live")
            if not verify:
                raise ConfigError("TWILIO_VERIFY_SIGNATURES: may be off only for local simulation, "
                                  "never with Twilio credentials")
        twilio_timeout = _float(env, "TWILIO_HTTP_TIMEOUT", 10.0)
        job_timeout = _int(env, "JOB_TIMEOUT", 60, minimum=5)
        if twilio_timeout * 2 > job_timeout:
            # RQ would kill a send waiting on Twilio, leaving its outcome unknown.
            raise ConfigError(f"TWILIO_HTTP_TIMEOUT: {twilio_timeout:g}s must be at most half of "
                              f"JOB_TIMEOUT ({job_timeout}s)")
        protocols_path = Path(env.get("PROTOCOLS_PATH") or DATA_DIR / "protocols.json")
        bucket = env.get("PHOTO_S3_BUCKET") or None
        s3_key, s3_secret = env.get("PHOTO_S3_ACCESS_KEY_ID") or None, env.get("PHOTO_S3_SECRET_ACCESS_KEY") or None
        if bool(s3_key) != bool(s3_secret):
            missing = "PHOTO_S3_SECRET_ACCESS_KEY" if s3_key else "PHOTO_S3_ACCESS_KEY_ID"
            raise ConfigError(f"{missing}: set both PHOTO_S3_ACCESS_KEY_ID and PHOTO_S3_SECRET_ACCESS_KEY, or neither")
        endpoint = env.get("PHOTO_S3_ENDPOINT_URL") or None
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            twilio_account_sid=sid,
            twilio_auth_token=token,
            twilio_api_base_url=_http_url("TWILIO_API_BASE_URL", env.get("TWILIO_API_BASE_URL") or DEFAULT_TWILIO_API),
            twilio_timeout=twilio_timeout,
            public_base_url=_http_url("PUBLIC_BASE_URL", public_base_url or LOCAL_BASE_URL),
            secret_key=secret or "dev-only-secret-change-me",
            verify_signatures=verify,
            schedule_horizon_hours=_int(env, "SCHEDULE_HORIZON_HOURS", 24, minimum=1),
            queue_name=env.get("RQ_QUEUE") or "glowline",
            job_timeout=job_timeout,
            reconcile_seconds=_int(env, "RECONCILE_SECONDS", 30, minimum=1),
            worker_processes=_int(env, "WORKER_PROCESSES", 0, minimum=1) if env.get("WORKER_PROCESSES") else None,
            retry_base_seconds=_int(env, "RETRY_BASE_SECONDS", 30, minimum=1),
            retry_cap_seconds=_int(env, "RETRY_CAP_SECONDS", 300, minimum=1),
            db_busy_seconds=_float(env, "DB_BUSY_SECONDS", 30.0),
            web_db_busy_seconds=_float(env, "WEB_DB_BUSY_SECONDS", 3.0),
            clinic_cache_seconds=_float(env, "CLINIC_CACHE_SECONDS", 10.0),
            staff_session_minutes=_int(env, "STAFF_SESSION_MINUTES", 60, minimum=1),
            staff_login_failures=_int(env, "STAFF_LOGIN_FAILURES", 10, minimum=1),
            staff_lockout_seconds=_int(env, "STAFF_LOCKOUT_SECONDS", 900, minimum=1),
            sms_segment_price=_price(env, "SMS_SEGMENT_PRICE", 0.0083),
            var_dir=var_dir,
            protocols_path=protocols_path,
            schemas_dir=Path(env.get("SCHEMAS_DIR") or DATA_DIR / "schemas"),
            photo_s3_bucket=bucket,
            photo_s3_endpoint_url=_http_url("PHOTO_S3_ENDPOINT_URL", endpoint) if endpoint else None,
            photo_s3_region=env.get("PHOTO_S3_REGION") or "us-east-1",
            photo_s3_access_key_id=s3_key,
            photo_s3_secret_access_key=s3_secret,
        )
