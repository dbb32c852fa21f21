"""A plan's timeline drawn as an SVG picture: sessions, message marks coloured by status, aftercare windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from glowline.messages.dates import format_date, format_moment, format_month
from glowline.plans.timeline import Timeline, aftercare_ends, zone
from glowline.store.models import MessageStatus

WIDTH = 960
LABEL = 150
RIGHT = 20
OVERVIEW_HEIGHT = 70
LANE_HEIGHT = 86
LEGEND_HEIGHT = 64
LANE_MARGIN = timedelta(hours=12)

STATUS_COLOURS = {
    "planned": "#64748b", "pending": "#64748b", "queued": "#2563eb", "sending": "#d97706", "sent": "#0d9488",
    "delivered": "#15803d", "undelivered": "#b91c1c", "failed": "#b91c1c", "cancelled": "#cbd5e1",
    "skipped": "#cbd5e1",
}
SESSION_COLOURS = {"planned": "#4338ca", "scheduled": "#4338ca", "confirmed": "#15803d",
                   "callback_requested": "#d97706", "cancelled": "#cbd5e1"}
KIND_LETTERS = {"reminder": "R", "aftercare": "A", "aftercare_end": "E", "booking_nudge": "N",
                "plan_confirmation": "C", "staff_notice": "S", "client_notice": "M"}
KIND_NAMES = {"reminder": "reminder", "aftercare": "aftercare", "aftercare_end": "aftercare end",
              "booking_nudge": "booking nudge", "plan_confirmation": "plan confirmation"}
_LEGEND = (MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT,
           MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.CANCELLED)
# Reminders sit above the session bar, aftercare marks below it, so marks at one moment do not overlap.
_ABOVE = {"reminder", "plan_confirmation", "booking_nudge"}


@dataclass(frozen=True)
class SessionMark:
    """One session on the picture, with the end of its aftercare window."""

    number: int
    starts_at: datetime
    ends_at: datetime
    window_end: datetime
    status: str


@dataclass(frozen=True)
class MessageMark:
    """One message on the picture."""

    session_number: int | None
    kind: str
    due_at: datetime
    status: str
    simulated: bool = False
    label: str = ""


def from_timeline(timeline: Timeline, tz: str) -> tuple[list[SessionMark], list[MessageMark]]:
    """The marks of an unsaved timeline (the live preview): everything is "planned"."""
    hours = timeline.protocol.aftercare_hours
    sessions = [SessionMark(s.number, s.starts_at, s.ends_at, aftercare_ends(s.ends_at, hours, tz), "planned")
                for s in timeline.sessions]
    marks = [MessageMark(m.session_number, m.kind, m.due_at, "planned", label=m.key) for m in timeline.messages]
    return sessions, marks


def from_plan(plan, messages, aftercare_hours: int, tz: str) -> tuple[list[SessionMark], list[MessageMark]]:
    """The marks of a saved plan and its outbox rows, each with its current status."""
    sessions = [SessionMark(s.number, s.starts_at, s.starts_at + timedelta(minutes=s.duration_minutes),
                            aftercare_ends(s.starts_at + timedelta(minutes=s.duration_minutes), aftercare_hours, tz),
                            s.status.value) for s in plan.sessions]
    marks = [MessageMark(m.session.number if m.session is not None else None, m.kind.value, m.due_at,
                         m.status.value, m.simulated, label=f"message {m.id}") for m in messages]
    return sessions, marks


class _Axis:
    """Maps a time span onto x pixels."""

    def __init__(self, start: datetime, end: datetime):
        self.start, self.span = start, max((end - start).total_seconds(), 1.0)

    def x(self, when: datetime) -> float:
        fraction = (when - self.start).total_seconds() / self.span
        return round(LABEL + min(max(fraction, 0.0), 1.0) * (WIDTH - LABEL - RIGHT), 1)


def _mark(mark: MessageMark, x: float, y: float, tz: str) -> str:
    colour = STATUS_COLOURS.get(mark.status, "#64748b")
    muted = mark.status in (MessageStatus.CANCELLED, MessageStatus.SKIPPED)
    text_colour = "#334155" if muted else "#ffffff"
    title = (f"{KIND_NAMES.get(mark.kind, mark.kind)}: {format_moment(mark.due_at.astimezone(zone(tz)))}, "
             f"{mark.status}{' (simulated)' if mark.simulated else ''}{' - ' + mark.label if mark.label else ''}")
    ring = (f'<circle cx="{x}" cy="{y}" r="10" fill="none" stroke="{colour}" stroke-dasharray="2 2"/>'
            if mark.simulated else "")
    dash = ' stroke-dasharray="3 2" stroke="#64748b"' if muted else ' stroke="#ffffff"'
    return (f'<g class="mark mark-{mark.kind} status-{mark.status}"><title>{escape(title)}</title>{ring}'
            f'<circle cx="{x}" cy="{y}" r="7.5" fill="{colour}"{dash}/>'
            f'<text x="{x}" y="{y + 3.5}" text-anchor="middle" font-size="10" font-weight="700" '
            f'fill="{text_colour}">{KIND_LETTERS.get(mark.kind, "?")}</text></g>')


def _day_ticks(axis: _Axis, start: datetime, end: datetime, tz: str, top: float, bottom: float) -> list[str]:
    out = []
    local = zone(tz)
    day = start.astimezone(local).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day < end:
        x = axis.x(day)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#e2e8f0"/>')
        out.append(f'<text x="{x + 3}" y="{bottom - 3}" font-size="10" fill="#64748b">{format_date(day)}</text>')
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)
    return out


def _overview(sessions: list[SessionMark], marks: list[MessageMark], tz: str, top: float) -> list[str]:
    times = [s.starts_at for s in sessions] + [m.due_at for m in marks] + [s.window_end for s in sessions]
    start, end = min(times) - timedelta(days=2), max(times) + timedelta(days=2)
    axis = _Axis(start, end)
    mid = top + 34
    out = [f'<text x="8" y="{mid + 4}" font-size="12" font-weight="700" fill="#0f172a">Whole plan</text>',
           f'<line x1="{LABEL}" y1="{mid}" x2="{WIDTH - RIGHT}" y2="{mid}" stroke="#94a3b8"/>']
    local = zone(tz)
    month = start.astimezone(local).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < end:
        if month > start:
            x = axis.x(month)
            out.append(f'<line x1="{x}" y1="{top + 8}" x2="{x}" y2="{top + OVERVIEW_HEIGHT - 6}" stroke="#e2e8f0"/>')
            out.append(f'<text x="{x + 3}" y="{top + OVERVIEW_HEIGHT - 6}" font-size="10" '
                       f'fill="#64748b">{format_month(month)}</text>')
        month = (month + timedelta(days=32)).replace(day=1)
    for s in sessions:
        x = axis.x(s.starts_at)
        colour = SESSION_COLOURS.get(s.status, "#4338ca")
        out.append(f'<g class="session-tick"><title>Session {s.number}: '
                   f'{escape(format_moment(s.starts_at.astimezone(local)))}, {s.status}</title>'
                   f'<rect x="{x - 9}" y="{mid - 9}" width="18" height="18" rx="3" fill="{colour}"/>'
                   f'<text x="{x}" y="{mid + 4}" text-anchor="middle" font-size="11" font-weight="700" '
                   f'fill="#ffffff">{s.number}</text></g>')
    for m in marks:
        if m.kind in ("booking_nudge", "plan_confirmation"):
            out.append(_mark(m, axis.x(m.due_at), mid - 20, tz))
    return out


def _lane(session: SessionMark, marks: list[MessageMark], tz: str, top: float) -> list[str]:
    mine = [m for m in marks if m.session_number == session.number and m.kind not in ("booking_nudge",)]
    start = min([session.starts_at] + [m.due_at for m in mine if m.due_at <= session.starts_at]) - LANE_MARGIN
    end = max([session.window_end] + [m.due_at for m in mine if m.due_at >= session.ends_at]) + LANE_MARGIN
    axis = _Axis(start, end)
    mid = top + 40
    local_start = session.starts_at.astimezone(zone(tz))
    colour = SESSION_COLOURS.get(session.status, "#4338ca")
    out = [f'<g class="lane" data-session="{session.number}">',
           f'<rect x="0" y="{top}" width="{WIDTH}" height="{LANE_HEIGHT - 6}" fill="#f8fafc"/>',
           f'<text x="8" y="{top + 20}" font-size="12" font-weight="700" fill="#0f172a">Session {session.number}</text>',
           f'<text x="8" y="{top + 36}" font-size="11" fill="#334155">{escape(format_moment(local_start))}</text>',
           f'<text x="8" y="{top + 52}" font-size="11" fill="{colour}">{escape(session.status.replace("_", " "))}</text>']
    out += _day_ticks(axis, start, end, tz, top + 4, top + LANE_HEIGHT - 8)
    wx1, wx2 = axis.x(session.ends_at), axis.x(session.window_end)
    hours = round((session.window_end - session.ends_at).total_seconds() / 3600)
    out.append(f'<g class="aftercare-window"><title>Aftercare window: {hours} hours, until '
               f'{escape(format_moment(session.window_end.astimezone(zone(tz))))}</title>'
               f'<rect x="{wx1}" y="{mid - 6}" width="{max(wx2 - wx1, 1)}" height="12" fill="#fde68a" '
               f'stroke="#d97706" stroke-width="0.5"/>'
               f'<text x="{(wx1 + wx2) / 2}" y="{mid + 3.5}" text-anchor="middle" font-size="9" '
               f'fill="#78350f">{hours}h aftercare</text></g>')
    sx = axis.x(session.starts_at)
    out.append(f'<g class="session-bar"><title>Session {session.number}: {escape(format_moment(local_start))}, '
               f'{escape(session.status)}</title><rect x="{sx - 5}" y="{mid - 14}" width="{max(wx1 - sx, 0) + 10}" '
               f'height="28" rx="4" fill="{colour}"/></g>')
    for m in mine:
        out.append(_mark(m, axis.x(m.due_at), mid - 24 if m.kind in _ABOVE else mid + 24, tz))
    out.append("</g>")
    return out


def _legend(top: float) -> list[str]:
    out = [f'<text x="8" y="{top + 18}" font-size="11" font-weight="700" fill="#0f172a">Marks</text>']
    x = LABEL
    for kind, letter in list(KIND_LETTERS.items())[:5]:
        out.append(f'<circle cx="{x}" cy="{top + 14}" r="7" fill="#64748b"/><text x="{x}" y="{top + 17.5}" '
                   f'text-anchor="middle" font-size="10" font-weight="700" fill="#fff">{letter}</text>'
                   f'<text x="{x + 11}" y="{top + 18}" font-size="11" fill="#334155">{KIND_NAMES[kind]}</text>')
        x += 140
    out.append(f'<text x="8" y="{top + 46}" font-size="11" font-weight="700" fill="#0f172a">Status</text>')
    x = LABEL
    for status in _LEGEND:
        out.append(f'<rect x="{x - 6}" y="{top + 36}" width="12" height="12" rx="6" '
                   f'fill="{STATUS_COLOURS[status.value]}"/>'
                   f'<text x="{x + 10}" y="{top + 46}" font-size="11" fill="#334155">{status.value}</text>')
        x += 100
    return out


def render_svg(sessions: list[SessionMark], marks: list[MessageMark], *, tz: str, title: str) -> str:
    """The timeline picture: an overview row, one lane per session with its marks, and a legend."""
    if not sessions:
        return ""
    height = OVERVIEW_HEIGHT + LANE_HEIGHT * len(sessions) + LEGEND_HEIGHT
    body = _overview(sessions, marks, tz, 0)
    for index, session in enumerate(sessions):
        body += _lane(session, marks, tz, OVERVIEW_HEIGHT + index * LANE_HEIGHT)
    body += _legend(OVERVIEW_HEIGHT + LANE_HEIGHT * len(sessions))
    counts: dict[str, int] = {}
    for m in marks:
        counts[m.status] = counts.get(m.status, 0) + 1
    desc = f"{len(sessions)} sessions, {len(marks)} messages: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-labelledby="tl-title tl-desc" font-family="system-ui, sans-serif">'
            f'<title id="tl-title">{escape(title)}</title><desc id="tl-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")
