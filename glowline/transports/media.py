"""A photo's bytes at Twilio: download them with the account's credentials, then delete them there.

Twilio keeps an MMS's media until it is deleted, so a client's photo would stay on a third party.
The URL is rebuilt from Twilio's ids and ``TWILIO_API_BASE_URL``, never taken from the request: the
account's credentials go to Twilio only. The download uses requests (the HTTP library under the
Twilio SDK, whose own client decodes every answer as text); the delete is the SDK's Media resource.
"""

from __future__ import annotations

import logging
import re

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from glowline.config import DEFAULT_TWILIO_API, Config
from glowline.exceptions import MediaError

log = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"(?:MM|SM)[0-9a-fA-F]{32}")
MEDIA_SID = re.compile(r"ME[0-9a-fA-F]{32}")
# "/Messages/MM.../Media/ME..." at the end of a MediaUrlN (Twilio's documented form).
_MEDIA_PATH = re.compile(r"/Messages/((?:MM|SM)[0-9a-fA-F]{32})/Media/(ME[0-9a-fA-F]{32})(?:\.json)?/?$")
CHUNK = 64 * 1024


def media_ids(url: str) -> tuple[str, str] | None:
    """The (message SID, media SID) a MediaUrlN names, or None when it is not Twilio's media form."""
    match = _MEDIA_PATH.search(url.split("?")[0])
    return (match.group(1), match.group(2)) if match else None


class TwilioMedia:
    """Downloads and deletes MMS media on the configured account (basic auth: account SID and auth token)."""

    def __init__(self, config: Config):
        if not config.twilio_enabled:
            raise MediaError("no Twilio credentials: photos cannot be downloaded", retryable=False)
        self.config = config
        self.client = Client(config.twilio_account_sid, config.twilio_auth_token,
                             http_client=TwilioHttpClient(timeout=config.twilio_timeout))
        if config.twilio_api_base_url != DEFAULT_TWILIO_API:
            self.client.api.base_url = config.twilio_api_base_url

    def url(self, message_sid: str, media_sid: str) -> str:
        """The media's download URL on the configured API."""
        return (f"{self.config.twilio_api_base_url}/2010-04-01/Accounts/{self.config.twilio_account_sid}"
                f"/Messages/{message_sid}/Media/{media_sid}")

    def fetch(self, message_sid: str, media_sid: str, *, max_bytes: int) -> tuple[bytes, str]:
        """The media's bytes and declared type; raise MediaError (retryable or not); stop reading past ``max_bytes``.

        More than ``max_bytes`` comes back as ``max_bytes + 1`` bytes so the caller can refuse it
        without holding a larger file.
        """
        auth = (self.config.twilio_account_sid or "", self.config.twilio_auth_token or "")
        try:
            # Twilio answers with a redirect to its media host; requests drops the credentials on the way.
            with requests.get(self.url(message_sid, media_sid), auth=auth, stream=True, allow_redirects=True,
                              timeout=self.config.twilio_timeout) as answer:
                if answer.status_code == 404:
                    raise MediaError("Twilio no longer has this photo (404)", retryable=False, status=404)
                if answer.status_code in (401, 403):
                    raise MediaError(f"Twilio refused the account's credentials ({answer.status_code})",
                                     retryable=False, status=answer.status_code)
                if answer.status_code != 200:
                    raise MediaError(f"Twilio answered {answer.status_code}", retryable=True,
                                     status=answer.status_code)
                data = bytearray()
                for chunk in answer.iter_content(CHUNK):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        break
                return bytes(data[:max_bytes + 1]), answer.headers.get("Content-Type", "")
        except requests.RequestException as exc:
            raise MediaError(f"could not download the photo from Twilio ({type(exc).__name__})",
                             retryable=True) from None

    def delete(self, message_sid: str, media_sid: str) -> None:
        """Delete the media at Twilio; already gone (404) counts as deleted."""
        try:
            self.client.messages(message_sid).media(media_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise MediaError(f"Twilio did not delete the photo ({exc.status})", retryable=True,
                             status=exc.status) from None
        except requests.RequestException as exc:
            raise MediaError(f"could not reach Twilio to delete the photo ({type(exc).__name__})",
                             retryable=True) from None
