"""Which clinic owns a number, a Messaging Service or an id, with its numbers and staff phones: cached per process.

Every inbound text and call step looks up its clinic by ``To`` (a reminder call's steps by the
clinic id of its outbox row), and every text asks whether ``From`` is a staff phone.
Those rows change a few times a year and are read on every text, so a process keeps what it
read for ``ttl`` seconds (``CLINIC_CACHE_SECONDS``) and hands each request its own copy,
merged into the request's session without a query (``Session.merge(load=False)``, as
SQLAlchemy's caching recipes do).

A change committed through any session of this process (a clinic's settings, numbers or
staff phones) empties every directory in the process at once. A change made by another
process (another web worker serving the staff pages, the CLI) is seen here only when the
entry expires: for up to ``ttl`` seconds a text to a new number gets a 404, a new staff
phone is treated as a client, a removed one may still send staff commands, and replies use
the clinic's previous name and templates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from glowline.store.models import Clinic, ClinicNumber, StaffPhone

_WATCHED = (Clinic, ClinicNumber, StaffPhone)

# Bumped after any commit that changed a watched row; every directory compares it with its own.
_generation = 0
_installed = False
_lock = threading.Lock()


class ClinicDirectory:
    """Clinics by Twilio number, by Messaging Service SID and by id, each kept ``ttl`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        install()
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Clinic | None]] = {}
        self._generation = _generation

    def by_number(self, db: Session, number: str) -> Clinic | None:
        """The clinic owning the Twilio number ``number`` (E.164), attached to ``db``; None if no clinic has it."""
        return self._get(db, "number", number)

    def by_service(self, db: Session, sid: str) -> Clinic | None:
        """The clinic whose Messaging Service is ``sid``, attached to ``db``; None if none."""
        return self._get(db, "service", sid) if sid else None

    def by_id(self, db: Session, clinic_id: int) -> Clinic | None:
        """The clinic with this id, attached to ``db`` (so a row's lazy ``clinic`` finds it without a query); None if none."""
        return self._get(db, "id", str(clinic_id))

    def clear(self) -> None:
        """Forget every entry (the next lookup reads the database)."""
        self._entries = {}

    def _get(self, db: Session, kind: str, key: str) -> Clinic | None:
        if self._ttl <= 0:
            return _load(db, kind, key)
        if self._generation != _generation:
            self._generation = _generation
            self.clear()
        now = self._clock()
        hit = self._entries.get((kind, key))
        if hit is None or hit[0] <= now:
            hit = (now + self._ttl, self._read(kind, key))
            self._entries[(kind, key)] = hit
        cached = hit[1]
        # The request's own persistent copy: its changes flush as usual, and the cached one is never touched.
        return None if cached is None else db.merge(cached, load=False)

    def _read(self, kind: str, key: str) -> Clinic | None:
        # A session of its own, closed at once: what is cached is detached and fully loaded.
        with self._sessions() as session:
            clinic = _load(session, kind, key)
            if clinic is not None:
                session.expunge(clinic)
            return clinic


def _load(db: Session, kind: str, key: str) -> Clinic | None:
    stmt = select(Clinic).options(selectinload(Clinic.numbers), selectinload(Clinic.staff_phones))
    if kind == "number":
        stmt = stmt.join(ClinicNumber).where(ClinicNumber.number == key)
    elif kind == "id":
        stmt = stmt.where(Clinic.id == int(key))
    else:
        stmt = stmt.where(Clinic.messaging_service_sid == key)
    return db.scalar(stmt)


def install() -> None:
    """Watch every session of the process: a commit that changed a clinic, number or staff phone empties the directories."""
    global _installed
    with _lock:
        if _installed:
            return
        event.listen(Session, "after_flush", _note_changes)
        event.listen(Session, "after_commit", _bump_if_changed)
        event.listen(Session, "after_soft_rollback", _forget_changes)
        _installed = True


def _note_changes(session: Session, _flush_context) -> None:
    if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["clinic_directory_stale"] = True


def _bump_if_changed(session: Session) -> None:
    global _generation
    if session.info.pop("clinic_directory_stale", False):
        with _lock:
            _generation += 1


def _forget_changes(session: Session, previous_transaction=None) -> None:
    # A rolled-back savepoint leaves the outer transaction's changes to commit: keep the mark (at worst
    # the directories are emptied once for nothing).
    if not getattr(previous_transaction, "nested", False):
        session.info.pop("clinic_directory_stale", None)
