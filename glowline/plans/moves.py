"""Working out a session move: which sessions go where, which messages are redone, which spacing rule breaks.

Pure: ``plan_move`` reads a plan's sessions (never changes them) and returns a ``MoveChange``;
``glowline.plans.service.move_session`` applies it. Keeping the two apart lets the API, a
staff text and a client's own rebooking ask "what would this move do?" before anything
changes, and lets tests check the rules without a database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from datetime import datetime, timedelta

from glowline.catalog.protocols import Protocol
from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.messages.settings import MessageSettings
from glowline.plans.timeline import (PlannedMessage, PlannedSession, next_allowed_time, require_aware,
                                     session_messages, space_sessions, zone)
from glowline.store.models import MessageKind, SessionStatus, TreatmentSession

@dataclass(frozen=True)
class SessionMove:
    """One session's new start."""

    session_id: int
    number: int
    old_start: datetime
    new_start: datetime


@dataclass(frozen=True)
class MoveChange:
    """Everything a move changes, worked out before anything is written.

    ``cancel_sessions``: sessions whose open messages are cancelled (their times changed);
    ``cancel_nudge_of``: the next session, whose booking nudge was timed from the moved one;
    ``messages``: (session id, message) pairs to write; ``confirmation``: the unsent plan
    confirmation named the old date and is written again; ``notify``: the client gets a
    "your appointment moved" text; ``interval_breaks``: the protocol spacing rules the move breaks;
    ``retimed``: (session id, key) of reminders brought forward to go out now.
    """

    target: int
    shift_later: bool
    moves: tuple[SessionMove, ...]
    cancel_sessions: frozenset[int]
    cancel_nudge_of: int | None
    messages: tuple[tuple[int, PlannedMessage], ...]
    confirmation: bool
    notify: bool
    interval_breaks: tuple[str, ...]
    retimed: frozenset[tuple[int, str]] = frozenset()


def _live(sessions: Sequence[TreatmentSession], target: TreatmentSession) -> list[TreatmentSession]:
    """The sessions that count for spacing: neither cancelled nor missed (the one being moved always counts)."""
    return [s for s in sessions
            if s is target or s.status not in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)]


def find_session(sessions: Sequence[TreatmentSession], number: int) -> TreatmentSession:
    """The session numbered ``number``, or NotFound saying which numbers exist."""
    for row in sessions:
        if row.number == number:
            return row
    raise NotFound(f"plan has no session {number}; it has sessions 1 to {len(sessions)}")


def _gap_words(days: int) -> str:
    weeks, rest = divmod(days, 7)
    if rest == 0:
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    return f"{days} days"


def interval_breaks(protocol: Protocol, starts: Sequence[tuple[int, datetime]], touched: Collection[int],
                    tz: str) -> tuple[str, ...]:
    """The spacing rules broken between consecutive sessions, for pairs that include a ``touched`` number.

    Counted in calendar days in the clinic's zone, as the clinic's sheet means "6 weeks":
    10:00 to 11:00 eight weeks later, or a gap across a DST change, is still 8 weeks.
    """
    allowed = protocol.interval_weeks
    local = zone(tz)
    out = []
    for (a, start_a), (b, start_b) in pairwise(starts):
        if a not in touched and b not in touched:
            continue
        days = (start_b.astimezone(local).date() - start_a.astimezone(local).date()).days
        if not allowed.min * 7 <= days <= allowed.max * 7:
            side = "less" if days < allowed.min * 7 else "more"
            out.append(f"session {b} would be {_gap_words(days)} after session {a}, {side} than {protocol.name} "
                       f"allows (between {allowed.min} and {allowed.max} weeks)")
    return tuple(out)


def _retime_first_reminder(message: PlannedMessage, starts_at: datetime, settings: MessageSettings, tz: str,
                           now: datetime) -> PlannedMessage:
    """A confirming reminder whose time has passed goes out now, if the session is still far enough away.

    Far enough: more than the last reminder's offset (2 h by default), so it never arrives
    together with, or after, the last "see you soon" reminder.
    """
    if message.due_at > now or message.key != f"reminder-{max(settings.reminder_offsets_hours)}h":
        return message
    last = timedelta(hours=min(settings.reminder_offsets_hours))
    due = next_allowed_time(now, tz, settings.quiet_start, settings.quiet_end)
    if starts_at - due <= last:
        return message
    return replace(message, due_at=due, local_time=due.astimezone(message.local_time.tzinfo))


