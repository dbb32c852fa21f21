"""Plan timelines: session times and every message a plan will send, pure and database-free."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from glowline.messages import dates, templates
from glowline.messages.settings import MessageSettings
from glowline.exceptions import ValidationError
from glowline.store.models import Channel, MessageKind
from glowline.catalog.protocols import Protocol

UTC = timezone.utc
# A reminder pulled out of quiet hours lands this long before they start, not on the
# edge: queue latency would otherwise push it into them and the send-time check would
# defer it to the morning, possibly past the session it announces.
QUIET_MARGIN = timedelta(minutes=15)
# A booking nudge comes at least this long before the session it asks about, so the
# client has time to answer or reschedule.
MIN_NUDGE_LEAD = timedelta(weeks=1)
# ... and this long after the aftercare-end note, so two texts never arrive together.
NUDGE_AFTER_AFTERCARE = timedelta(days=1)


@dataclass(frozen=True)
class PlannedSession:
    """One session of a plan: number from 1, start and end in aware UTC."""

    number: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class PlannedMessage:
    """One message a plan will send, rendered, with when it is due and when it stops being useful."""

    session_number: int
    kind: str
    key: str
    due_at: datetime
    local_time: datetime
    not_after: datetime | None
    channel: str  # a Channel value
    body: str
    segments: int
    encoding: str
    # Why it is due when it is, when a rule moved it or let it through (shown in the preview).
    rule: str | None = None


@dataclass(frozen=True)
class Timeline:
    """A protocol's sessions and messages for one client, messages in due order."""

    protocol: Protocol
    sessions: tuple[PlannedSession, ...]
    messages: tuple[PlannedMessage, ...]


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; an unknown name raises ValidationError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"unknown time zone {name!r}", field="timezone") from None


def localize(wall: datetime, tz: str) -> datetime:
    """Attach a zone to a naive wall-clock time and return aware UTC.

    An ambiguous time (DST fold) means its first occurrence; a time that does not
    exist (DST gap) moves forward by the gap, as clocks do.
    """
    # fold=0 reads a gap time with the pre-transition offset, which lands after the gap.
    return wall.replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC, or ValidationError naming ``name`` when it has no time zone."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be a timezone-aware date and time", field=name)
    return value.astimezone(UTC)


def in_quiet_hours(when_utc: datetime, tz: str, quiet_start: time, quiet_end: time) -> bool:
    """True when ``when_utc`` falls in [quiet_start, quiet_end) local time (the window may span midnight)."""
    local = require_aware(when_utc, "when").astimezone(zone(tz)).time()
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def next_allowed_time(when_utc: datetime, tz: str, quiet_start: time, quiet_end: time) -> datetime:
    """``when_utc`` itself, or the end of the quiet hours it falls in (aware UTC)."""
    when_utc = require_aware(when_utc, "when")
    if not in_quiet_hours(when_utc, tz, quiet_start, quiet_end):
        return when_utc
    local = when_utc.astimezone(zone(tz))
    day = local.date()
    if quiet_start > quiet_end and local.time() >= quiet_start:
        day += timedelta(days=1)
    return localize(datetime.combine(day, quiet_end), tz)


def last_allowed_time(when_utc: datetime, tz: str, quiet_start: time, quiet_end: time) -> datetime:
    """``when_utc`` itself, or shortly (QUIET_MARGIN) before the quiet hours it falls in began."""
    when_utc = require_aware(when_utc, "when")
    if not in_quiet_hours(when_utc, tz, quiet_start, quiet_end):
        return when_utc
    local = when_utc.astimezone(zone(tz))
    day = local.date()
    if quiet_start > quiet_end and local.time() < quiet_end:
        day -= timedelta(days=1)
    return localize(datetime.combine(day, quiet_start), tz) - QUIET_MARGIN


def shift_out_of_quiet_hours(due_utc: datetime, tz: str, quiet_start: time, quiet_end: time, *,
                             direction: Literal["earlier", "later"]) -> datetime:
    """Move a due time out of quiet hours: "earlier" for what announces something, "later" otherwise."""
    if direction == "earlier":
        return last_allowed_time(due_utc, tz, quiet_start, quiet_end)
    if direction == "later":
        return next_allowed_time(due_utc, tz, quiet_start, quiet_end)
    raise ValueError(f"direction must be 'earlier' or 'later', not {direction!r}")


def space_sessions(first_start: datetime, count: int, interval_weeks: int, tz: str) -> list[datetime]:
    """Session starts ``interval_weeks`` apart in ``tz`` wall-clock time (10:00 stays 10:00 across DST)."""
    first = require_aware(first_start, "first_session_at")
    wall = first.astimezone(zone(tz)).replace(tzinfo=None)
    return [first] + [localize(wall + timedelta(weeks=interval_weeks * i), tz) for i in range(1, count)]


