"""Staff pages: log in, intakes waiting for a plan, start a plan with a live preview, the plan and the queue."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select

from glowline.clinics import audit
from glowline.clinics.clients import first_name, first_names
from glowline.clinics.hours import describe_calendar, set_calendar
from glowline.compliance import consent as compliance
from glowline.exceptions import Conflict, GlowlineError, NeedsConfirmation, NotFound, ValidationError
from glowline.store.models import Clinic, Intake, OutboxMessage, Plan, PlanStatus, StaffUser
from glowline.delivery.staff_actions import cancel_message, retry_message
from glowline.plans.plan_text import parse_local_datetime
from glowline.plans.start import PLANNABLE, find_intake, intake_concern, start_plan
from glowline.plans.service import cancel_plan, move_session
from glowline.plans.staff_commands import client_gets
from glowline.messages.dates import format_moment
from glowline.phone import clinic_region, for_people
from glowline.plans.timeline import MessageSettings, build_timeline, zone
from glowline.plans.timeline_svg import from_plan, from_timeline, render_svg
from webhooks.api import (apply_session_action, client_zone, message_json, opted_out_clients, paused_reason,
                          plan_messages, queue_state)
from webhooks.auth import check_login, client_address, load_staff, log_in, log_out, login_required, throttle
from glowline.photos.views import intake_photos, status_words
from webhooks.context import db, runtime

log = logging.getLogger(__name__)

bp = Blueprint("staff", __name__, url_prefix="/staff")
csrf = CSRFProtect()

RQ_DASHBOARD_PREFIX = "/staff/rq"
QUEUE_REFRESH_SECONDS = 10
STAFF_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def init_app(app) -> None:
    """CSRF for the staff pages only, and RQ's dashboard mounted behind the staff login."""
    # Twilio's webhooks and the bearer-token API cannot carry a CSRF token: check only where we ask.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # The token lives in the session, which already expires; a second clock would only confuse.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("STAFF_QUEUE_REFRESH_SECONDS", QUEUE_REFRESH_SECONDS)
    csrf.init_app(app)
    # On the app, not the blueprint: a 404 under /staff and RQ's dashboard get the headers too.
    app.after_request(_security_headers)
    _mount_rq_dashboard(app)


def _mount_rq_dashboard(app) -> None:
    redis_url = app.extensions["glowline"].config.redis_url
    if redis_url is None:
        log.warning("no REDIS_URL: the RQ dashboard is not mounted")
        return
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app.config.from_object(rq_dashboard.default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url
    # Flask 3 no longer runs the dashboard's own first-request hook, so connect it here.
    setup_rq_connection(app)
    # Our jobs are JSON-serialised (see Runtime.queue); the dashboard must read them the same way.
    rq_dashboard.web.config.serializer = app.extensions["glowline"].queue.serializer
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_DASHBOARD_PREFIX)

    queue_name = app.extensions["glowline"].config.queue_name

    @app.before_request
    def _dashboard_needs_login():
        # The dashboard has no login of its own; its blueprint is shared, so guard it from the app.
        if request.blueprint != rq_dashboard.blueprint.name:
            return None
        if not load_staff():
            return redirect(url_for("staff.login", next=request.path))
        if request.path.rstrip("/") == f"{RQ_DASHBOARD_PREFIX}/0/view/jobs":
            # Left alone it opens on RQ's "default" queue, which is always empty here.
            return redirect(rq_jobs_url(queue_name))
        return None

    @app.after_request
    def _dashboard_links_back(response):
        # The dashboard's pages are its own; one link at the top leads back to the staff pages.
        if (request.blueprint == rq_dashboard.blueprint.name and response.mimetype == "text/html"
                and not response.direct_passthrough):
            html = response.get_data(as_text=True)
            back = (f'<body><p class="container mt-2 mb-0"><a href="{url_for("staff.queue")}">'
                    f"&larr; Back to the Glowline staff pages</a></p>")
            response.set_data(html.replace("<body>", back, 1))
        return response


def rq_jobs_url(queue_name: str) -> str:
    """RQ dashboard's job list for the product's queue (jobs waiting to run now)."""
    return f"{RQ_DASHBOARD_PREFIX}/0/view/jobs/{queue_name}/queued/20/asc/1"


@bp.before_request
def _protect():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.endpoint not in ("staff.login", "staff.logout") and not load_staff():
            # The session ended while a form was open: the CSRF token went with it. Say so plainly and
            # send them back to the form's page after logging in (staff.js keeps what was typed).
            back = _safe_next(urlsplit(request.referrer or "").path or None, url_for("staff.intakes"))
            return redirect(url_for("staff.login", next=back, expired=1))
        csrf.protect()
    return None


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    return render_template("error.html", title="Form expired",
                           message="This form expired or did not come from this site. Go back, reload and try again.",
                           code=400), 400