def plan_move(*, sessions: Sequence[TreatmentSession], number: int, new_start: datetime, shift_later: bool,
              interval_weeks: int, total_sessions: int, protocol: Protocol, settings: MessageSettings,
              channel: str, client_tz: str, open_kinds: Collection[tuple[int | None, MessageKind]],
              now: datetime, locale: str = "en") -> MoveChange:
    """Work out a move of session ``number`` to ``new_start``; a move that cannot happen raises.

    ``open_kinds`` is (session id, kind) of every message still waiting to go out: it tells
    whether the next session's booking nudge and the plan confirmation are still to come.
    """
    new_start = require_aware(new_start, "starts_at")
    if new_start <= now:
        raise ValidationError("the new time must be in the future", field="starts_at")
    ordered = list(sessions)
    target = find_session(ordered, number)
    if target.status is SessionStatus.CANCELLED:
        raise Conflict(f"session {number} is cancelled")
    if target.status is SessionStatus.ATTENDED:
        # A missed session may be rebooked; one that happened stays where it happened.
        raise Conflict(f"session {number} is already marked attended")
    index = ordered.index(target)
    previous = next((s for s in reversed(ordered[:index]) if s.status is not SessionStatus.CANCELLED), None)
    if previous is not None and new_start < previous.starts_at + timedelta(minutes=previous.duration_minutes):
        raise ValidationError(f"session {number} cannot start before session {previous.number} ends",
                              field="starts_at")
    later = [s for s in ordered[index + 1:] if s.status is not SessionStatus.CANCELLED]
    moved = [target] + (later if shift_later else [])
    if not shift_later and later and new_start + timedelta(minutes=target.duration_minutes) > later[0].starts_at:
        raise ValidationError(f"session {number} must end before session {later[0].number} starts, "
                              "or shift the later sessions too", field="starts_at")
    new_starts = space_sessions(new_start, len(moved), interval_weeks, settings.timezone)
    moves = tuple(SessionMove(row.id, row.number, row.starts_at, start)
                  for row, start in zip(moved, new_starts, strict=True))
    start_of = {row.id: row.starts_at for row in ordered} | {m.session_id: m.new_start for m in moves}
    live = _live(ordered, target)
    breaks = interval_breaks(protocol, [(s.number, start_of[s.id]) for s in live], {m.number for m in moves},
                             settings.timezone)
    planned = {s.id: PlannedSession(s.number, start_of[s.id], start_of[s.id] + timedelta(minutes=s.duration_minutes))
               for s in live}
    neighbour = later[0] if later and not shift_later else None
    pairs: list[tuple[int, PlannedMessage]] = []
    retimed: set[tuple[int, str]] = set()
    for row in moved + ([neighbour] if neighbour is not None else []):
        position = live.index(row)
        before = live[position - 1] if position > 0 else None
        after = live[position + 1] if position + 1 < len(live) else None
        wanted: list[PlannedMessage] = []
        if before is not None:
            wanted += [m for m in session_messages(protocol, planned[before.id], planned[row.id], settings, channel,
                                                   client_tz, total_sessions=total_sessions, locale=locale)
                       if m.session_number == row.number]
        if row is not neighbour:
            for m in session_messages(protocol, planned[row.id], planned[after.id] if after is not None else None,
                                      settings, channel, client_tz, total_sessions=total_sessions,
                                      locale=locale):
                if m.session_number != row.number:
                    continue
                timed = _retime_first_reminder(m, start_of[row.id], settings, client_tz, now)
                if timed is not m:
                    retimed.add((row.id, m.key))
                wanted.append(timed)
        elif (row.id, MessageKind.BOOKING_NUDGE) not in open_kinds:
            # Its nudge already went out (or never existed): do not send a second one.
            wanted = []
        pairs += [(row.id, m) for m in wanted]
    # An unsent confirmation never told the client the old date: a new one replaces it, and
    # a "your appointment moved" text on top would only confuse.
    confirmation = target.number == 1 and (target.id, MessageKind.PLAN_CONFIRMATION) in open_kinds
    return MoveChange(target=number, shift_later=shift_later, moves=moves,
                      cancel_sessions=frozenset(m.session_id for m in moves),
                      cancel_nudge_of=neighbour.id if neighbour is not None else None, messages=tuple(pairs),
                      confirmation=confirmation, notify=not confirmation, interval_breaks=breaks,
                      retimed=frozenset(retimed))
