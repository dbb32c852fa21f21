"""The front desk in the JSON API: clients and their conversation, replies, the inbox, a day's sessions.

Routes live on the API blueprint (same bearer tokens and JSON errors); this module only adds them.
"""

from __future__ import annotations

from datetime import date

from flask import g, jsonify, request, url_for
from sqlalchemy import select

from glowline.clinics.clients import find_client, first_name, search
from glowline.desk import inbox, sessions, today
from glowline.desk.conversation import conversation
from glowline.desk.replies import QuietHours, SendWhen, send_reply
from glowline.exceptions import NotFound, ValidationError
from glowline.phone import clinic_region, for_people
from glowline.photos.views import client_photos, status_words
from glowline.plans.replies import next_session
from glowline.store.photo_rows import PhotoStatus
from glowline.store.models import MAX_ID, ConsentEvent, Intake, Plan
from webhooks.api import _clinic, _error, _plan, _viewed, bp, client_zone, message_json, plan_json, read_body, intake_json
from webhooks.auth import token_required
from webhooks.context import db, runtime
from webhooks.photo_files import photo_response

MAX_LIMIT = 200


def _limit(default: int = 50) -> int:
    raw = request.args.get("limit", "")
    if raw == "":
        return default
    if not raw.isdigit() or len(raw) > 3:
        raise ValidationError(f"limit: a whole number from 1 to {MAX_LIMIT}", field="limit")
    # Like GET /api/messages: out-of-range sizes are clamped, not refused.
    return min(max(int(raw), 1), MAX_LIMIT)


def _client(client_id: int):
    client = find_client(db(), g.clinic_id, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def client_summary(card) -> dict:
    """A client list line."""
    return {"id": card.id, "first_name": card.first_name, "phone": card.phone, "phone_display": card.phone_display,
            "opted_out": card.opted_out}


@bp.get("/clients")
@token_required
def list_clients():
    """GET /api/clients?q=: the clinic's clients by first name or any part of a phone number, newest first."""
    cursor = request.args.get("cursor", "")
    if cursor and (not cursor.isdigit() or int(cursor) > MAX_ID):
        raise ValidationError("cursor: use the next_cursor of the previous page", field="cursor")
    found, more = search(db(), g.clinic_id, request.args.get("q", ""), limit=_limit(),
                         after_id=int(cursor) if cursor else None)
    _viewed("clients", [c.id for c in found])
    return jsonify(clients=[client_summary(c) for c in found], has_more=more,
                   next_cursor=str(found[-1].id) if more and found else None)


@bp.get("/clients/<int:client_id>")
@token_required
def show_client(client_id: int):
    """GET /api/clients/<id>: who, consent, intakes, plans with the next session, and the conversation."""
    clinic = _clinic()
    client = _client(client_id)
    now = runtime().clock.now()
    intakes = db().scalars(select(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id)
                           .order_by(Intake.id.desc())).all()
    plans = db().scalars(select(Plan).where(Plan.clinic_id == clinic.id, Plan.client_id == client.id)
                         .order_by(Plan.id.desc())).all()
    consent = db().scalars(select(ConsentEvent).where(ConsentEvent.client_id == client.id)
                           .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc()).limit(20)).all()
    upcoming = next_session(db(), clinic=clinic, client=client, now=now)
    _viewed("client", [client.id])
    return jsonify({
        "id": client.id, "first_name": first_name(db(), clinic.id, client.id), "phone": client.phone,
        "phone_display": for_people(client.phone, clinic_region(clinic)), "opted_out": client.opted_out,
        "opted_out_at": client.opted_out_at.isoformat() if client.opted_out_at else None,
        "preferred_channel": client.preferred_channel.value,
        "consent_events": [{"action": e.action, "method": e.method, "at": e.created_at.isoformat()}
                           for e in consent if e.clinic_id in (clinic.id, None) or e.action == "opt_out"],
        "intakes": [intake_json(i, full=True) for i in intakes],
        "plans": [{"id": p.id, "protocol": p.protocol_id, "status": p.status.value, "session_count": p.session_count}
                  for p in plans],
        "next_session": None if upcoming is None else {"plan_id": upcoming.plan_id, "session": upcoming.number,
                                                        "starts_at": upcoming.starts_at.isoformat(),
                                                        "status": upcoming.status.value},
        "conversation": [e.as_dict() for e in conversation(db(), clinic.id, client, now)],
    })


