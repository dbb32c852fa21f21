"""Front-desk staff pages: clients and their conversation, the inbox, replies, today, session actions.

Routes live on the staff blueprint (same login, CSRF and templates); this module only adds them.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from glowline.clinics.clients import cards, find_client, first_name, search
from glowline.desk import inbox, sessions, today
from glowline.desk.conversation import conversation
from glowline.desk.replies import QuietHours, SendWhen, refusal, send_reply
from glowline.exceptions import Conflict, GlowlineError, NotFound, ValidationError
from glowline.phone import clinic_region, for_people
from glowline.photos.views import client_photos, status_words
from glowline.plans.replies import next_session
from glowline.plans.plan_text import parse_local_datetime
from glowline.plans.start import intake_concern
from glowline.plans.timeline import zone
from glowline.store.models import ConsentEvent, Intake, Plan, PlanStatus
from webhooks.context import db, runtime
from webhooks.staff import _clinic, _plan, _safe_next, _viewed, bp, login_required


@bp.get("/clients")
@login_required
def clients():
    """The client list, searched by first name or any part of a phone number."""
    clinic = _clinic()
    query = request.args.get("q", "")
    after = request.args.get("after", type=int)
    found, more = search(db(), clinic.id, query, after_id=after)
    _viewed("clients", [c.id for c in found])
    return render_template("clients.html", query=query, found=found, more=more,
                           next_after=found[-1].id if found and more else None)


def client_context(clinic, client) -> dict:
    """Everything the client page shows (and the API returns): who, consent, intakes, plans, conversation."""
    now = runtime().clock.now()
    intakes = list(db().scalars(select(Intake).where(Intake.clinic_id == clinic.id, Intake.client_id == client.id)
                                .order_by(Intake.id.desc())))
    plans = list(db().scalars(select(Plan).where(Plan.clinic_id == clinic.id, Plan.client_id == client.id)
                              .order_by(Plan.id.desc())))
    consents = list(db().scalars(select(ConsentEvent).where(
        ConsentEvent.client_id == client.id,
        (ConsentEvent.clinic_id == clinic.id) | ConsentEvent.clinic_id.is_(None) | (ConsentEvent.action == "opt_out"))
        .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc())))
    upcoming = next_session(db(), clinic=clinic, client=client, now=now)
    return {"client": client, "name": first_name(db(), clinic.id, client.id),
            "phone": for_people(client.phone, clinic_region(clinic)),
            "intakes": intakes, "plans": plans, "consents": consents, "upcoming": upcoming,
            "entries": conversation(db(), clinic.id, client, now), "refusal": refusal(client),
            "open_inbox": inbox.items(db(), clinic.id, client_id=client.id), "concern": intake_concern,
            "photos": client_photos(db(), clinic.id, client.id), "photo_status": status_words}


def _client_or_404(client_id: int):
    client = find_client(db(), g.clinic_id, client_id)
    if client is None:
        abort(404)
    return client


@bp.get("/clients/<int:client_id>")
@login_required
def show_client(client_id: int):
    """One client: who they are, consent, intake answers, plans, and the whole conversation."""
    clinic = _clinic()
    client = _client_or_404(client_id)
    context = client_context(clinic, client)
    _viewed("client", [client.id])
    return render_template("client.html", tz=zone(clinic.timezone), **context)


@bp.post("/clients/<int:client_id>/reply")
@login_required
def reply(client_id: int):
    """Text the client back through the outbox; in quiet hours ask whether to send in the morning."""
    clinic = _clinic()
    client = _client_or_404(client_id)
    body = request.form.get("body", "")
    back = _safe_next(request.form.get("next"), url_for("staff.show_client", client_id=client.id))
    try:
        when = SendWhen(request.form.get("when", "now"))
    except ValueError:
        when = SendWhen.NOW
    try:
        send_reply(db(), runtime(), clinic=clinic, client=client, body=body, actor=g.actor,
                   now=runtime().clock.now(), when=when)
        done = request.form.get("done", type=int)
        if done:
            inbox.mark_done(db(), clinic.id, done, actor=g.actor, now=runtime().clock.now())
        db().commit()
    except QuietHours as exc:
        db().rollback()
        return render_template("quiet_hours.html", client=client, name=first_name(db(), clinic.id, client.id),
                               body=body, reason=str(exc), back=back, done=request.form.get("done", "")), 409
    except (Conflict, ValidationError, NotFound) as exc:
        db().rollback()
        flash(f"Not sent: {exc}", "error")
        return redirect(back)
    flash("Reply queued: it is sent by a worker and its status shows in the conversation."
          if when is SendWhen.NOW else "Reply scheduled for when the client's quiet hours end.")
    return redirect(back)


@bp.get("/inbox")
@login_required
def inbox_page():
    """Texts that need a person, newest first, with reply and mark-done."""
    clinic = _clinic()
    items = inbox.items(db(), clinic.id)
    _viewed("inbox", [i.id for i in items])
    return render_template("inbox.html", items=items, tz=zone(clinic.timezone))


@bp.post("/inbox/<int:inbound_id>/done")
@login_required
def inbox_done(inbound_id: int):
    """Take one text out of the inbox."""
    clinic = _clinic()
    try:
        inbox.mark_done(db(), clinic.id, inbound_id, actor=g.actor, now=runtime().clock.now())
    except NotFound:
        abort(404)
    db().commit()
    flash("Marked done.")
    return redirect(_safe_next(request.form.get("next"), url_for("staff.inbox_page")))


def _day_arg(clinic) -> date:
    raw = request.args.get("date", "")
    try:
        return date.fromisoformat(raw) if raw else today.local_today(clinic, runtime().clock.now())
    except ValueError:
        return today.local_today(clinic, runtime().clock.now())


@bp.get("/today")
@login_required
def today_page():
    """The day view: every session on a day, confirmation and reminders; filter to not confirmed."""
    clinic = _clinic()
    on = _day_arg(clinic)
    not_confirmed = request.args.get("show") == "not_confirmed"
    rows = today.day(db(), clinic, on, not_confirmed=not_confirmed)
    _viewed("sessions", [r.client_id for r in rows])
    return render_template("today.html", rows=rows, on=on, not_confirmed=not_confirmed, tz=zone(clinic.timezone),
                           is_today=on == today.local_today(clinic, runtime().clock.now()))


@bp.get("/today.csv")
@login_required
def today_csv():
    """The day view as CSV."""
    clinic = _clinic()
    on = _day_arg(clinic)
    rows = today.day(db(), clinic, on, not_confirmed=request.args.get("show") == "not_confirmed")
    _viewed("sessions_csv", [r.client_id for r in rows])
    return Response(today.as_csv(rows, clinic), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="sessions-{on.isoformat()}.csv"'})


def _session_form(plan: Plan, number: int) -> dict:
    clinic = plan.clinic
    row = next((s for s in plan.sessions if s.number == number), None)
    if row is None:
        abort(404)
    local = row.starts_at.astimezone(zone(clinic.timezone))
    form = request.form
    return {"date": form.get("date", f"{local:%Y-%m-%d}"), "time": form.get("time", f"{local:%H:%M}"),
            # The hidden "0" before the checkbox says "unticked"; a ticked box adds a "1".
            "shift_later": form.get("shift_later") == "1",
            "notify": "1" in form.getlist("notify") if "notify" in form else True, "row": row}


@bp.route("/plans/<int:plan_id>/sessions/<int:number>/reschedule", methods=["GET", "POST"])
@login_required
def move_session_page(plan_id: int, number: int):
    """Move one session: pick a date and time, see what changes and what the client gets, then confirm."""
    clinic = _clinic()
    plan = _plan(plan_id)
    values = _session_form(plan, number)
    proposal, error = None, None
    if request.method == "POST":
        try:
            new_start = parse_local_datetime(f"{values['date']} {values['time']}", tz=clinic.timezone,
                                             now=runtime().clock.now())
            if request.form.get("confirm") == "1":
                sessions.move(db(), runtime(), plan, number, new_start, shift_later=values["shift_later"],
                              notify=values["notify"], actor=g.actor, now=runtime().clock.now())
                db().commit()
                flash(f"Session {number} moved." + (" The client is being texted the new time."
                                                    if values["notify"] and not plan.client.opted_out else ""))
                return redirect(url_for("staff.show_plan", plan_id=plan.id))
            proposal = sessions.propose_move(plan, number, new_start, shift_later=values["shift_later"],
                                             notify=values["notify"])
        except GlowlineError as exc:
            db().rollback()
            error = exc
    return render_template("session_move.html", plan=plan, number=number, values=values, proposal=proposal,
                           error=error, tz=zone(clinic.timezone),
                           name=first_name(db(), clinic.id, plan.client_id)), (400 if error else 200)


@bp.route("/plans/<int:plan_id>/sessions/<int:number>/cancel", methods=["GET", "POST"])
@login_required
def cancel_session_page(plan_id: int, number: int):
    """Cancel one session after a confirmation that says what the client gets."""
    clinic = _clinic()
    plan = _plan(plan_id)
    values = _session_form(plan, number)
    error, proposal = None, None
    try:
        proposal = sessions.propose_cancel(plan, number, notify=values["notify"])
        if request.method == "POST" and request.form.get("confirm") == "1":
            sessions.cancel(db(), runtime(), plan, number, notify=values["notify"], actor=g.actor,
                            now=runtime().clock.now())
            db().commit()
            flash(f"Session {number} cancelled.")
            return redirect(url_for("staff.show_plan", plan_id=plan.id))
    except GlowlineError as exc:
        db().rollback()
        error = exc
    return render_template("session_cancel.html", plan=plan, number=number, values=values, proposal=proposal,
                           error=error, tz=zone(clinic.timezone),
                           name=first_name(db(), clinic.id, plan.client_id)), (400 if error else 200)


@bp.get("/plans/<int:plan_id>/cancel")
@login_required
def confirm_cancel_plan(plan_id: int):
    """Ask before cancelling a whole plan."""
    _clinic()
    plan = _plan(plan_id)
    if plan.status is not PlanStatus.ACTIVE:
        return redirect(url_for("staff.show_plan", plan_id=plan.id))
    return render_template("plan_cancel.html", plan=plan, name=first_name(db(), g.clinic_id, plan.client_id))


def nav_counts() -> dict:
    """The inbox badge shown on every page."""
    if g.get("clinic_id") is None:
        return {}
    return {"inbox_count": inbox.count(db(), g.clinic_id)}


def client_cards(clients_):
    """List lines for a few clients (used by the intake list)."""
    return cards(db(), g.clinic_id, clients_)


def moment(value: datetime | None, tz) -> str:
    """A UTC time in the clinic's zone, for templates."""
    return "" if value is None else f"{value.astimezone(tz):%a %b %-d, %-I:%M %p}"
