"""Replaying the inbound spool: texts, status callbacks and call steps that arrived while the database was down.

Run by the periodic reconcile job (and callable alone as ``workers.jobs.replay_spool``):
each entry is handled by the same core function the webhook uses, with the time it
arrived, in arrival order; a failure while the database is still down stops the replay
and leaves the rest for the next run, and an entry that keeps failing while the database
answers is moved to the dead-letter store after ``spool.MAX_ATTEMPTS`` runs.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from glowline.intake.receive import receive_text
from glowline.intake.spooled_calls import CallSpool, replay_call
from glowline.store import spool
from glowline.voice.message_status import apply_message_status

log = logging.getLogger(__name__)

LOCK = "glowline:inbound-spool:replay"
# Errors that say the database cannot take any entry now (down, locked, a table away), not that one is bad.
OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ProgrammingError, sa_exc.TimeoutError,
                 sa_exc.DisconnectionError)
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


def database_answers(rt) -> bool:
    """Whether the database takes a query now."""
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def is_outage(rt, error: Exception) -> bool:
    """Whether ``error`` is the database's (every entry waits) rather than one entry's own (it is counted)."""
    return isinstance(error, OUTAGE_ERRORS) or not database_answers(rt)


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
        done = spool.replay(rt, lambda entry: _handle(rt, entry), outage=lambda error: is_outage(rt, error))
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception:
                log.warning("inbound spool: replay lock already expired")
    if done:
        log.info("inbound spool: %d entries replayed", done)
    return done
