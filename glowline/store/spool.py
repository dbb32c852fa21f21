"""The inbound spool: verified webhook requests kept while the database cannot take them.

Twilio does not resend an inbound text, so a text that arrives while the database is down
would be lost with a 5xx. Instead the webhook puts the raw request (already verified
against its signature and the inbound contract) here and answers; a worker job replays
the spool into the database when it answers again, in arrival order, each entry once.

Where: a Redis stream (Redis runs with append-only persistence, see README), or, when
Redis is down too, a local append-only file (one JSON line per entry, fsynced, under
``GLOWLINE_VAR_DIR``). Both hold a client's words and number until replayed, so neither
is logged, and an entry is deleted as soon as its replay commits. Replay is exactly once
because the handler's own unique SID guard turns a second replay (after a crash between
the commit and the delete) into a no-op.

An entry that fails while the database answers (a "poison" entry: a bug, a row it cannot
fit) is tried again on the next runs, holding back the entries after it so a client's
texts keep their order; after ``MAX_ATTEMPTS`` runs it is moved to the dead-letter store
(``DEAD_STREAM``, or ``DEAD_FILE_NAME`` when Redis is down), counted on /healthz and the
staff queue page, and the replay goes on with the rest. Only its reference, kind and the
exception's type are logged, never its fields.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

STREAM = "glowline:inbound-spool"
FILE_NAME = "inbound-spool.jsonl"
DEAD_STREAM = "glowline:inbound-spool:dead"
DEAD_FILE_NAME = "inbound-spool-dead.jsonl"
# Failed replays (per entry) while the database answered, before the entry is moved aside.
ATTEMPTS = "glowline:inbound-spool:attempts"
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Entry:
    """One spooled request: its kind (``sms``, ``status``), its form fields and query, and when it arrived."""

    kind: str
    form: list[tuple[str, str]]
    args: dict[str, str]
    received_at: datetime
    ref: str = ""  # the stream id, or "file:<line>"

    def to_json(self) -> str:
        """The entry as one JSON line."""
        return json.dumps({"kind": self.kind, "form": self.form, "args": self.args,
                           "received_at": self.received_at.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str, ref: str) -> Entry:
        """Read an entry written by ``to_json``."""
        data = json.loads(raw)
        return cls(data["kind"], [tuple(pair) for pair in data["form"]], data.get("args", {}),
                   datetime.fromisoformat(data["received_at"]), ref)


def _file(rt, name: str = FILE_NAME) -> Path:
    return Path(rt.config.var_dir) / "spool" / name


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # several web processes may append at once
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def put(rt, entry: Entry) -> str:
    """Keep ``entry`` durably (Redis stream, else the local file); returns where it went."""
    try:
        rt.redis.xadd(STREAM, {"entry": entry.to_json()})
        return "redis"
    except RedisError:
        log.warning("inbound spool: Redis unavailable, entry kept in the local file")
    _append(_file(rt), entry.to_json())
    return "file"


def _count(rt, stream: str, name: str) -> int:
    count = 0
    path = _file(rt, name)
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            count += sum(1 for line in handle if line.strip())
    try:
        count += int(rt.redis.xlen(stream))
    except RedisError:
        return -1 if count == 0 else count
    return count


def depth(rt) -> int:
    """How many entries wait to be replayed (stream and file); -1 for the stream when Redis is down."""
    return _count(rt, STREAM, FILE_NAME)


def dead_depth(rt) -> int:
    """How many entries replay gave up on (dead-letter stream and file); -1 when Redis is down and no file."""
    return _count(rt, DEAD_STREAM, DEAD_FILE_NAME)


def _read(raw: str, ref: str) -> Entry | str:
    """The entry, or the raw text when it cannot be read (it never will be: it goes aside at once)."""
    try:
        return Entry.from_json(raw, ref)
    except (ValueError, KeyError, TypeError, AttributeError):
        return raw


def _pending(rt) -> tuple[list[Entry], set[str]]:
    """The entries to replay in arrival order, and the refs of unreadable ones already moved aside."""
    read: list[tuple[str, str]] = []
    path = _file(rt)
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            read += [(line, f"file:{n}") for n, line in enumerate(handle) if line.strip()]
    try:
        read += [(fields.get(b"entry", b"").decode(errors="replace"), ref.decode())
                 for ref, fields in rt.redis.xrange(STREAM)]
    except RedisError:
        log.warning("inbound spool: Redis unavailable; replaying the local file only")
    entries: list[Entry] = []
    unreadable: set[str] = set()
    for raw, ref in read:
        entry = _read(raw, ref)
        if isinstance(entry, Entry):
            entries.append(entry)
            continue
        _move_aside(rt, {"raw": raw, "error": "unreadable", "ref": ref})
        log.error("inbound spool: entry %s cannot be read; moved to the dead-letter store", ref)
        unreadable.add(ref)
    # Arrival order across both stores; the stream id breaks ties in the order Redis took them.
    return sorted(entries, key=lambda e: e.received_at), unreadable


def _attempt_key(entry: Entry) -> str:
    # A file entry's line number moves as lines before it are replayed; its content does not.
    # A digest, so the count's key holds nothing of the client's words.
    if entry.ref.startswith("file:"):
        return "file:" + hashlib.sha256(entry.to_json().encode()).hexdigest()[:32]
    return entry.ref


def _failed_once_more(rt, entry: Entry) -> int | None:
    """Count one failed replay of ``entry``; how many so far, or None when Redis cannot count."""
    try:
        with rt.redis.pipeline() as pipe:
            pipe.hincrby(ATTEMPTS, _attempt_key(entry), 1)
            pipe.expire(ATTEMPTS, 30 * 24 * 3600)
            return int(pipe.execute()[0])
    except RedisError:
        return None


def _forget_attempts(rt, entry: Entry) -> None:
    with contextlib.suppress(RedisError):  # otherwise the count expires with its hash
        rt.redis.hdel(ATTEMPTS, _attempt_key(entry))


def _move_aside(rt, fields: dict[str, str]) -> None:
    """Keep an entry in the dead-letter store (for a person to look at), out of the replay's way."""
    try:
        rt.redis.xadd(DEAD_STREAM, fields)
    except RedisError:
        _append(_file(rt, DEAD_FILE_NAME), json.dumps(fields, ensure_ascii=False))


