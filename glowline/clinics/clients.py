"""A clinic's clients as the front desk sees them: who they are, found by name or phone.

A client row is one number across the installation; what a clinic knows about the person
(their first name, their answers) lives in that clinic's intakes, so everything here is
asked for one clinic and never shows another clinic's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, union
from sqlalchemy.orm import Session

from glowline.phone import clinic_region, for_people
from glowline.store.models import MAX_ID, Client, Clinic, InboundMessage, Intake, Plan

SEARCH_LIMIT = 50
MAX_QUERY = 80


@dataclass(frozen=True)
class ClientCard:
    """One line of the client list: id, first name (if given), the number as people dial it, opt-out."""

    id: int
    first_name: str | None
    phone: str
    phone_display: str
    opted_out: bool

    @property
    def label(self) -> str:
        """What staff read for this client: the first name, else the number."""
        return self.first_name or self.phone_display


def clinic_client_ids(clinic_id: int):
    """A SELECT of the ids of every client who has texted, called, done an intake or had a plan at the clinic."""
    return union(select(Intake.client_id).where(Intake.clinic_id == clinic_id),
                 select(Plan.client_id).where(Plan.clinic_id == clinic_id),
                 select(InboundMessage.client_id).where(InboundMessage.clinic_id == clinic_id,
                                                        InboundMessage.client_id.is_not(None)))


def find_client(db: Session, clinic_id: int, client_id: int) -> Client | None:
    """The client if they belong to this clinic; another clinic's client is None (a 404, never a 403)."""
    if not 0 < client_id <= MAX_ID:
        return None
    return db.scalar(select(Client).where(Client.id == client_id, Client.id.in_(clinic_client_ids(clinic_id))))


def first_names(db: Session, clinic_id: int, client_ids) -> dict[int, str]:
    """Each client's first name as given in their newest intake at this clinic, in one query."""
    ids = list(client_ids)
    if not ids:
        return {}
    rows = db.execute(select(Intake.client_id, Intake.answers).where(Intake.clinic_id == clinic_id,
                                                                    Intake.client_id.in_(ids))
                      .order_by(Intake.id)).all()
    names: dict[int, str] = {}
    for client_id, answers in rows:
        name = _name_in(answers)
        if name:
            names[client_id] = name  # newest intake wins: rows come oldest first
    return names


def first_name(db: Session, clinic_id: int, client_id: int | None) -> str | None:
    """One client's first name at this clinic, or None when they never gave one."""
    if client_id is None:
        return None
    return first_names(db, clinic_id, [client_id]).get(client_id)


def _name_in(answers) -> str | None:
    if not isinstance(answers, dict):
        return None
    name = answers.get("first_name") or answers.get("name")
    return str(name).strip()[:60] or None if name else None


def cards(db: Session, clinic_id: int, clients) -> list[ClientCard]:
    """List lines for these clients, with names from this clinic's intakes."""
    clients = list(clients)
    names = first_names(db, clinic_id, [c.id for c in clients])
    region = clinic_region(db.get(Clinic, clinic_id))
    return [ClientCard(id=c.id, first_name=names.get(c.id), phone=c.phone, phone_display=for_people(c.phone, region),
                       opted_out=c.opted_out) for c in clients]


def search(db: Session, clinic_id: int, query: str = "", *, limit: int = SEARCH_LIMIT,
           after_id: int | None = None) -> tuple[list[ClientCard], bool]:
    """The clinic's clients matching a name or any part of a phone number in any format; (cards, more?).

    "555 0123", "(212)" and "+1 212-555" all match by their digits; "jess" matches a first
    name anywhere in it, any case. Newest clients first; ``after_id`` pages on.
    """
    query = (query or "").strip()[:MAX_QUERY]
    stmt = select(Client).where(Client.id.in_(clinic_client_ids(clinic_id)))
    if query:
        digits = re.sub(r"\D", "", query)
        name_ids = _name_matches(db, clinic_id, query)
        conditions: list[ColumnElement[bool]] = [Client.id.in_(name_ids)] if name_ids else []
        if len(digits) >= 2 and len(digits) * 2 >= len(re.sub(r"\s", "", query)):
            conditions.append(Client.phone.contains(digits, autoescape=True))
        if not conditions:
            return [], False
        stmt = stmt.where(or_(*conditions))
    if after_id is not None and 0 < after_id <= MAX_ID:
        stmt = stmt.where(Client.id < after_id)
    found = list(db.scalars(stmt.order_by(Client.id.desc()).limit(limit + 1)))
    return cards(db, clinic_id, found[:limit]), len(found) > limit


def _name_matches(db: Session, clinic_id: int, query: str) -> set[int]:
    # Names live in JSON answers, read the same way on SQLite and PostgreSQL: filter in Python
    # over this clinic's intakes only (a clinic has thousands, not millions).
    wanted = query.casefold()
    rows = db.execute(select(Intake.client_id, Intake.answers).where(Intake.clinic_id == clinic_id)).all()
    return {client_id for client_id, answers in rows if wanted in (_name_in(answers) or "").casefold()}
