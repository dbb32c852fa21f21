"""Transports: how a message leaves the building (Twilio's REST API, or a local recorder).

Both transports log only what they did and the provider's codes; never a body or a number.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from glowline.store.models import Channel
from glowline.transports import errors as twilio_errors
from glowline.transports.callbacks import SendUrls
from glowline.config import DEFAULT_TWILIO_API, Config
from glowline.exceptions import TransportError

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
RATE_LIMITED = 20429  # "Too many requests"


@dataclass(frozen=True)
class SendResult:
    """What the provider answered: its id for the message or call, its status, and whether it was simulated."""

    sid: str
    status: str
    simulated: bool = False


class Transport(Protocol):
    """How a message leaves: one ``send`` for every channel (a new channel or provider implements it)."""

    simulated: bool

    def send(self, channel: Channel, *, to: str, from_: str, body: str, urls: SendUrls,
             messaging_service: str | None = None) -> SendResult:
        """Send ``body`` as a text (through ``messaging_service`` when given), or place a call; raise TransportError."""
        ...


def _twiml_url(urls: SendUrls) -> str:
    if not urls.twiml:
        raise ValueError("a call needs the URL of its TwiML")
    return urls.twiml


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


class HeaderKeepingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, remembering the last answer's ``Retry-After`` for the thread that asked.

    The SDK turns a 429 into a TwilioRestException that carries the status, code and
    message but not the response headers, so the header is read here, where the SDK hands
    back its Response, and kept per thread so two sends in one process never mix them up.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last = threading.local()

    def request(self, *args, **kwargs):
        """Make the SDK's request and note its Retry-After (only 429 and 5xx answers mean it)."""
        self._last.retry_after = None
        response = super().request(*args, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            headers = response.headers or {}
            self._last.retry_after = parse_retry_after(headers.get("Retry-After"))
        return response

    def retry_after(self) -> float | None:
        """The Retry-After of this thread's last answer, in seconds, or None."""
        return getattr(self._last, "retry_after", None)


def classify(exc: TwilioRestException, retry_after: float | None = None) -> TransportError:
    """Turn a Twilio REST error into a TransportError that says whether to retry (and after how long)."""
    status, code = exc.status, exc.code
    if code == OPTED_OUT:
        return TransportError("recipient has opted out (21610)", retryable=False, code=code, status=status,
                              opted_out=True)
    if status == 429 or code == RATE_LIMITED:
        return TransportError(f"rate limited by Twilio ({code or status})", retryable=True, code=code, status=status,
                              retry_after=retry_after)
    if status is not None and status >= 500:
        return TransportError(f"Twilio server error {status}", retryable=True, code=code, status=status,
                              retry_after=retry_after)
    # exc.msg may quote the number ("The 'To' number +1... is not valid"), so it is not repeated here.
    return TransportError(f"Twilio refused it: {twilio_errors.explain(code)}", retryable=False,
                          code=code, status=status)


def _network_error(exc: requests.RequestException) -> TransportError:
    """Connection failures are safe to retry; a read timeout after the POST may have been accepted."""
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError("could not connect to Twilio (timeout)", retryable=True)
    if isinstance(exc, requests.ReadTimeout):
        return TransportError("no answer from Twilio in time; it may have accepted the request",
                              retryable=True, ambiguous=True)
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return TransportError("could not connect to Twilio", retryable=True)
        # The connection broke after the request went out (reset, closed without an
        # answer): Twilio may have accepted it, so resending could text the client twice.
        return TransportError(f"connection to Twilio broke mid-request ({type(exc).__name__}); it may have "
                              "accepted it", retryable=True, ambiguous=True)
    return TransportError(f"request to Twilio failed ({type(exc).__name__})", retryable=True, ambiguous=True)


class TwilioTransport:
    """Sends through the official SDK with a finite HTTP timeout."""

    simulated = False

    def __init__(self, config: Config):
        # The SDK logs every request's URL and headers and every answer's headers at INFO, ten
        # records a send that no operator reads, each one scrubbed for patient data
        # (glowline.redaction) on the worker's hot path: only its warnings are kept.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        # The SDK's HTTP client waits forever by default; a hung request would outlive the job.
        self.http_client = HeaderKeepingHttpClient(timeout=config.twilio_timeout)
        http_client = self.http_client
        self.client = Client(config.twilio_account_sid, config.twilio_auth_token, http_client=http_client)
        if config.twilio_api_base_url != DEFAULT_TWILIO_API:
            self.client.api.base_url = config.twilio_api_base_url

    def send(self, channel: Channel, *, to: str, from_: str, body: str, urls: SendUrls,
             messaging_service: str | None = None) -> SendResult:
        """Send a text or place a call through Twilio; raise TransportError on any failure.

        A text with ``messaging_service`` goes through that Messaging Service (A2P 10DLC): Twilio picks
        the sender from its pool, so no From is sent. Calls always come from a number.
        """
        if channel is Channel.VOICE:
            return self._place_call(to=to, from_=from_, url=_twiml_url(urls), status_callback=urls.status_callback)
        return self._send_sms(to=to, from_=from_, body=body, status_callback=urls.status_callback,
                              messaging_service=messaging_service)

    def _send_sms(self, *, to: str, from_: str, body: str, status_callback: str,
                  messaging_service: str | None = None) -> SendResult:
        """Create one message; raise TransportError on any failure."""
        sender = {"messaging_service_sid": messaging_service} if messaging_service else {"from_": from_}
        try:
            message = self.client.messages.create(to=to, body=body, status_callback=status_callback, **sender)
        except TwilioRestException as exc:
            raise classify(exc, self.http_client.retry_after()) from None
        except requests.RequestException as exc:
            raise _network_error(exc) from None
        log.info("twilio accepted message %s (%s)", message.sid, message.status)
        return SendResult(sid=message.sid, status=str(message.status or "queued"))

    def _place_call(self, *, to: str, from_: str, url: str, status_callback: str) -> SendResult:
        """Start one call whose TwiML Twilio fetches from ``url``; raise TransportError on any failure."""
        try:
            # Without machine detection Twilio never sends AnsweredBy, and a voicemail
            # would record the keypad menu instead of the short message meant for it.
            call = self.client.calls.create(to=to, from_=from_, url=url, status_callback=status_callback,
                                            machine_detection="Enable")
        except TwilioRestException as exc:
            raise classify(exc, self.http_client.retry_after()) from None
        except requests.RequestException as exc:
            raise _network_error(exc) from None
        log.info("twilio accepted call %s (%s)", call.sid, call.status)
        return SendResult(sid=call.sid, status=str(call.status or "queued"))


@dataclass(frozen=True)
class LocalRecord:
    """One message or call the local transport pretended to send."""

    sid: str
    kind: str
    status_callback: str


class LocalTransport:
    """No Twilio credentials: record the message as simulated-sent so the app shows it, send nothing."""

    simulated = True

    def __init__(self):
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.records: list[LocalRecord] = []

    def _record(self, prefix: str, kind: str, status_callback: str) -> SendResult:
        with self._lock:
            # The counter keeps sids unique inside a process; the random part across processes.
            sid = f"{prefix}LOCAL{next(self._ids):06d}{uuid.uuid4().hex[:20]}"
            self.records.append(LocalRecord(sid, kind, status_callback))
        log.info("local transport recorded %s %s (simulated)", kind, sid)
        return SendResult(sid=sid, status="sent", simulated=True)

    def send(self, channel: Channel, *, to: str, from_: str, body: str, urls: SendUrls,
             messaging_service: str | None = None) -> SendResult:
        """Record a text as sent or a call as placed (simulated)."""
        if channel is Channel.VOICE:
            _twiml_url(urls)
            return self._record("CA", "call", urls.status_callback)
        return self._record("SM", "sms", urls.status_callback)


def build_transport(config: Config) -> Transport:
    """Twilio when credentials are configured, else the local recording transport."""
    if config.twilio_enabled:
        return TwilioTransport(config)
    log.warning("no Twilio credentials: messages are recorded as simulated, nothing is sent")
    return LocalTransport()