@bp.context_processor
def _globals():
    from webhooks.desk import nav_counts

    return {"staff": g.get("staff"), "clinic": g.get("clinic"), "rq_dashboard": rq_jobs_url(runtime().config.queue_name),
            "locked_logins": _locked_logins(),
            **(nav_counts() if g.get("staff") else {})}


def _locked_logins() -> list[tuple[str, str]]:
    """The clinic's staff usernames locked after failed logins, with when the lock ends (clinic time)."""
    guard, clinic_id = throttle(), g.get("clinic_id")
    if guard is None or clinic_id is None or g.get("staff") is None:
        return []
    clinic = db().get(Clinic, clinic_id)
    users = db().scalars(select(StaffUser.username).where(StaffUser.clinic_id == clinic_id)
                         .order_by(StaffUser.username)).all()
    locked = [(name, guard.locked_until(name)) for name in users]
    return [(name, until.astimezone(zone(clinic.timezone)).strftime("%H:%M")) for name, until in locked if until]


def _security_headers(response):
    """Staff pages run no inline script or style, are never framed, and leak no URL to other sites."""
    if not request.path.startswith(bp.url_prefix or "/staff"):
        return response
    # RQ's dashboard ships inline scripts, so its CSP can only forbid framing; the rest still applies.
    dashboard = request.path.startswith(RQ_DASHBOARD_PREFIX)
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'" if dashboard else STAFF_CSP)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _clinic() -> Clinic:
    g.clinic = db().get(Clinic, g.clinic_id)
    return g.clinic


def _plan(plan_id: int) -> Plan:
    plan = db().scalar(select(Plan).where(Plan.id == plan_id, Plan.clinic_id == g.clinic_id))
    if plan is None:
        abort(404)
    return plan


def _message(message_id: int) -> OutboxMessage:
    message = db().scalar(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                      OutboxMessage.clinic_id == g.clinic_id))
    if message is None:
        abort(404)
    return message


def _viewed(what: str, ids: list[int], plan_id: int | None = None) -> None:
    """Audit one staff view of clients' details (which page, which intakes) and commit it."""
    audit.record_view(db(), clinic_id=g.clinic_id, actor=g.actor, now=runtime().clock.now(), what=what, ids=ids,
                      plan_id=plan_id)
    db().commit()


def _safe_next(target: str | None, default: str) -> str:
    # Only paths on this site: an absolute URL in ?next= would make the login an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and sign a staff user in."""
    error = None
    if request.method == "POST":
        username, guard = request.form.get("username", "").strip(), throttle()
        # Checked before the password: while a lock lasts even the right password is refused,
        # so a guesser learns nothing from the answer.
        refusal = guard.check_login(username, client_address()) if guard is not None else None
        if refusal is not None:
            minutes = max(1, round(refusal.retry_after / 60))
            log.warning("staff login refused: %s", refusal.reason)
            page = render_template("login.html", error=f"Too many failed attempts. Try again in about "
                                                       f"{minutes} minute{'s' if minutes != 1 else ''}.")
            return page, 429, {"Retry-After": str(refusal.retry_after)}
        user = check_login(username, request.form.get("password", ""))
        if user is not None:
            log_in(user)
            return redirect(_safe_next(request.args.get("next"), url_for("staff.intakes")))
        if guard is not None:
            guard.login_failed(username, client_address())
        error = "That username and password do not match."
    return render_template("login.html", error=error, expired=request.args.get("expired") == "1"), (401 if error else 200)


@bp.post("/logout")
def logout():
    """Sign the staff user out."""
    log_out()
    flash("You are logged out.")
    return redirect(url_for("staff.login"))


@bp.get("/")
@login_required
def intakes():
    """Intakes waiting for a plan, with their screening flags."""
    clinic = _clinic()
    waiting = db().scalars(select(Intake).where(Intake.clinic_id == clinic.id, Intake.status.in_(PLANNABLE))
                           .order_by(Intake.completed_at, Intake.id)).all()
    plans = db().scalars(select(Plan).where(Plan.clinic_id == clinic.id).order_by(Plan.id.desc()).limit(20)).all()
    _viewed("intakes", [i.id for i in waiting])
    consents = {i.id: compliance.state_of(db(), i.client, clinic) for i in waiting}
    names = first_names(db(), clinic.id, {i.client_id for i in waiting} | {p.client_id for p in plans})
    return render_template("intakes.html", waiting=waiting, plans=plans, concern=intake_concern, tz=zone(clinic.timezone),
                           names=names, consents=consents)


