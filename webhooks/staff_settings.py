"""The clinic's Twilio sending settings on the staff pages: its Messaging Service (US A2P 10DLC) and photo retention.

Routes live on the staff blueprint (same login and CSRF); the CLI's ``glowline clinic set
--messaging-service`` and ``--photo-retention-days`` change the same fields.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from glowline.clinics.service import set_messaging_service, set_photo_retention
from glowline.exceptions import GlowlineError, ValidationError
from glowline.phone import clinic_region, for_people
from webhooks.context import db
from webhooks.staff import _clinic, bp, login_required


@bp.route("/settings/sending", methods=["GET", "POST"])
@login_required
def sending_settings():
    """The Messaging Service texts go through, and how long photos are kept after the last plan."""
    clinic = _clinic()
    values = {"messaging_service": clinic.messaging_service_sid or "", "photo_retention_days": clinic.photo_retention_days}
    if request.method == "POST":
        values = {"messaging_service": request.form.get("messaging_service", "").strip(),
                  "photo_retention_days": request.form.get("photo_retention_days", "").strip()}
        try:
            raw_days = str(values["photo_retention_days"])
            if not raw_days.isdigit() or len(raw_days) > 5:
                raise ValidationError("photo_retention_days: a whole number of days", field="photo_retention_days")
            set_messaging_service(db(), clinic, values["messaging_service"] or None)
            set_photo_retention(clinic, int(raw_days))
            db().commit()
            flash("Sending settings saved.")
            return redirect(url_for("staff.sending_settings"))
        except GlowlineError as exc:
            db().rollback()
            flash(str(exc), "error")
    region = clinic_region(clinic)  # numbers as the clinic dials them, as on every other page
    return render_template("sending.html", values=values, numbers=[for_people(n.number, region) for n in clinic.numbers])
