"""A plan worked out before anything is written: the checks every start runs, then its timeline.

A single start and a batch both come through ``draft_plan``, in the same order of checks
(times, intake ownership, consent, the protocol's ranges), so a refused item gets the answer
a single start would have given. Pure: the caller has read the consent record and the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from glowline.catalog.protocols import Protocol
from glowline.compliance.consent import ConsentState, require_current
from glowline.exceptions import NotFound, ValidationError
from glowline.messages.settings import MessageSettings
from glowline.plans.timeline import Timeline, build_timeline, require_aware
from glowline.store.models import Channel


@dataclass(frozen=True)
class Recipient:
    """What a plan's rows need to know about its client (an ORM Client or a selected row reads the same)."""

    id: int
    phone: str
    timezone: str | None
    locale: str
    channel: Channel

    @classmethod
    def of(cls, client: Any) -> Recipient:
        """From anything with a client's columns (id, phone, timezone, language, preferred_channel)."""
        return cls(client.id, client.phone, client.timezone, client.language or "en", Channel(client.preferred_channel))


@dataclass(frozen=True)
class PlanDraft:
    """One plan ready to write: who, which protocol, its timeline, and the intake it comes from."""

    recipient: Recipient
    protocol: Protocol
    catalog_version: str
    interval_weeks: int
    timeline: Timeline
    intake_id: int | None


# A batch shares timelines: a day's sync books the same slots for many clients, and the timeline
# is a pure function of these inputs (no client data but zone, locale and channel goes into a text).
TimelineKey = tuple[str, datetime, int | None, int | None, str, str, str]


def draft_plan(*, settings: MessageSettings, clinic_id: int, recipient: Recipient, protocol: Protocol,
               catalog_version: str, first_session_at: datetime, sessions: int | None, interval_weeks: int | None,
               intake: Any | None, consent: ConsentState, now: datetime,
               timelines: dict[TimelineKey, Timeline] | None = None) -> PlanDraft:
    """Check one plan start and work out its timeline; raises what a single start answers with.

    ``intake`` is anything with ``id``, ``clinic_id`` and ``client_id``; ``timelines`` memoises
    the timelines of one batch (their settings are the one clinic's).
    """
    first = require_aware(first_session_at, "first_session_at")
    require_aware(now, "now")
    if first <= now:
        raise ValidationError("the first session must be in the future", field="first_session_at")
    if intake is not None and (intake.clinic_id != clinic_id or intake.client_id != recipient.id):
        raise NotFound("intake not found for this clinic and client")
    # Consent is the gate: every surface that starts a plan comes through here.
    require_current(consent)
    client_tz = recipient.timezone or settings.timezone
    key = (protocol.id, first, sessions, interval_weeks, recipient.channel.value, client_tz, recipient.locale)
    timeline = timelines.get(key) if timelines is not None else None
    if timeline is None:
        timeline = build_timeline(protocol, first, settings, sessions=sessions, interval_weeks=interval_weeks,
                                  channel=recipient.channel.value, client_timezone=client_tz,
                                  locale=recipient.locale)
        if timelines is not None:
            timelines[key] = timeline
    return PlanDraft(recipient=recipient, protocol=protocol, catalog_version=catalog_version,
                     interval_weeks=interval_weeks or protocol.interval_weeks.default, timeline=timeline,
                     intake_id=intake.id if intake is not None else None)
