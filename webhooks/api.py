"""The clinic JSON API under /api: bearer tokens, schema-checked bodies, one clinic's data per token."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from glowline.clinics import audit
from glowline.compliance import consent as compliance
from glowline.delivery import heartbeat
from glowline.exceptions import Conflict, NeedsConfirmation, NotFound, ValidationError
from glowline.clinics.clients import first_name, first_names
from glowline.store.models import (MAX_ID, OPEN_STATUSES, Client, Clinic, Intake, IntakeStatus, MessageKind, MessageStatus,
                                   OutboxMessage, Plan, PlanStatus)
from glowline.delivery.report import queue_summary
from glowline.delivery.staff_actions import cancel_message, retry_message, retry_refusal
from glowline.plans.bulk import PlanRequest, refusal_for, start_plans
from glowline.plans.start import PLANNABLE, find_intake, intake_concern, start_plan
from glowline.plans.attendance import mark_attended, mark_no_show
from glowline.plans.holds import release_session
from glowline.plans.service import cancel_plan, move_session
from glowline.plans.timeline import zone
from webhooks.auth import token_required
from glowline.delivery.carrier_alerts import banner as carrier_banner
from glowline.photos.retention import failed_count as failed_photos
from webhooks.context import db, runtime

bp = Blueprint("api", __name__, url_prefix="/api")
BATCH_MAX_BYTES = 4 * 1024 * 1024

def _error(message: str, status: int, field: str | None = None):
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return jsonify(body), status


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    return _error(str(exc), 400, exc.field)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return _error(str(exc), 404)


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    # A refusal for want of consent names the field, so a booking system can tell it apart.
    return _error(str(exc), 409, getattr(exc, "field", None))


@bp.errorhandler(NeedsConfirmation)
def _needs_confirmation(exc: NeedsConfirmation):
    # The caller repeats the request with "confirm": true once a person has read the rules.
    return jsonify(error=str(exc), needs_confirmation=True, rules=exc.rules), 409


@bp.errorhandler(404)
def _no_route(_exc):
    return _error("no such endpoint", 404)


def init_app(app) -> None:
    """Routing errors under /api (an unknown path, a non-integer id, a wrong method) answer JSON too."""

    def _routing_error(exc: HTTPException):
        if not request.path.startswith(bp.url_prefix + "/") and request.path != bp.url_prefix:
            return exc
        words = {404: "no such endpoint", 405: "method not allowed"}
        response = _error(words.get(exc.code or 0, exc.description or "error"), exc.code or 500)[0]
        response.status_code = exc.code or 500
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    app.register_error_handler(404, _routing_error)
    app.register_error_handler(405, _routing_error)


def read_body(schema_name: str, *, empty_ok: bool = False) -> dict:
    """The request's JSON object, checked against ``schemas/<schema_name>.schema.json``."""
    raw = request.get_data(cache=True)
    if not raw.strip() and empty_ok:
        body = {}
    else:
        body = request.get_json(force=True, silent=True)
        if body is None:
            raise ValidationError("the body is not valid JSON", field="$")
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", field="$")
    runtime().schemas[schema_name].check(body)
    return body


def parse_instant(value: str, field: str) -> datetime:
    """An ISO 8601 date-time with an offset (the schema checked its shape) as an aware datetime."""
    try:
        # RFC 3339 allows a lower-case "t" and "z"; Python reads only the upper-case ones.
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValidationError(f"{field}: {value!r} is not an ISO 8601 date and time", field=field) from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{field}: give a UTC offset, e.g. 2026-12-03T10:00:00-05:00", field=field)
    return parsed


def _viewed(what: str, ids: list[int], plan_id: int | None = None) -> None:
    """Audit one API read of clients' details (which resource, which intakes) and commit it."""
    audit.record_view(db(), clinic_id=g.clinic_id, actor=g.actor, now=runtime().clock.now(), what=what, ids=ids,
                      plan_id=plan_id)
    db().commit()


def _clinic() -> Clinic:
    return db().get(Clinic, g.clinic_id)