def _form_values(intake: Intake) -> dict:
    concern = intake_concern(intake)
    try:
        default = runtime().catalog.for_condition(concern).id if concern else ""
    except NotFound:
        default = ""
    form = request.form if request.method == "POST" else {}
    return {"protocol": form.get("protocol", default), "date": form.get("date", ""), "time": form.get("time", "10:00"),
            "sessions": form.get("sessions", ""), "interval_weeks": form.get("interval_weeks", "")}


def _number(raw: str | None, field: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{field.replace('_', ' ')}: enter a whole number", field=field) from None


def _first_session(values: dict, clinic: Clinic):
    if not values.get("date"):
        raise ValidationError("choose the date of the first session", field="first_session_at")
    return parse_local_datetime(f"{values['date']} {values.get('time') or ''}", tz=clinic.timezone,
                                now=runtime().clock.now())


@bp.route("/intakes/<int:intake_id>/plan", methods=["GET", "POST"])
@login_required
def new_plan(intake_id: int):
    """The start-a-plan form for one intake, and starting it."""
    clinic = _clinic()
    try:
        intake = find_intake(db(), clinic.id, intake_id)
    except NotFound:
        abort(404)
    values, error = _form_values(intake), None
    if request.method == "GET":
        _viewed("intake", [intake.id])
    if request.method == "POST":
        try:
            plan = start_plan(db(), runtime(), clinic=clinic, intake_id=intake.id,
                              protocol_id=values["protocol"] or None, first_session_at=_first_session(values, clinic),
                              sessions=_number(values["sessions"], "sessions"),
                              interval_weeks=_number(values["interval_weeks"], "interval_weeks"),
                              actor=g.actor, now=runtime().clock.now())
            db().commit()
        except GlowlineError as exc:
            db().rollback()
            error = exc
        else:
            flash(f"Plan {plan.id} started. {client_gets(plan)}")
            return redirect(url_for("staff.show_plan", plan_id=plan.id))
    return render_template("plan_form.html", intake=intake, values=values, error=error,
                           protocols=list(runtime().catalog), concern=intake_concern(intake),
                           planned=intake.status not in PLANNABLE,
                           consent=compliance.state_of(db(), intake.client, clinic),
                           clinic_tz=zone(clinic.timezone), tz=zone(clinic.timezone),
                           photos=intake_photos(db(), clinic.id, intake.id), photo_status=status_words,
                           ), (400 if error else 200)


@bp.post("/intakes/<int:intake_id>/consent-request")
@login_required
def consent_request(intake_id: int):
    """Text the client the one consent request (YES/NO), recorded with its exact words."""
    clinic = _clinic()
    try:
        intake = find_intake(db(), clinic.id, intake_id)
    except NotFound:
        abort(404)
    try:
        row = compliance.request_consent(db(), client=intake.client, clinic=clinic, actor=g.actor,
                                         now=runtime().clock.now())
        runtime().dispatcher.schedule(db(), [row])
        db().commit()
    except Conflict as exc:
        db().rollback()
        flash(f"No consent request sent: {exc}.", "error")
    else:
        flash("Consent request texted. When the client replies YES you can start the plan.")
    return redirect(url_for("staff.new_plan", intake_id=intake.id))


@bp.post("/preview")
@login_required
def preview():
    """The live preview: the timeline the form would create, drawn, without saving anything."""
    clinic = _clinic()
    body = request.get_json(silent=True) or {}
    try:
        intake = find_intake(db(), clinic.id, int(body.get("intake_id") or 0))
        protocol = runtime().catalog.get(body.get("protocol") or "")
        tz = clinic.zone_for(intake.client)
        settings = MessageSettings.from_clinic(clinic, links=runtime().links)
        timeline = build_timeline(protocol, _first_session(body, clinic), settings,
                                  sessions=_number(str(body.get("sessions") or ""), "sessions"),
                                  interval_weeks=_number(str(body.get("interval_weeks") or ""), "interval_weeks"),
                                  channel=intake.client.preferred_channel.value, client_timezone=tz,
                                  locale=intake.client.locale)
    except (GlowlineError, ValueError) as exc:
        return jsonify(error=str(exc), field=getattr(exc, "field", None)), 400
    local = zone(clinic.timezone)
    return jsonify(
        svg=render_svg(*from_timeline(timeline, tz), tz=tz, title=f"Preview: {protocol.name}"),
        sessions=[format_moment(s.starts_at.astimezone(local), year=True) for s in timeline.sessions],
        messages=len(timeline.messages) + 1, segments=sum(m.segments for m in timeline.messages),
        # Which rule set each aftercare's time (evening limit, quiet hours), so staff see why.
        aftercare=[{"session": m.session_number, "when": format_moment(m.due_at.astimezone(zone(tz))), "rule": m.rule}
                   for m in timeline.messages if m.kind == "aftercare"])


@bp.get("/plans/<int:plan_id>")
@login_required
def show_plan(plan_id: int):
    """One plan: its timeline picture, messages and history."""
    clinic = _clinic()
    plan = _plan(plan_id)
    messages = plan_messages(plan)
    tz = client_zone(plan)
    protocol = runtime().catalog.get(plan.protocol_id)
    muted = ("cancelled" if plan.status is PlanStatus.CANCELLED
             else "paused: the client opted out" if plan.client.opted_out else None)
    svg = render_svg(*from_plan(plan, messages, protocol.aftercare_hours, tz), tz=tz,
                     title=f"Plan {plan.id} timeline: {protocol.name}", muted=muted)
    events = audit.events_for_plan(db(), clinic.id, plan.id)
    rows = [message_json(m, tz) for m in messages]
    _viewed("plan", [plan.intake_id] if plan.intake_id else [], plan_id=plan.id)
    return render_template("plan.html", plan=plan, protocol=protocol, rows=rows, svg=svg, events=events,
                           describe=audit.describe, tz=zone(tz), clinic_tz=zone(clinic.timezone),
                           client_name=first_name(db(), clinic.id, plan.client_id), now=runtime().clock.now(),
                           consent=compliance.state_of(db(), plan.client, clinic), paused=paused_reason(plan),
                           consent_history=compliance.history(db(), plan.client, clinic))


@bp.post("/plans/<int:plan_id>/cancel")
@login_required
def cancel(plan_id: int):
    """Cancel a plan and its pending messages."""
    plan = _plan(plan_id)
    if plan.status is PlanStatus.ACTIVE:
        cancel_plan(db(), plan, actor=g.actor, now=runtime().clock.now())
        db().commit()
        flash(f"Plan {plan.id} cancelled; its pending messages will not be sent.")
    return redirect(url_for("staff.show_plan", plan_id=plan.id))


@bp.post("/plans/<int:plan_id>/sessions/<int:number>/<action>")
@login_required
def session_action(plan_id: int, number: int, action: str):
    """Mark a visit attended or no-show, or keep a session the client asked to reschedule."""
    plan = _plan(plan_id)
    try:
        apply_session_action(db(), runtime(), plan, number, action, actor=g.actor)
        db().commit()
        flash(f"Session {number}: {SESSION_ACTION_DONE[action]}.")
    except (Conflict, NotFound, ValidationError) as exc:
        db().rollback()
        flash(f"Session {number}: {exc}", "error")
    return redirect(url_for("staff.show_plan", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>/sessions/<int:number>/move")
@login_required
def move(plan_id: int, number: int):
    """Move a session to a local date and time (optionally shifting later ones); spacing breaks need a tick."""
    plan = _plan(plan_id)
    rt = runtime()
    try:
        when = parse_local_datetime(request.form.get("starts_at", "").replace("T", " "),
                                    tz=plan.clinic.timezone, now=rt.clock.now())
        move_session(db(), plan, number, when, shift_later=bool(request.form.get("shift_later")), actor=g.actor,
                     now=rt.clock.now(), catalog=rt.catalog, links=rt.links, dispatcher=rt.dispatcher,
                     confirm=bool(request.form.get("confirm")))
        db().commit()
        flash(f"Session {number} moved; the client gets one text with the new time.")
    except (Conflict, NotFound, ValidationError) as exc:
        db().rollback()
        hint = " Tick \"move anyway\" to confirm." if isinstance(exc, NeedsConfirmation) else ""
        flash(f"Session {number} not moved: {exc}{hint}", "error")
    return redirect(url_for("staff.show_plan", plan_id=plan_id))


SESSION_ACTION_DONE = {"attended": "marked attended", "no-show": "marked no-show; the client was offered to rebook",
                       "release": "keeps its time; its reminders will go out"}


@bp.route("/hours", methods=["GET", "POST"])
@login_required
def hours():
    """Opening hours, closed dates and capacity: with them set, clients rebook themselves by text."""
    clinic = _clinic()
    values = describe_calendar(db(), clinic)
    values["require_attended"] = clinic.require_attended
    if request.method == "POST":
        form = request.form
        values = {"hours": form.get("hours", ""), "capacity": form.get("capacity", ""),
                  "closed": form.get("closed", "").split(), "require_attended": bool(form.get("require_attended"))}
        try:
            if not values["hours"].strip():
                set_calendar(db(), clinic, clear=True)
            else:
                set_calendar(db(), clinic, hours=values["hours"], capacity=_number(values["capacity"], "capacity"))
            set_calendar(db(), clinic, closed=values["closed"])
            clinic.require_attended = values["require_attended"]
            db().commit()
            flash("Opening hours saved." if clinic.capacity else
                  "Saved. Without opening hours and a capacity, staff call back when a client replies R.")
            return redirect(url_for("staff.hours"))
        except ValidationError as exc:
            db().rollback()
            flash(str(exc), "error")
    return render_template("hours.html", values=values)


@bp.get("/opt-outs")
@login_required
def opt_outs():
    """The clinic's clients who opted out: since when, and by what word or error."""
    clinic = _clinic()
    region = clinic_region(clinic)
    rows = [{"client": c, "phone": for_people(c.phone, region), "state": compliance.state_of(db(), c, clinic)}
            for c in opted_out_clients(clinic.id)]
    return render_template("opt_outs.html", rows=rows, tz=zone(clinic.timezone))


@bp.get("/queue")
@login_required
def queue():
    """The queue staff watch: due soon, in flight, done today, failed."""
    clinic = _clinic()
    hours = min(max(request.args.get("hours", 6, type=int) or 6, 1), 72)
    section = request.args.get("section")
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    state = queue_state(clinic, runtime().clock.now(), hours=hours, page=page, section=section)
    template = "queue_live.html" if request.args.get("partial") else "queue.html"
    return render_template(template, state=state, hours=hours, section=section, page=page,
                           refresh=current_refresh_seconds(), tz=zone(clinic.timezone))


def current_refresh_seconds() -> int:
    """How often the queue page reloads its numbers."""
    return int(current_app.config["STAFF_QUEUE_REFRESH_SECONDS"])


def _message_action(message_id: int, action, done: str):
    message = _message(message_id)
    try:
        action(message)
        db().commit()
        flash(f"Message {message.id} {done}.")
    except (Conflict, ValidationError) as exc:
        db().rollback()
        flash(f"Message {message.id}: {exc}", "error")
    return redirect(_safe_next(request.form.get("next"), url_for("staff.queue")))


@bp.post("/messages/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    """Retry one failed, undelivered or skipped message."""
    return _message_action(message_id, lambda m: retry_message(db(), runtime(), m, actor=g.actor,
                                                               now=runtime().clock.now()), "will be sent again now")


@bp.post("/messages/<int:message_id>/cancel")
@login_required
def cancel_one(message_id: int):
    """Cancel one pending or queued message."""
    return _message_action(message_id, lambda m: cancel_message(db(), m, actor=g.actor, now=runtime().clock.now()),
                           "cancelled")


@bp.app_template_filter("local")
def _local(value, tz) -> str:
    """A UTC time as "Thu Dec 3, 10:00 AM" in ``tz``."""
    if value is None:
        return ""
    if isinstance(value, str):
        from datetime import datetime

        value = datetime.fromisoformat(value)
    return format_moment(value.astimezone(tz))


@bp.app_template_filter("ago")
def _ago(value) -> str:
    """How far ``value`` (an ISO string or datetime) is from now, in words people read: "in 3 days"."""
    from datetime import datetime

    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return relative(when - runtime().clock.now())


def relative(delta: timedelta) -> str:
    """A time difference in the largest unit that keeps it readable: "5 min ago", "in 3 h", "in 3 days"."""
    seconds = delta.total_seconds()
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "now"
    if minutes < 120:
        words = f"{minutes} min"
    elif minutes < 48 * 60:
        words = f"{minutes // 60} h"
    elif minutes < 21 * 24 * 60:
        words = f"{minutes // (24 * 60)} days"
    else:
        words = f"{minutes // (7 * 24 * 60)} weeks"
    return f"in {words}" if seconds > 0 else f"{words} ago"


from webhooks import desk as _desk  # noqa: E402,F401  (adds the front-desk routes to this blueprint)
from webhooks import results as _results  # noqa: E402,F401  (adds the results page to this blueprint)
from webhooks import desk_photos as _desk_photos  # noqa: E402,F401  (adds the photo routes to this blueprint)
from webhooks import staff_settings as _staff_settings  # noqa: E402,F401  (adds the sending settings page)
