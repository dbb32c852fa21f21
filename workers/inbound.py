"""Replaying the inbound spool: texts, status callbacks and call steps that arrived while the database was down.

Run by the periodic reconcile job (and callable alone as ``workers.jobs.replay_spool``):
each entry is handled by the same core function the webhook uses, with the time it
arrived, in arrival order; the first failure (the database still down) stops the replay
and leaves the rest for the next minute.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from glowline.intake.receive import receive_text
from glowline.intake.spooled_calls import CallSpool, replay_call
from glowline.store import spool
from glowline.voice.message_status import apply_message_status

log = logging.getLogger(__name__)

LOCK = "glowline:inbound-spool:replay"
_CALL_KINDS = frozenset(kind.value for kind in CallSpool)


def _first_values(pairs) -> dict[str, str]:
    # As Flask's form.get does: the first value of a repeated field.
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _handle(rt, entry: spool.Entry) -> None:
    form = _first_values(entry.form)
    with rt.sessions() as session:
        if entry.kind == "sms":
            receive_text(session, rt, form, now=entry.received_at)
        elif entry.kind == "status":
            apply_message_status(session, rt, form, entry.args, now=entry.received_at)
        elif entry.kind in _CALL_KINDS:
            replay_call(session, rt, entry.kind, form, entry.args, now=entry.received_at)
        else:
            log.error("inbound spool: unknown entry kind %r dropped", entry.kind)


def replay_inbound(rt) -> int:
    """Replay the spool once (one replayer at a time across the fleet); how many entries were handled."""
    lock = None
    try:
        lock = rt.redis.lock(LOCK, timeout=300, blocking=False)
        if not lock.acquire():
            return 0
    except RedisError:
        lock = None  # Redis is down: only this file's entries can be replayed, and the file is locked itself
    try:
        done = spool.replay(rt, lambda entry: _handle(rt, entry))
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception:
                log.warning("inbound spool: replay lock already expired")
    if done:
        log.info("inbound spool: %d entries replayed", done)
    return done
