"""A plan's timeline drawn as an SVG picture: sessions, message marks coloured by status, aftercare windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from glowline.messages.dates import format_date, format_moment, format_month
from glowline.plans.timeline import Timeline, aftercare_ends, zone

WIDTH = 960
LABEL = 150
RIGHT = 20
OVERVIEW_HEIGHT = 70
LANE_HEIGHT = 86
LEGEND_HEIGHT = 90
LANE_MARGIN = timedelta(hours=12)

STATUS_COLOURS = {
    "planned": "#64748b", "pending": "#64748b", "queued": "#2563eb", "sending": "#d97706", "sent": "#0d9488",
    "delivered": "#15803d", "undelivered": "#b91c1c", "failed": "#b91c1c", "cancelled": "#cbd5e1",
    "skipped": "#cbd5e1",
}
SESSION_COLOURS = {"planned": "#4338ca", "scheduled": "#4338ca", "confirmed": "#15803d",
                   "callback_requested": "#d97706", "cancelled": "#cbd5e1"}
KIND_LETTERS = {"reminder": "R", "aftercare": "A", "aftercare_end": "E", "booking_nudge": "N",
                "plan_confirmation": "C", "client_notice": "M", "staff_notice": "S", "staff_reply": "T"}
KIND_NAMES = {"reminder": "reminder", "aftercare": "aftercare", "aftercare_end": "aftercare end",
              "booking_nudge": "booking nudge", "plan_confirmation": "plan confirmation",
              "client_notice": "change notice", "staff_notice": "staff notice", "staff_reply": "staff text"}
# Status is told by shape as well as colour: hollow = not sent yet, filled = sent, diamond = failed,
# dashed = will not be sent. A colour-blind reader (or a printout) still tells them apart.
WAITING = frozenset({"planned", "pending", "queued", "sending"})
FAILED = frozenset({"failed", "undelivered"})
MUTED = frozenset({"cancelled", "skipped"})
MIN_LABEL_GAP = 64  # pixels between two day labels, so "Wed Dec 9" never runs into the next one
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
    title = (f"{KIND_NAMES.get(mark.kind, mark.kind)}: {format_moment(mark.due_at.astimezone(zone(tz)))}, "
             f"{mark.status}{' (simulated)' if mark.simulated else ''}{' - ' + mark.label if mark.label else ''}")
    ring = (f'<circle cx="{x}" cy="{y}" r="10.5" fill="none" stroke="{colour}" stroke-dasharray="2 2"/>'
            if mark.simulated else "")
    return (f'<g class="mark mark-{mark.kind} status-{mark.status}"><title>{escape(title)}</title>{ring}'
            + _shape(mark.status, x, y, colour) +
            f'<text x="{x}" y="{y + 3.5}" text-anchor="middle" font-size="10" font-weight="700" '
            f'fill="{_letter_colour(mark.status)}">{KIND_LETTERS.get(mark.kind, "?")}</text></g>')


def _letter_colour(status: str) -> str:
    if status in MUTED:
        return "#334155"
    return "#1e293b" if status in WAITING else "#ffffff"


def _shape(status: str, x: float, y: float, colour: str, r: float = 7.5) -> str:
    """The mark's outline for its status: hollow, filled, diamond or dashed."""
    if status in FAILED:
        return (f'<polygon points="{x},{y - r - 2} {x + r + 2},{y} {x},{y + r + 2} {x - r - 2},{y}" '
                f'fill="{colour}" stroke="#ffffff"/>')
    if status in MUTED:
        return f'<circle cx="{x}" cy="{y}" r="{r}" fill="#f1f5f9" stroke="#475569" stroke-dasharray="3 2"/>'
    if status in WAITING:
        return f'<circle cx="{x}" cy="{y}" r="{r}" fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
    return f'<circle cx="{x}" cy="{y}" r="{r}" fill="{colour}" stroke="#ffffff"/>'


