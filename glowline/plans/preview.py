"""A plain-text table of a plan's timeline, so a clinic sees exactly what a client will receive."""

from __future__ import annotations

import textwrap

from glowline.messages.dates import format_moment
from glowline.plans.timeline import Timeline, zone

_TEXT_WIDTH = 72
_COLUMNS = ("#", "message", "local time", "UTC", "channel", "segments")


def format_preview(timeline: Timeline, tz: str) -> str:
    """The sessions and every message (kind, local and UTC time, channel, segments, text) as plain text."""
    local = zone(tz)
    protocol = timeline.protocol
    lines = [
        f"Protocol: {protocol.name} ({protocol.id})",
        f"Sessions: {len(timeline.sessions)}; times shown in {tz}",
        "",
    ]
    for session in timeline.sessions:
        start = session.starts_at.astimezone(local)
        lines.append(f"  Session {session.number}: {format_moment(start, year=True)} "
                     f"({session.starts_at:%Y-%m-%d %H:%M} UTC)")
    lines.append("")
    rows = [(str(m.session_number), m.key, f"{m.local_time.astimezone(local):%a %Y-%m-%d %H:%M %Z}",
             f"{m.due_at:%Y-%m-%d %H:%M}", m.channel, f"{m.segments} {m.encoding}")
            for m in timeline.messages]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(_COLUMNS)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(_COLUMNS, widths, strict=False)) + "  text")
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    indent = " " * (sum(widths) + 2 * len(widths))
    for row, message in zip(rows, timeline.messages, strict=False):
        wrapped = textwrap.wrap(message.body, _TEXT_WIDTH) or [""]
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + wrapped[0])
        lines.extend(indent + part for part in wrapped[1:])
        if message.rule:
            lines.append(f"{indent}rule: {message.rule}")
    lines.append("")
    lines.append(f"{len(timeline.messages)} messages, {sum(m.segments for m in timeline.messages)} SMS segments "
                 "(plus the plan confirmation sent when the plan starts).")
    return "\n".join(lines) + "\n"
