"""What a plan's outbox rows say: the columns of a planned message or a plan confirmation.

One rule for every way a row is written: the plan service builds ORM rows from these columns
(moves, holds), and a plan start writes them with Core inserts, many plans at once. The
plan, session and client ids are the caller's; everything else about the row is decided here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from glowline.delivery.channels import channel_for
from glowline.messages import dates, templates
from glowline.messages.segments import row_segments
from glowline.messages.settings import MessageSettings
from glowline.plans.timeline import PlannedMessage, next_allowed_time, zone
from glowline.store.models import Channel, MessageKind, MessageStatus

SKIPPED_PAST_DUE = "past_due_at_creation"
# What follows a visit (the booking nudge for the next session is timed from this one's aftercare).
AFTER_VISIT_KINDS = frozenset({MessageKind.AFTERCARE, MessageKind.AFTERCARE_END, MessageKind.BOOKING_NUDGE})


def message_columns(message: PlannedMessage, *, preferred: Channel, require_attended: bool, sender: str,
                    version: int, now: datetime, due_now_ok: bool = False) -> dict[str, Any]:
    """The row of a planned message; one already past due is recorded as skipped, not sent late.

    A 48-hour reminder for a session 10 hours away would go out at once, out of order with
    the plan confirmation that already names the date, and the delivery side would have to
    guess whether a late reminder still makes sense. Recording it skipped keeps the history
    honest (the clinic sees why no 48h reminder went out) without sending anything.
    ``due_now_ok``: a move re-timed this row to go out now on purpose.
    """
    skipped = message.due_at <= now and not due_now_ok
    kind = MessageKind(message.kind)
    # A clinic that requires "attended" first holds what follows a visit until staff mark it.
    held = not skipped and require_attended and kind in AFTER_VISIT_KINDS
    channel = channel_for(kind, preferred)
    return dict(
        plan_version=version, kind=kind, channel=channel, from_number=sender, body=message.body,
        due_at=message.due_at, not_after=message.not_after,
        status=(MessageStatus.SKIPPED if skipped else MessageStatus.HELD if held else MessageStatus.PENDING),
        result=SKIPPED_PAST_DUE if skipped else None, finished_at=now if skipped else None,
        segments=row_segments(channel, message.body, message.segments), created_at=now, updated_at=now,
    )


def confirmation_columns(first_start: datetime, total_sessions: int, settings: MessageSettings, *,
                         client_tz: str, locale: str, preferred: Channel, sender: str, version: int,
                         now: datetime) -> dict[str, Any]:
    """The plan confirmation's row: due now or, in quiet hours, when they end."""
    local = first_start.astimezone(zone(settings.timezone))
    body = templates.render("plan_confirmation", settings, locale, date=dates.format_date(local, locale),
                            time=dates.format_session_time(first_start, settings.timezone, client_tz, locale),
                            session_number=1, total_sessions=total_sessions)
    channel = channel_for(MessageKind.PLAN_CONFIRMATION, preferred)
    return dict(
        plan_version=version, kind=MessageKind.PLAN_CONFIRMATION, channel=channel, from_number=sender, body=body,
        due_at=next_allowed_time(now, client_tz, settings.quiet_start, settings.quiet_end), not_after=first_start,
        status=MessageStatus.PENDING, result=None, finished_at=None, segments=row_segments(channel, body),
        created_at=now, updated_at=now,
    )
