"""Public links a client text may carry: the aftercare page of a protocol.

The page's address is an opaque code, an HMAC (stdlib ``hmac``, SHA-256) of the protocol id
under the server's secret, cut to 8 hex digits: stable across restarts, the same for every
client of that protocol, and it names no treatment, so a text seen over a shoulder or a link
shared on says nothing about what was done. The page itself holds no client data.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from dataclasses import dataclass

from glowline.config import Config

AFTERCARE_PATH = "/a"
CODE_LENGTH = 8


@dataclass(frozen=True)
class PublicLinks:
    """Where the public pages live and the secret their codes come from."""

    base_url: str = Config.public_base_url
    secret: str = Config.secret_key

    @classmethod
    def from_config(cls, config: Config) -> PublicLinks:
        """The links for this deployment: its public URL and secret."""
        return cls(base_url=config.public_base_url.rstrip("/"), secret=config.secret_key)

    def aftercare_code(self, protocol_id: str) -> str:
        """The opaque code of a protocol's aftercare page."""
        return _aftercare_code(self.secret, protocol_id)

    def aftercare(self, protocol_id: str, locale: str) -> str:
        """The full address of a protocol's aftercare page in ``locale``."""
        return f"{self.base_url}{AFTERCARE_PATH}/{self.aftercare_code(protocol_id)}/{locale}"


# Every aftercare text of a plan carries its protocol's link: one HMAC per (secret, protocol), not per text.
@lru_cache(maxsize=256)
def _aftercare_code(secret: str, protocol_id: str) -> str:
    digest = hmac.new(secret.encode(), f"aftercare:{protocol_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:CODE_LENGTH]