def _day_ticks(axis: _Axis, start: datetime, end: datetime, tz: str, top: float, bottom: float) -> list[str]:
    """A line at every local midnight; a label only every few days when days are narrow, never past the edge."""
    out = []
    local = zone(tz)
    pixels_per_day = 86400 * (WIDTH - LABEL - RIGHT) / axis.span
    every = max(1, -(-MIN_LABEL_GAP // max(int(pixels_per_day), 1)))
    day = start.astimezone(local).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    index = 0
    while day < end:
        x = axis.x(day)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#e2e8f0"/>')
        if index % every == 0 and x + MIN_LABEL_GAP <= WIDTH:
            out.append(f'<text x="{x + 3}" y="{bottom - 3}" font-size="10" fill="#475569">{format_date(day)}</text>')
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)
        index += 1
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
            if x + MIN_LABEL_GAP <= WIDTH:
                out.append(f'<text x="{x + 3}" y="{top + OVERVIEW_HEIGHT - 6}" font-size="10" '
                           f'fill="#475569">{format_month(month)}</text>')
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
    # Nudges and the plan confirmation are on the overview row: in a lane they would stretch it over weeks.
    mine = [m for m in marks if m.session_number == session.number
            and m.kind not in ("booking_nudge", "plan_confirmation")]
    start = min([session.starts_at] + [m.due_at for m in mine if m.due_at <= session.starts_at]) - LANE_MARGIN
    end = max([session.window_end] + [m.due_at for m in mine if m.due_at >= session.ends_at]) + LANE_MARGIN
    axis = _Axis(start, end)
    mid = top + 40
    local_start = session.starts_at.astimezone(zone(tz))
    colour = SESSION_COLOURS.get(session.status, "#4338ca")
    said = ", ".join(f"{KIND_NAMES.get(m.kind, m.kind)} {m.status}" for m in sorted(mine, key=lambda m: m.due_at))
    summary = f"Session {session.number}: {format_moment(local_start)}, {session.status.replace('_', ' ')}"
    out = [f'<g class="lane" data-session="{session.number}" tabindex="0" role="img" '
           f'aria-label="{escape(summary + (". Messages: " + said if said else ""))}">',
           f'<rect class="lane-bg" x="0" y="{top}" width="{WIDTH}" height="{LANE_HEIGHT - 6}" fill="#f8fafc"/>',
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
    kinds = ("reminder", "aftercare", "aftercare_end", "booking_nudge", "plan_confirmation", "client_notice")
    for index, kind in enumerate(kinds):
        x = LABEL + index * 132
        out.append(f'<circle cx="{x}" cy="{top + 14}" r="7" fill="#475569"/><text x="{x}" y="{top + 17.5}" '
                   f'text-anchor="middle" font-size="10" font-weight="700" fill="#fff">{KIND_LETTERS[kind]}</text>'
                   f'<text x="{x + 11}" y="{top + 18}" font-size="11" fill="#334155">{KIND_NAMES[kind]}</text>')
    out.append(f'<text x="8" y="{top + 46}" font-size="11" font-weight="700" fill="#0f172a">Status</text>')
    shown = (("queued", "not sent yet (hollow)"), ("sent", "sent or delivered (filled)"),
             ("failed", "failed (diamond)"), ("cancelled", "will not be sent (dashed)"))
    for index, (status, words) in enumerate(shown):
        x = LABEL + index * 200
        out.append(_shape(status, x, top + 42, STATUS_COLOURS[status], r=6) +
                   f'<text x="{x + 12}" y="{top + 46}" font-size="11" fill="#334155">{words}</text>')
    out.append(f'<text x="8" y="{top + 74}" font-size="11" font-weight="700" fill="#0f172a">Session</text>'
               f'<rect x="{LABEL - 6}" y="{top + 63}" width="26" height="14" rx="3" fill="#4338ca"/>'
               f'<text x="{LABEL + 26}" y="{top + 74}" font-size="11" fill="#334155">the visit</text>'
               f'<rect x="{LABEL + 132}" y="{top + 64}" width="40" height="12" fill="#fde68a" stroke="#d97706" '
               f'stroke-width="0.5"/><text x="{LABEL + 178}" y="{top + 74}" font-size="11" fill="#334155">'
               f'aftercare window (what to avoid)</text>'
               f'<text x="{LABEL + 400}" y="{top + 74}" font-size="11" fill="#334155">colour: blue scheduled, '
               f'green confirmed, amber call back, grey cancelled</text>')
    return out


def render_svg(sessions: list[SessionMark], marks: list[MessageMark], *, tz: str, title: str,
               muted: str | None = None) -> str:
    """The timeline picture: an overview row, one lane per session with its marks, and a legend.

    ``muted`` (e.g. "cancelled") draws the whole plan greyed out, with the word in the title.
    """
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
    if muted:
        title = f"{title} ({muted})"
        body = ['<g class="muted-plan" opacity="0.45">', *body, "</g>"]
        body.append(f'<text x="{WIDTH - RIGHT}" y="20" text-anchor="end" font-size="14" font-weight="800" '
                    f'fill="#991b1b">{escape(muted.upper())}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline{" muted" if muted else ""}" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" role="group" aria-labelledby="tl-title tl-desc" '
            f'font-family="system-ui, sans-serif">'
            f'<title id="tl-title">{escape(title)}</title><desc id="tl-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")
