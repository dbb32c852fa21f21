"""Was the transport ever called for a claimed row? A marker in Redis says "not yet".

The send job sets ``glowline:unsent:<row>:<attempt>`` right after its claim commits and
deletes it just before it calls Twilio. A row left ``sending`` by a dead worker whose
marker is still there never reached Twilio, so the reconciler puts it back in the queue
instead of asking staff. Only a present marker proves that; a missing one (deleted
before the call, never set because the worker died first, or lost with a flushed Redis)
means "maybe sent", which is the safe reading: outcome unknown, never a blind resend.
Ids only: no patient data in Redis.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TTL = 24 * 3600  # far longer than any claim stays stuck; Redis cleans up after itself


def key(message_id: int, attempt: int) -> str:
    """The marker of one attempt at one row."""
    return f"glowline:unsent:{message_id}:{attempt}"


def mark_unsent(redis, message_id: int, attempt: int) -> None:
    """The claim is committed and Twilio not yet called; a Redis failure only loses the chance to re-queue."""
    try:
        redis.set(key(message_id, attempt), "1", ex=TTL)
    except RedisError:
        log.warning("outbox %s: Redis unavailable; a crash before sending would leave it 'outcome unknown'",
                    message_id)


def mark_calling(redis, message_id: int, attempt: int) -> bool:
    """About to call Twilio: remove the marker; False when Redis could not confirm it is gone (then do not call)."""
    try:
        redis.delete(key(message_id, attempt))
    except RedisError:
        return False
    return True


def never_called(redis, message_id: int, attempt: int) -> bool:
    """True only when the marker proves the transport was never called for this attempt."""
    try:
        return bool(redis.delete(key(message_id, attempt)))
    except RedisError:
        return False
