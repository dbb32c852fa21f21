"""Every exception the domain raises, in one place."""


class GlowlineError(Exception):
    """Base class of the domain's errors."""


class ConfigError(GlowlineError):
    """A setting, a configuration file or a data file is missing or malformed."""


class ValidationError(GlowlineError):
    """Input from a person or a system does not fit; the message says what and where."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(GlowlineError):
    """The thing asked for does not exist, or belongs to another clinic."""


class Conflict(GlowlineError):
    """The request is valid but the current state does not allow it."""


class NeedsConfirmation(Conflict):
    """The request is allowed only when a person confirms it; ``rules`` says what it breaks."""

    def __init__(self, message: str, *, rules: list[str]):
        super().__init__(message)
        self.rules = rules


class TransportError(GlowlineError):
    """Sending through a transport failed.

    ``retryable`` tells the caller whether the same message may be tried again;
    ``code`` is the provider's error code when it gave one; ``retry_after`` the seconds
    its ``Retry-After`` header asked us to wait, when it sent one.
    """

    def __init__(self, message: str, *, retryable: bool, code: int | None = None,
                 status: int | None = None, opted_out: bool = False, ambiguous: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.retryable = retryable
        self.code = code
        self.status = status
        self.opted_out = opted_out
        self.ambiguous = ambiguous


class ConsentRequired(Conflict):
    """The client has no current consent for this clinic (none, declined, or opted out).

    ``field`` is always ``"consent"`` so the API can name it like a validation error.
    """

    field = "consent"


class PhotoStoreError(GlowlineError):
    """The photo store could not put, return or delete a photo; the message names no client data."""


class MediaError(GlowlineError):
    """Downloading or deleting a photo at Twilio failed; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
