"""The URLs Twilio calls back: built here, once, for the jobs that send and the routes that answer.

Twilio signs the exact URL it requests, so the URL a job hands to Twilio, the route that
answers it and the signature check must agree to the character. Routes take their paths
from the constants below; everything that hands a URL to Twilio builds it here from the
configured public base URL (``PUBLIC_BASE_URL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from glowline.config import Config
from glowline.store.models import Channel

TWILIO_PREFIX = "/twilio"
SMS_PATH = "/sms"  # inbound texts (set in the Twilio console)
SMS_STATUS_PATH = "/status"  # message status callbacks
VOICE_PREFIX = "/twilio/voice"  # incoming calls (set in the Twilio console) and every call step below
VOICE_GATHER_PATH = "/gather"
REMINDER_PATH = "/reminder"
REMINDER_GATHER_PATH = "/reminder/gather"
REMINDER_REBOOK_PATH = "/reminder/rebook"
VOICE_REBOOK_PATH = "/rebook"  # a caller's key for a time offered on a call they made
VOICE_NUMBER_PATH = "/number"  # the call-back number keyed in by a caller who withheld theirs
CALL_STATUS_PATH = "/status"


@dataclass(frozen=True)
class SendUrls:
    """What one outbound message or call tells Twilio: where to report status, and (calls) where its TwiML is."""

    status_callback: str
    twiml: str | None = None


@dataclass(frozen=True)
class CallbackUrls:
    """Absolute public URLs for every Twilio callback, from one base URL."""

    base: str

    @classmethod
    def from_config(cls, config: Config) -> CallbackUrls:
        """The URLs under the configured public base URL."""
        return cls(config.public_base_url)

    def _url(self, path: str, **query: object) -> str:
        # Query order is the order given: the route reads names, but Twilio signs the string.
        params = urlencode({k: v for k, v in query.items() if v is not None})
        return f"{self.base}{path}" + (f"?{params}" if params else "")

    def sms_status(self, message_id: int) -> str:
        """Where Twilio reports a text's status (the id finds the row before its SID is stored)."""
        return self._url(TWILIO_PREFIX + SMS_STATUS_PATH, message_id=message_id)

    def call_status(self, message_id: int) -> str:
        """Where Twilio reports a reminder call's status (the id finds the row before its SID is stored)."""
        return self._url(VOICE_PREFIX + CALL_STATUS_PATH, message_id=message_id)

    def reminder_twiml(self, message_id: int) -> str:
        """Where Twilio fetches a reminder call's TwiML when it is answered."""
        return self._url(VOICE_PREFIX + REMINDER_PATH, message_id=message_id)

    def reminder_gather(self, message_id: int, attempt: int) -> str:
        """The Gather action of a reminder call's menu."""
        return self._url(VOICE_PREFIX + REMINDER_GATHER_PATH, message_id=message_id, attempt=attempt)

    def reminder_rebook(self, message_id: int, attempt: int) -> str:
        """The Gather action of the open times offered on a call (keys 1-3, 0 for a call back)."""
        return self._url(VOICE_PREFIX + REMINDER_REBOOK_PATH, message_id=message_id, attempt=attempt)

    def call_rebook(self, step: int, session_id: int) -> str:
        """Where an incoming call's caller presses the key for an offered time."""
        return self._url(VOICE_PREFIX + VOICE_REBOOK_PATH, step=step, session_id=session_id)

    def call_number(self, attempt: int) -> str:
        """Where a caller with a withheld number keys in a number to be reached on (``attempt`` from 1)."""
        return self._url(VOICE_PREFIX + VOICE_NUMBER_PATH, attempt=attempt)

    def call_gather(self, step: int, session_id: int | None = None) -> str:
        """The Gather action of an incoming call's ``step`` (about one session, when ``session_id`` is given)."""
        return self._url(VOICE_PREFIX + VOICE_GATHER_PATH, step=step, session_id=session_id)

    def for_message(self, message_id: int, channel: Channel) -> SendUrls:
        """The URLs one outbox row hands to Twilio: a call's TwiML and status, or a text's status."""
        if channel is Channel.VOICE:
            return SendUrls(status_callback=self.call_status(message_id), twiml=self.reminder_twiml(message_id))
        return SendUrls(status_callback=self.sms_status(message_id))
