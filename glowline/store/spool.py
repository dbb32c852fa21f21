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
"""

from __future__ import annotations

import fcntl
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


def _file(rt) -> Path:
    return Path(rt.config.var_dir) / "spool" / FILE_NAME


def put(rt, entry: Entry) -> str:
    """Keep ``entry`` durably (Redis stream, else the local file); returns where it went."""
    try:
        rt.redis.xadd(STREAM, {"entry": entry.to_json()})
        return "redis"
    except RedisError:
        log.warning("inbound spool: Redis unavailable, entry kept in the local file")
    path = _file(rt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # several web processes may append at once
        handle.write(entry.to_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return "file"


def depth(rt) -> int:
    """How many entries wait to be replayed (stream and file); -1 for the stream when Redis is down."""
    count = 0
    path = _file(rt)
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            count += sum(1 for line in handle if line.strip())
    try:
        count += int(rt.redis.xlen(STREAM))
    except RedisError:
        return -1 if count == 0 else count
    return count


def _pending(rt) -> list[Entry]:
    entries: list[Entry] = []
    path = _file(rt)
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            entries += [Entry.from_json(line, f"file:{n}") for n, line in enumerate(handle) if line.strip()]
    try:
        entries += [Entry.from_json(fields[b"entry"].decode(), ref.decode())
                    for ref, fields in rt.redis.xrange(STREAM)]
    except RedisError:
        log.warning("inbound spool: Redis unavailable; replaying the local file only")
    # Arrival order across both stores; the stream id breaks ties in the order Redis took them.
    return sorted(entries, key=lambda e: e.received_at)


def replay(rt, handle: Callable[[Entry], None]) -> int:
    """Hand each spooled entry to ``handle`` in arrival order; stop at the first failure. Returns how many went."""
    done = 0
    file_done: set[str] = set()
    try:
        for entry in _pending(rt):
            handle(entry)  # commits, or raises (the database is still down): the rest wait
            if entry.ref.startswith("file:"):
                file_done.add(entry.ref)
            else:
                rt.redis.xdel(STREAM, entry.ref)
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