@bp.post("/clients/<int:client_id>/messages")
@token_required
def reply(client_id: int):
    """POST /api/clients/<id>/messages: a staff text to the client, through the outbox; 201 with the message."""
    clinic = _clinic()
    client = _client(client_id)
    body = read_body("api_client_message")
    try:
        row = send_reply(db(), runtime(), clinic=clinic, client=client, body=body["body"], actor=g.actor,
                         now=runtime().clock.now(), when=SendWhen(body.get("send", "now")))
    except QuietHours as exc:
        db().rollback()
        return _error(f"{exc}; resend with \"send\": \"morning\"", 409, "send")
    if body.get("inbox_id") is not None:
        inbox.mark_done(db(), clinic.id, body["inbox_id"], actor=g.actor, now=runtime().clock.now())
    db().commit()
    db().refresh(row)
    response = jsonify(message_json(row, client_zone(row)))
    response.status_code = 201
    return response


@bp.get("/inbox")
@token_required
def list_inbox():
    """GET /api/inbox: texts that need a person, newest first."""
    items = inbox.items(db(), g.clinic_id, limit=_limit(100))
    _viewed("inbox", [i.id for i in items])
    return jsonify(count=inbox.count(db(), g.clinic_id), items=[i.as_dict() for i in items])


@bp.post("/inbox/<int:inbound_id>/done")
@token_required
def inbox_done(inbound_id: int):
    """POST /api/inbox/<id>/done: take one text out of the inbox."""
    row = inbox.mark_done(db(), g.clinic_id, inbound_id, actor=g.actor, now=runtime().clock.now())
    db().commit()
    return jsonify(id=row.id, done_at=row.done_at.isoformat() if row.done_at else None, done_by=row.done_by)


@bp.get("/sessions")
@token_required
def day_sessions():
    """GET /api/sessions?date=&not_confirmed=: every session on a local day (today by default)."""
    clinic = _clinic()
    raw = request.args.get("date", "")
    try:
        on = date.fromisoformat(raw) if raw else today.local_today(clinic, runtime().clock.now())
    except ValueError:
        raise ValidationError("date: use YYYY-MM-DD", field="date") from None
    flag = request.args.get("not_confirmed", "false").lower()
    if flag not in ("true", "false", "1", "0"):
        raise ValidationError("not_confirmed: true or false", field="not_confirmed")
    rows = today.day(db(), clinic, on, not_confirmed=flag in ("true", "1"))
    _viewed("sessions", [r.client_id for r in rows])
    return jsonify(date=on.isoformat(), timezone=clinic.timezone, sessions=[r.as_dict() for r in rows])


@bp.post("/plans/<int:plan_id>/sessions/<int:number>/cancel")
@token_required
def cancel_session(plan_id: int, number: int):
    """POST /api/plans/<id>/sessions/<n>/cancel: cancel one session (optionally texting the client)."""
    plan = _plan(plan_id)
    body = read_body("api_session_cancel", empty_ok=True)
    sessions.cancel(db(), runtime(), plan, number, notify=body.get("notify_client", False), actor=g.actor,
                    now=runtime().clock.now())
    db().commit()
    return jsonify(plan_json(plan))


@bp.get("/clients/<int:client_id>/photos")
@token_required
def client_photo_list(client_id: int):
    """GET /api/clients/<id>/photos: the client's photos with links the same token can download."""
    client = _client(client_id)
    photos = client_photos(db(), g.clinic_id, client.id)
    _viewed("client_photos", [client.id])
    return jsonify(photos=[_photo_json(p) for p in photos])


def _photo_json(photo) -> dict:
    stored = photo.status is PhotoStatus.STORED
    return {"id": photo.public_id, "status": photo.status.value, "state": status_words(photo),
            "received_at": photo.received_at.isoformat(), "intake_id": photo.intake_id,
            "content_type": photo.content_type, "width": photo.width, "height": photo.height,
            "download_url": url_for("api.photo_download", photo_id=photo.public_id) if stored else None,
            "thumbnail_url": url_for("api.photo_thumbnail_download", photo_id=photo.public_id) if stored else None}


@bp.get("/photos/<photo_id>")
@token_required
def photo_download(photo_id: str):
    """GET /api/photos/<id>: one stored photo of this clinic (audited); 404 for any other."""
    return photo_response(g.clinic_id, photo_id, g.actor, thumbnail=False)


@bp.get("/photos/<photo_id>/thumbnail")
@token_required
def photo_thumbnail_download(photo_id: str):
    """GET /api/photos/<id>/thumbnail: a stored photo's thumbnail; 404 for any other."""
    return photo_response(g.clinic_id, photo_id, g.actor, thumbnail=True)
