"""Session actions from the desk: move or cancel one session, say exactly what the client will get, tell them.

The plan service does the moving and cancelling (and its history); this adds the text to the
client about the change, through the outbox, when staff ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.messages import dates, templates
from glowline.messages.settings import MessageSettings
from glowline.plans.service import cancel_session, move_session
from glowline.plans.timeline import next_allowed_time, space_sessions, zone
from glowline.store.models import (Channel, MessageKind, MessageStatus, OutboxMessage, Plan, PlanStatus, SessionStatus,
                                   TreatmentSession)


@dataclass(frozen=True)
class Change:
    """One session's time before and after an action (``new`` None: cancelled)."""

    number: int
    old: datetime
    new: datetime | None


@dataclass(frozen=True)
class Proposal:
    """What an action will do, before it is done: the sessions it changes and the text the client gets."""

    changes: list[Change]
    client_text: str | None
    client_note: str

    def as_dict(self) -> dict:
        """The proposal as the API returns it."""
        return {"changes": [{"session": c.number, "old": c.old.isoformat(),
                             "new": c.new.isoformat() if c.new else None} for c in self.changes],
                "client_text": self.client_text, "client_note": self.client_note}


def _session(plan: Plan, number: int) -> TreatmentSession:
    for row in plan.sessions:
        if row.number == number:
            return row
    raise NotFound(f"plan has no session {number}; it has sessions 1 to {len(plan.sessions)}")


def _check(plan: Plan, row: TreatmentSession) -> None:
    if plan.status is not PlanStatus.ACTIVE:
        raise Conflict(f"the plan is {plan.status.value}; only an active plan can change")
    if row.status is SessionStatus.CANCELLED:
        raise Conflict(f"session {row.number} is cancelled")


def _text(plan: Plan, key: str, when: datetime) -> str:
    """The client's text about a moved or cancelled session: in their language, on the clinic's clock (zone named)."""
    clinic, client = plan.clinic, plan.client
    locale = client.locale
    local = when.astimezone(zone(clinic.timezone))
    return templates.render(key, MessageSettings.from_clinic(clinic, links=None), locale,
                            date=dates.format_date(local, locale),
                            time=dates.format_session_time(when, clinic.timezone, clinic.zone_for(client), locale))


def _note(plan: Plan, text: str | None, notify: bool) -> str:
    if plan.client.opted_out:
        return "The client opted out of texts: they will get nothing. Call them to tell them."
    if not notify or text is None:
        return "The client gets no text about this now; later reminders follow the new times."
    return "The client gets this text now (or when their quiet hours end):"


def propose_move(plan: Plan, number: int, new_start: datetime, *, shift_later: bool, notify: bool) -> Proposal:
    """What moving session ``number`` to ``new_start`` would change and say, without changing anything."""
    row = _session(plan, number)
    _check(plan, row)
    ordered = [s for s in plan.sessions if s.status is not SessionStatus.CANCELLED]
    moved = [row] + ([s for s in ordered if s.number > number] if shift_later else [])
    starts = space_sessions(new_start, len(moved), plan.interval_weeks, plan.clinic.timezone)
    changes = [Change(s.number, s.starts_at, start) for s, start in zip(moved, starts, strict=False)]
    text = _text(plan, "session_moved", new_start)
    return Proposal(changes, text if notify and not plan.client.opted_out else None, _note(plan, text, notify))


def propose_cancel(plan: Plan, number: int, *, notify: bool) -> Proposal:
    """What cancelling session ``number`` would change and say, without changing anything."""
    row = _session(plan, number)
    _check(plan, row)
    text = _text(plan, "session_cancelled", row.starts_at)
    return Proposal([Change(row.number, row.starts_at, None)], text if notify and not plan.client.opted_out else None,
                    _note(plan, text, notify))


def _notice(db: Session, rt, plan: Plan, body: str, *, session: TreatmentSession | None, not_after: datetime,
            now: datetime) -> OutboxMessage:
    clinic = plan.clinic
    due = next_allowed_time(now, clinic.zone_for(plan.client), clinic.quiet_start, clinic.quiet_end)
    row = OutboxMessage(clinic=clinic, client=plan.client, plan=plan, session=session, plan_version=plan.version,
                        kind=MessageKind.CLIENT_NOTICE, channel=Channel.SMS, to_number=plan.client.phone,
                        from_number=clinic.sending_number, body=body, due_at=due, not_after=not_after,
                        status=MessageStatus.PENDING, created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    rt.dispatcher.schedule(db, [row])
    return row


def move(db: Session, rt, plan: Plan, number: int, new_start: datetime, *, shift_later: bool, notify: bool,
         actor: str, now: datetime) -> Proposal:
    """Move a session (and optionally the later ones), then text the client the new time if asked. No commit."""
    proposal = propose_move(plan, number, new_start, shift_later=shift_later, notify=notify)
    # The plan service itself texts the client the new time (issue 14), only when staff asked; no second text here.
    move_session(db, plan, number, new_start, shift_later=shift_later, actor=actor, now=now, catalog=rt.catalog, links=rt.links,
                 dispatcher=rt.dispatcher, confirm=True, notify=notify)
    return proposal


def cancel(db: Session, rt, plan: Plan, number: int, *, notify: bool, actor: str, now: datetime) -> Proposal:
    """Cancel one session, then text the client that it is cancelled if asked. No commit."""
    proposal = propose_cancel(plan, number, notify=notify)
    row = _session(plan, number)
    if row.starts_at <= now:
        raise ValidationError("that session has already started; it cannot be cancelled now", field="session")
    cancel_session(db, plan, number, actor=actor, now=now)
    if proposal.client_text is not None:
        # Not tied to the session row: a cancelled session's messages are skipped, and this one must go.
        _notice(db, rt, plan, proposal.client_text, session=None, not_after=row.starts_at + timedelta(hours=1),
                now=now)
    return proposal