def _plan(plan_id: int) -> Plan:
    # Another clinic's plan is a 404, never a 403, so ids do not reveal what exists.
    plan = db().scalar(select(Plan).where(Plan.id == plan_id, Plan.clinic_id == g.clinic_id))
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def message_json(message: OutboxMessage, tz: str, names: dict[int, str] | None = None) -> dict:
    """One outbox row as the API and the staff pages show it; local time in the client's zone.

    ``names`` (client id -> first name, for this clinic) fills ``recipient``; without it the
    name is looked up for this one row.
    """
    if message.kind is MessageKind.STAFF_NOTICE:
        recipient = "staff phone"
    elif message.client_id is None:
        recipient = None
    elif names is not None:
        recipient = names.get(message.client_id)
    else:
        recipient = first_name(db(), message.clinic_id, message.client_id)
    return {
        "retryable": retry_refusal(message, runtime().clock.now()) is None,
        "id": message.id, "plan_id": message.plan_id,
        "session": message.session.number if message.session is not None else None,
        "kind": message.kind.value, "channel": message.channel.value, "status": message.status.value,
        "due_at": message.due_at.isoformat(), "local_time": message.due_at.astimezone(zone(tz)).isoformat(),
        "not_after": message.not_after.isoformat() if message.not_after else None,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "updated_at": message.updated_at.isoformat(),
        "attempts": message.attempts, "error": message.last_error, "error_code": message.error_code,
        "result": message.result, "simulated": message.simulated, "text": message.body,
        "client_id": message.client_id, "recipient": recipient, "sent_by": message.sent_by,
    }


def client_zone(message_or_plan) -> str:
    """The zone texts are written in: the client's own, else the clinic's."""
    return message_or_plan.clinic.zone_for(message_or_plan.client)


def plan_messages(plan: Plan) -> list[OutboxMessage]:
    """Every outbox row of a plan, in due order."""
    return list(db().scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id)
                             .order_by(OutboxMessage.due_at, OutboxMessage.id)))


def paused_reason(plan: Plan) -> str | None:
    """Why an active plan sends nothing now ("client opted out", "no consent"), or None."""
    if plan.status is not PlanStatus.ACTIVE:
        return None
    if plan.client.opted_out:
        return "client opted out"
    if not compliance.state_of(db(), plan.client, plan.clinic).current:
        return "no consent"
    return None


def plan_json(plan: Plan) -> dict:
    """A plan with its sessions and every scheduled message."""
    tz = client_zone(plan)
    clinic_tz = zone(plan.clinic.timezone)
    return {
        "id": plan.id, "intake_id": plan.intake_id, "protocol": plan.protocol_id,
        "client_opted_out": plan.client.opted_out,
        "paused": f"paused: {paused_reason(plan)}" if paused_reason(plan) else None,
        "consent": compliance.state_of(db(), plan.client, plan.clinic).as_json(),
        "protocols_version": plan.protocols_version, "status": plan.status.value, "version": plan.version,
        "session_count": plan.session_count, "interval_weeks": plan.interval_weeks,
        "created_by": plan.created_by, "created_at": plan.created_at.isoformat(),
        "completed_at": plan.completed_at.isoformat() if plan.completed_at else None,
        "sessions": [{"number": s.number, "starts_at": s.starts_at.isoformat(),
                      "local_start": s.starts_at.astimezone(clinic_tz).isoformat(),
                      "duration_minutes": s.duration_minutes, "status": s.status.value,
                      "attendance_at": s.attendance_at.isoformat() if s.attendance_at else None,
                      "callback_requested_at": (s.callback_requested_at.isoformat()
                                                if s.callback_requested_at else None)} for s in plan.sessions],
        "messages": [message_json(m, tz) for m in plan_messages(plan)],
    }


def latest_plan_ids(intake_ids: list[int]) -> dict[int, int]:
    """Each intake's newest plan id, in one query."""
    if not intake_ids:
        return {}
    rows = db().execute(select(Plan.intake_id, func.max(Plan.id)).where(Plan.intake_id.in_(intake_ids))
                        .group_by(Plan.intake_id))
    return dict(rows.all())


def intake_json(intake: Intake, *, full: bool = False, plan_id: int | None = None) -> dict:
    """An intake summary (``full`` adds the answers); ``plan_id`` is its newest plan, if any."""
    if full:
        plan_id = latest_plan_ids([intake.id]).get(intake.id)
    data = {"id": intake.id, "status": intake.status.value, "concern": intake_concern(intake),
            "flags": list(intake.flags or []), "channel": intake.channel.value, "client_phone": intake.client.phone,
            "created_at": intake.created_at.isoformat(),
            "completed_at": intake.completed_at.isoformat() if intake.completed_at else None,
            "waiting_for_plan": intake.status in PLANNABLE, "plan_id": plan_id,
            "consent": compliance.state_of(db(), intake.client, intake.clinic).as_json()}
    if full:
        data["answers"] = intake.answers or {}
    return data


QUEUE_PAGE = 50
LATE_AFTER = timedelta(minutes=10)