def aftercare_ends(session_end: datetime, hours: int, tz: str) -> datetime:
    """When the aftercare window closes: ``hours`` of wall-clock time, never fewer real hours.

    "2 days" from 11:00 means 11:00 two days later to a client, but across a spring-forward
    night that is only 47 hours, shorter than the sheet's "at least"; the later of the two wins.
    """
    wall = session_end.astimezone(zone(tz)).replace(tzinfo=None) + timedelta(hours=hours)
    return max(localize(wall, tz), session_end + timedelta(hours=hours))


def _check_range(value: int | None, allowed, name: str, protocol: Protocol, unit: str = "") -> int:
    if value is None:
        return allowed.default
    if value not in allowed:
        raise ValidationError(f"{name} must be {'' if allowed.min == allowed.max else 'between '}"
                              f"{allowed.describe()}{unit} for {protocol.name}", field=name)
    return value


def build_timeline(protocol: Protocol, first_session_at: datetime, settings: MessageSettings, *,
                   sessions: int | None = None, interval_weeks: int | None = None, channel: Channel | str = Channel.SMS,
                   client_timezone: str | None = None, locale: str = "en") -> Timeline:
    """Every session and message of a plan; counts or intervals outside the protocol raise ValidationError."""
    first = require_aware(first_session_at, "first_session_at")
    count = _check_range(sessions, protocol.sessions, "sessions", protocol)
    interval = _check_range(interval_weeks, protocol.interval_weeks, "interval_weeks", protocol, " weeks")
    client_tz = client_timezone or settings.timezone
    zone(client_tz)
    _check_settings(settings, channel)
    # Sessions happen at the clinic, so they keep the clinic's wall-clock time; texts show the client's.
    starts = space_sessions(first, count, interval, settings.timezone)
    length = timedelta(minutes=settings.session_minutes)
    planned = tuple(PlannedSession(n, start, start + length) for n, start in enumerate(starts, start=1))
    messages: list[PlannedMessage] = []
    for index, session in enumerate(planned):
        following = planned[index + 1] if index + 1 < len(planned) else None
        messages.extend(session_messages(protocol, session, following, settings, channel, client_tz,
                                         total_sessions=count, locale=locale))
    messages.sort(key=lambda m: (m.due_at, m.session_number))
    return Timeline(protocol=protocol, sessions=planned, messages=tuple(messages))


def _check_settings(settings: MessageSettings, channel: Channel | str) -> Channel:
    """Check the settings and return the channel as a Channel (a bad one is a ValidationError)."""
    try:
        checked = Channel(channel)
    except ValueError:
        raise ValidationError(f"channel must be one of {', '.join(c.value for c in Channel)}",
                              field="channel") from None
    zone(settings.timezone)
    if settings.session_minutes <= 0:
        raise ValidationError("session length must be positive", field="session_minutes")
    if not settings.reminder_offsets_hours or any(h <= 0 for h in settings.reminder_offsets_hours):
        raise ValidationError("reminder offsets must be positive hours", field="reminder_offsets_hours")
    return checked


def evening_allows(when_utc: datetime, tz: str, quiet_start: time, evening_until: time) -> bool:
    """True when ``when_utc`` is in the evening stretch after quiet hours begin but before the aftercare limit."""
    local = when_utc.astimezone(zone(tz)).time()
    return quiet_start < evening_until and quiet_start <= local < evening_until


def aftercare_due(session_end: datetime, tz: str, settings: MessageSettings) -> tuple[datetime, str]:
    """When a session's aftercare goes out, and the rule that decided it (for the preview)."""
    limit = settings.aftercare_evening_until
    if not in_quiet_hours(session_end, tz, settings.quiet_start, settings.quiet_end):
        return session_end, "at the session's end"
    if evening_allows(session_end, tz, settings.quiet_start, limit):
        return session_end, f"evening aftercare: at the session's end (allowed until {limit:%H:%M})"
    due = next_allowed_time(session_end, tz, settings.quiet_start, settings.quiet_end)
    return due, (f"after the evening limit ({limit:%H:%M}): held until quiet hours end "
                 f"({settings.quiet_end:%H:%M})")