def _drop(rt, ref: str, file_done: set[str]) -> None:
    if ref.startswith("file:"):
        file_done.add(ref)
    else:
        rt.redis.xdel(STREAM, ref)


def replay(rt, handle: Callable[[Entry], None], *, outage: Callable[[Exception], bool] = lambda exc: True) -> int:
    """Hand each spooled entry to ``handle`` in arrival order; returns how many were handled or moved aside.

    A failure ``outage`` blames on the database (down, locked, a table away) re-raises: every
    entry waits. Any other failure is the entry's own: the replay stops there (the later entries
    keep their order) until the entry has failed ``MAX_ATTEMPTS`` runs, when it goes to the
    dead-letter store and the replay goes on.
    """
    done = 0
    file_done: set[str] = set()
    try:
        entries, unreadable = _pending(rt)
        for ref in unreadable:
            _drop(rt, ref, file_done)
        done += len(unreadable)
        for entry in entries:
            try:
                handle(entry)  # commits, or raises
            except Exception as exc:
                if outage(exc):
                    raise  # the database is still down: the rest wait
                failures = _failed_once_more(rt, entry)
                error = type(exc).__name__  # its message may quote the entry's fields
                if failures is None or failures < MAX_ATTEMPTS:
                    log.warning("inbound spool: entry %s (%s) failed to replay (%s), attempt %s of %d; "
                                "the entries after it wait for the next run", entry.ref, entry.kind, error,
                                failures if failures is not None else "?", MAX_ATTEMPTS)
                    break
                _move_aside(rt, {"entry": entry.to_json(), "error": error, "ref": entry.ref})
                _forget_attempts(rt, entry)
                log.error("inbound spool: entry %s (%s) failed to replay %d times (%s); moved to the dead-letter "
                          "store", entry.ref, entry.kind, failures, error)
            else:
                _forget_attempts(rt, entry)  # it may have failed before, on a passing error
            _drop(rt, entry.ref, file_done)
            done += 1
    finally:
        if file_done:
            _drop_file_lines(rt, file_done)
    return done


def _drop_file_lines(rt, refs: set[str]) -> None:
    path = _file(rt)
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lines = handle.readlines()
        keep = [line for n, line in enumerate(lines) if f"file:{n}" not in refs]
        # Lines appended after our read keep their place: only the replayed ones go.
        handle.seek(0)
        handle.writelines(keep)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