def queue_state(clinic: Clinic, now: datetime, *, hours: int = 6, page: int = 1, section: str | None = None) -> dict:
    """What the queue page shows: counts, due soon, in flight, done today, failures, staff notices, heartbeat.

    Every list is one page of ``QUEUE_PAGE`` rows with its total, so nothing stops silently;
    ``page`` applies to ``section`` (the others show their first page).
    """
    summary = queue_summary(db(), clinic.id, now, with_failures=False)  # the page lists failures itself
    local_midnight = now.astimezone(zone(clinic.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    to_clients = OutboxMessage.kind != MessageKind.STAFF_NOTICE
    failed = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
    sections = {
        "due_soon": ((to_clients, OutboxMessage.status.in_(list(OPEN_STATUSES)),
                      OutboxMessage.due_at <= now + timedelta(hours=hours)), OutboxMessage.due_at),
        "sending": ((to_clients, OutboxMessage.status == MessageStatus.SENDING), OutboxMessage.due_at),
        "done_today": ((to_clients, OutboxMessage.status.in_([MessageStatus.SENT, MessageStatus.DELIVERED]),
                        OutboxMessage.updated_at >= local_midnight), OutboxMessage.updated_at.desc()),
        "failed": ((to_clients, OutboxMessage.status.in_(failed)), OutboxMessage.updated_at.desc()),
        "staff_notices": ((OutboxMessage.kind == MessageKind.STAFF_NOTICE,
                           OutboxMessage.updated_at >= local_midnight - timedelta(days=1)),
                          OutboxMessage.updated_at.desc()),
    }
    found: dict[str, list[OutboxMessage]] = {}
    totals: dict[str, int] = {}
    pages: dict[str, int] = {}
    for name, (conditions, order) in sections.items():
        where = (OutboxMessage.clinic_id == clinic.id, *conditions)
        totals[name] = db().scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0
        pages[name] = max(1, min(page if name == section else 1, (totals[name] - 1) // QUEUE_PAGE + 1))
        found[name] = list(db().scalars(select(OutboxMessage).where(*where).order_by(order, OutboxMessage.id.desc())
                                        .offset((pages[name] - 1) * QUEUE_PAGE).limit(QUEUE_PAGE)))
    names = first_names(db(), clinic.id, {m.client_id for rows in found.values() for m in rows if m.client_id})
    state = {name: [message_json(m, client_zone(m), names) for m in rows] for name, rows in found.items()}
    # Late enough for a person to look: every crash the pipeline recovers from settles within minutes.
    late = db().scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.clinic_id == clinic.id, OutboxMessage.status.in_(list(OPEN_STATUSES)),
        OutboxMessage.due_at < now - LATE_AFTER))
    return {
        "counts": summary["counts"], "overdue": summary["overdue"], "next_due_at": summary["next_due_at"],
        "late": late or 0, "late_minutes": int(LATE_AFTER.total_seconds() // 60),
        **state, "totals": totals, "pages": pages, "page_size": QUEUE_PAGE,
        "health": heartbeat.check(runtime()).as_dict(),
        "window_hours": hours,
        "carrier_alert": carrier_banner(db(), clinic.id, now),
        "photos_failed": failed_photos(db(), clinic.id),
    }


@bp.get("/opt-outs")
@token_required
def list_opt_outs():
    """GET /api/opt-outs: this clinic's clients who have opted out, newest first, with what they said."""
    clinic = _clinic()
    states = [(c, compliance.state_of(db(), c, clinic)) for c in opted_out_clients(clinic.id)]
    return jsonify(opt_outs=[{"client_id": c.id, "client_phone": c.phone, "opted_out_at": st.opted_out_at.isoformat(),
                              "by": st.opted_out_by, "method": st.opted_out_method} for c, st in states
                             if st.opted_out_at is not None])


def opted_out_clients(clinic_id: int) -> list[Client]:
    """The clinic's clients who are opted out now, most recent first."""
    return list(db().scalars(select(Client).where(Client.clinic_id == clinic_id, Client.opted_out_at.is_not(None))
                             .order_by(Client.opted_out_at.desc())))


@bp.get("/protocols")
@token_required
def list_protocols():
    """GET /api/protocols: the protocol catalog."""
    catalog = runtime().catalog
    return jsonify(version=catalog.version, protocols=[{
        "id": p.id, "name": p.name, "conditions": list(p.conditions),
        "sessions": vars(p.sessions), "interval_weeks": vars(p.interval_weeks),
        "aftercare_hours": p.aftercare_hours} for p in catalog])


@bp.get("/intakes")
@token_required
def list_intakes():
    """GET /api/intakes: this clinic's intakes, newest first."""
    query = select(Intake).where(Intake.clinic_id == g.clinic_id).order_by(Intake.id.desc()).limit(200)
    status = request.args.get("status")
    if status == "waiting":
        query = query.where(Intake.status.in_(PLANNABLE))
    elif status:
        try:
            query = query.where(Intake.status == IntakeStatus(status))
        except ValueError:
            raise ValidationError(f"status: use waiting or one of {', '.join(s.value for s in IntakeStatus)}",
                                  field="status") from None
    intakes = db().scalars(query.options(selectinload(Intake.client))).all()
    plans = latest_plan_ids([i.id for i in intakes])
    _viewed("intakes", [i.id for i in intakes])
    return jsonify(intakes=[intake_json(i, plan_id=plans.get(i.id)) for i in intakes])


@bp.get("/intakes/<int:intake_id>")
@token_required
def show_intake(intake_id: int):
    """GET /api/intakes/<id>: one intake with its answers."""
    intake = find_intake(db(), g.clinic_id, intake_id)
    _viewed("intake", [intake.id])
    return jsonify(intake_json(intake, full=True))


@bp.post("/plans")
@token_required
def create_plan():
    """POST /api/plans: start a plan from an intake; 201 with every scheduled message."""
    body = read_body("api_plan_create")
    rt, session = runtime(), db()
    plan = start_plan(session, rt, clinic=_clinic(), intake_id=body["intake_id"], protocol_id=body["protocol"],
                      first_session_at=parse_instant(body["first_session_at"], "first_session_at"),
                      sessions=body.get("sessions"), interval_weeks=body.get("interval_weeks"),
                      actor=g.actor, now=rt.clock.now())
    session.commit()
    response = jsonify(plan_json(plan))
    response.status_code = 201
    response.headers["Location"] = f"/api/plans/{plan.id}"
    return response


@bp.post("/plans:batch")
@token_required
def create_plans():
    """POST /api/plans:batch: start many plans at once; each item refused or started on its own, one commit."""
    # 10,000 plans are ~1 MB of JSON: this route alone may exceed the app's 256 KiB body limit.
    request.max_content_length = BATCH_MAX_BYTES
    body = read_body("api_plan_batch")
    rt, session = runtime(), db()
    requests, refused = [], []
    for index, item in enumerate(body["plans"]):
        try:
            requests.append((index, plan_request(item)))
        except ValidationError as exc:
            refused.append(refusal_for(index, exc))
    result = start_plans(session, rt, clinic=_clinic(), requests=requests, actor=g.actor, now=rt.clock.now())
    session.commit()
    refused = sorted(refused + result.refused, key=lambda r: r.index)
    return jsonify(started=[{"index": i, "plan_id": plan_id} for i, plan_id in result.started],
                   refused=[r.as_dict() for r in refused])


def plan_request(item) -> PlanRequest:
    """One batch item, checked exactly as a POST /api/plans body is."""
    if not isinstance(item, dict):
        raise ValidationError("each plan must be a JSON object", field="$")
    runtime().schemas["api_plan_create"].check(item)
    return PlanRequest(intake_id=item["intake_id"], protocol_id=item["protocol"],
                       first_session_at=parse_instant(item["first_session_at"], "first_session_at"),
                       sessions=item.get("sessions"), interval_weeks=item.get("interval_weeks"))


@bp.get("/plans/<int:plan_id>")
@token_required
def show_plan(plan_id: int):
    """GET /api/plans/<id>: a plan, its sessions and messages."""
    plan = _plan(plan_id)
    _viewed("plan", [plan.intake_id] if plan.intake_id else [], plan_id=plan.id)
    return jsonify(plan_json(plan))


@bp.patch("/plans/<int:plan_id>/sessions/<int:number>")
@token_required
def move_plan_session(plan_id: int, number: int):
    """PATCH /api/plans/<id>/sessions/<n>: move one session (and optionally the later ones)."""
    plan = _plan(plan_id)
    body = read_body("api_session_move")
    rt, session = runtime(), db()
    move_session(session, plan, number, parse_instant(body["starts_at"], "starts_at"),
                 shift_later=body.get("shift_later", False), actor=g.actor, now=rt.clock.now(),
                 catalog=rt.catalog, links=rt.links, dispatcher=rt.dispatcher, confirm=body.get("confirm", False))
    session.commit()
    return jsonify(plan_json(plan))


@bp.post("/plans/<int:plan_id>/sessions/<int:number>/<action>")
@token_required
def session_action(plan_id: int, number: int, action: str):
    """POST /api/plans/<id>/sessions/<n>/attended | no-show | release: record a visit, or keep a held session."""
    plan = _plan(plan_id)
    read_body("api_session_action", empty_ok=True)
    rt, session = runtime(), db()
    apply_session_action(session, rt, plan, number, action, actor=g.actor)
    session.commit()
    return jsonify(plan_json(plan))


def apply_session_action(session, rt, plan: Plan, number: int, action: str, *, actor: str) -> None:
    """Run a staff action on one session (attended, no-show, release); the caller commits."""
    now = rt.clock.now()
    if action == "attended":
        mark_attended(session, plan, number, actor=actor, now=now, dispatcher=rt.dispatcher)
    elif action == "no-show":
        mark_no_show(session, rt, plan, number, actor=actor, now=now)
    elif action == "release":
        release_session(session, plan, number, actor=actor, now=now, dispatcher=rt.dispatcher)
    else:
        raise ValidationError(f"unknown action {action!r}; use attended, no-show or release", field="action")


@bp.post("/plans/<int:plan_id>/cancel")
@token_required
def cancel(plan_id: int):
    """POST /api/plans/<id>/cancel: cancel a plan and its pending messages."""
    plan = _plan(plan_id)
    read_body("api_plan_cancel", empty_ok=True)
    cancel_plan(db(), plan, actor=g.actor, now=runtime().clock.now())
    db().commit()
    return jsonify(plan_json(plan))


def _message(message_id: int) -> OutboxMessage:
    message = db().scalar(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                      OutboxMessage.clinic_id == g.clinic_id))
    if message is None:
        raise NotFound(f"message {message_id} not found")
    return message


@bp.get("/messages")
@token_required
def list_messages():
    """GET /api/messages: outbox rows filtered by status, plan or time."""
    args = request.args.to_dict()
    runtime().schemas["api_messages_query"].check(args)
    query = select(OutboxMessage).where(OutboxMessage.clinic_id == g.clinic_id)
    if "status" in args:
        query = query.where(OutboxMessage.status == MessageStatus(args["status"]))
    if "plan_id" in args:
        query = query.where(OutboxMessage.plan_id == _plan(int(args["plan_id"])).id)
    if "due_after" in args:
        query = query.where(OutboxMessage.due_at >= parse_instant(args["due_after"], "due_after"))
    if "due_before" in args:
        query = query.where(OutboxMessage.due_at < parse_instant(args["due_before"], "due_before"))
    if "cursor" in args:
        due, last_id = _read_cursor(args["cursor"])
        query = query.where((OutboxMessage.due_at > due) | ((OutboxMessage.due_at == due) & (OutboxMessage.id > last_id)))
    limit = min(int(args.get("limit", 100)) or 1, 500)
    found = list(db().scalars(query.order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit + 1)))
    more = len(found) > limit
    found = found[:limit]
    cursor = f"{int(found[-1].due_at.timestamp() * 1_000_000)}.{found[-1].id}" if more else None
    return jsonify(messages=[message_json(m, client_zone(m)) for m in found], has_more=more, next_cursor=cursor)


def _read_cursor(raw: str) -> tuple[datetime, int]:
    """The (due time, id) a ``next_cursor`` points after; the schema checked its shape."""
    micros, _, last_id = raw.partition(".")
    try:
        due = datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ValidationError("cursor: use the next_cursor of the previous page", field="cursor") from None
    return due, min(int(last_id), MAX_ID)


@bp.post("/messages/<int:message_id>/retry")
@token_required
def retry(message_id: int):
    """POST /api/messages/<id>/retry: retry a failed, undelivered or skipped message."""
    message = _message(message_id)
    retry_message(db(), runtime(), message, actor=g.actor, now=runtime().clock.now())
    db().commit()
    db().refresh(message)
    return jsonify(message_json(message, client_zone(message)))


@bp.post("/messages/<int:message_id>/cancel")
@token_required
def cancel_one(message_id: int):
    """POST /api/messages/<id>/cancel: cancel a pending or queued message."""
    message = _message(message_id)
    cancel_message(db(), message, actor=g.actor, now=runtime().clock.now())
    db().commit()
    db().refresh(message)
    return jsonify(message_json(message, client_zone(message)))


@bp.get("/queue")
@token_required
def queue():
    """GET /api/queue: counts, next due, failures and worker/scheduler heartbeat."""
    return jsonify(queue_state(_clinic(), runtime().clock.now()))


@bp.get("/openapi.json")
def openapi():
    """GET /api/openapi.json: the OpenAPI document for this API."""
    from webhooks.openapi_doc import build_document

    return jsonify(build_document(runtime().schemas))


from webhooks import api_desk as _api_desk  # noqa: E402,F401  (adds the front-desk endpoints to this blueprint)
from webhooks import api_results as _api_results  # noqa: E402,F401  (adds GET /api/results to this blueprint)