def session_messages(protocol: Protocol, session: PlannedSession, next_session: PlannedSession | None,
                     settings: MessageSettings, channel: Channel | str, client_timezone: str, *,
                     total_sessions: int | None = None, locale: str = "en") -> list[PlannedMessage]:
    """One session's reminders, aftercare and aftercare-end, plus the booking nudge for ``next_session``.

    The nudge carries the next session's number: it is about that session.
    """
    channel = _check_settings(settings, channel)
    tz = client_timezone
    quiet = (tz, settings.quiet_start, settings.quiet_end)
    # The session is at the clinic: its day and time on the clinic's clock, the zone named when the
    # client's differs ("10:00 AM Eastern"); quiet hours and due times are the client's own.
    clinic_start = session.starts_at.astimezone(zone(settings.timezone))
    common: dict[str, Any] = dict(date=dates.format_date(clinic_start, locale),
                                  time=dates.format_session_time(session.starts_at, settings.timezone, tz, locale),
                                  session_number=session.number, total_sessions=total_sessions)

    def make(number: int, kind: MessageKind, key: str, template: str, due: datetime,
             not_after: datetime | None, *, rule: str | None = None, **values) -> PlannedMessage:
        body = templates.render(template, settings, locale, **values)
        count, encoding = templates.segments(body)
        # Voice bodies are spoken, but a voice message may fall back to SMS, so the count still matters.
        return PlannedMessage(number, kind.value, key, due, due.astimezone(zone(tz)), not_after,
                              channel.value, body, count, encoding, rule)

    out: list[PlannedMessage] = []
    offsets = sorted(set(settings.reminder_offsets_hours), reverse=True)
    for position, hours in enumerate(offsets):
        due = shift_out_of_quiet_hours(session.starts_at - timedelta(hours=hours), *quiet, direction="earlier")
        # The earliest reminder is the one with time to act on: it asks for confirmation.
        template = "reminder_confirm" if position == 0 else "reminder"
        out.append(make(session.number, MessageKind.REMINDER, f"reminder-{hours}h", template, due,
                        session.starts_at, **common))

    window_end = aftercare_ends(session.ends_at, protocol.aftercare_hours, tz)
    until = dates.format_moment(window_end.astimezone(zone(tz)), locale=locale)
    restrictions = "; ".join(r.text_in(locale) for r in protocol.restrictions)
    due, rule = aftercare_due(session.ends_at, tz, settings)
    # Instructions that arrive after the window closed would only confuse.
    out.append(make(session.number, MessageKind.AFTERCARE, "aftercare", "aftercare", due, window_end, rule=rule,
                    until=until, restrictions=restrictions, link=settings.links.aftercare(protocol.id, locale),
                    hours=protocol.aftercare_hours,
                    duration=dates.format_duration(protocol.aftercare_hours, locale), **common))
    due = shift_out_of_quiet_hours(window_end, *quiet, direction="later")
    out.append(make(session.number, MessageKind.AFTERCARE_END, "aftercare-end", "aftercare_end", due, None,
                    until=until, hours=protocol.aftercare_hours,
                    duration=dates.format_duration(protocol.aftercare_hours, locale), **common))

    if next_session is not None:
        nudge = _nudge_time(protocol, session, next_session, window_end, settings, tz)
        if nudge is not None:
            local_next = next_session.starts_at.astimezone(zone(settings.timezone))
            out.append(make(next_session.number, MessageKind.BOOKING_NUDGE, "booking-nudge", "booking_nudge",
                            nudge, next_session.starts_at, date=dates.format_date(local_next, locale),
                            time=dates.format_session_time(next_session.starts_at, settings.timezone, tz, locale),
                            session_number=next_session.number,
                            total_sessions=total_sessions))
    return out


def _nudge_time(protocol: Protocol, session: PlannedSession, next_session: PlannedSession,
                window_end: datetime, settings: MessageSettings, tz: str) -> datetime | None:
    """When to ask the client to confirm the next session, or None when a reminder already asks.

    The next session may move anywhere inside the protocol's window, so the nudge comes as
    far ahead of it as the window is wide (next start minus (max - min) weeks): that is the
    date from which its window is open whatever interval was chosen. "When the minimum has
    elapsed" would coincide with the session itself whenever the default (minimum) interval
    is used, so it is useless. At least MIN_NUDGE_LEAD ahead, and a day after this session's
    aftercare closes (one topic, and one text, at a time: with short intervals the window
    would otherwise open the very moment the aftercare-end note goes out), on the same local
    wall-clock time as the session.
    """
    lead = max(timedelta(weeks=protocol.interval_weeks.max - protocol.interval_weeks.min), MIN_NUDGE_LEAD)
    wall = next_session.starts_at.astimezone(zone(tz)).replace(tzinfo=None) - lead
    due = max(localize(wall, tz), window_end + NUDGE_AFTER_AFTERCARE)
    due = shift_out_of_quiet_hours(due, tz, settings.quiet_start, settings.quiet_end, direction="later")
    confirm_at = next_session.starts_at - timedelta(hours=max(settings.reminder_offsets_hours))
    # Sessions moved close together: the confirming reminder asks the same question, so no nudge.
    if due >= confirm_at:
        return None
    return due
