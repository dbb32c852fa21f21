"""Clinics, their numbers, staff users and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from glowline.exceptions import Conflict, NotFound, ValidationError
from glowline.store.models import ApiToken, Clinic, ClinicNumber, StaffPhone, StaffUser
from glowline.phone import to_e164


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise ValidationError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"timezone: {name!r} is not an IANA time zone such as America/New_York",
                              field="timezone") from None
    return name


def parse_clock(value: str, field: str) -> time:
    """Parse ``HH:MM`` (24-hour) into a time, or raise ValidationError naming the field."""
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValidationError(f"{field}: expected HH:MM, got {value!r}", field=field) from None


# The strictest state rule the pipeline follows: nothing before 08:00 or after 20:00 in the
# client's zone. A clinic may be quieter (start earlier in the evening, end later in the
# morning), never louder.
LATEST_QUIET_START = time(20, 0)
EARLIEST_QUIET_END = time(8, 0)


def check_quiet_hours(start: time, end: time) -> None:
    """Refuse quiet hours that would let a text out after 20:00 or before 08:00."""
    if not time(12, 0) <= start <= LATEST_QUIET_START:
        raise ValidationError(f"quiet_start: must be between 12:00 and {LATEST_QUIET_START:%H:%M} "
                              f"(no texts after 8 pm), got {start:%H:%M}", field="quiet_start")
    if not EARLIEST_QUIET_END <= end <= time(12, 0):
        raise ValidationError(f"quiet_end: must be between {EARLIEST_QUIET_END:%H:%M} and 12:00 "
                              f"(no texts before 8 am), got {end:%H:%M}", field="quiet_end")


# A Twilio Messaging Service SID: MG and 32 hexadecimal digits.
MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")


def check_messaging_service(db: Session, sid: str, clinic: Clinic | None = None) -> str:
    """Return ``sid`` if it is a Messaging Service SID no other clinic uses, else raise."""
    sid = sid.strip()
    if not MESSAGING_SERVICE.fullmatch(sid):
        raise ValidationError("messaging_service: expected MG followed by 32 hexadecimal digits",
                              field="messaging_service")
    owner = db.scalar(select(Clinic.id).where(Clinic.messaging_service_sid == sid))
    if owner is not None and (clinic is None or owner != clinic.id):
        raise Conflict("messaging_service: this Messaging Service already belongs to another clinic")
    return sid


def set_messaging_service(db: Session, clinic: Clinic, sid: str | None) -> Clinic:
    """Send the clinic's texts through a Messaging Service (None or "" goes back to its numbers). Does not commit."""
    if not sid:
        if not clinic.numbers:
            raise ValidationError("messaging_service: a clinic without a number must keep its Messaging Service",
                                  field="messaging_service")
        clinic.messaging_service_sid = None
        return clinic
    clinic.messaging_service_sid = check_messaging_service(db, sid, clinic)
    return clinic


def set_photo_retention(clinic: Clinic, days: int) -> Clinic:
    """Keep the clinic's photos ``days`` after a client's last plan ends (30 to 3650). Does not commit."""
    if not 30 <= days <= 3650:
        raise ValidationError("photo_retention_days: between 30 and 3650 days", field="photo_retention_days")
    clinic.photo_retention_days = days
    return clinic


def clinic_for_service(db: Session, sid: str) -> Clinic | None:
    """The clinic whose Messaging Service is ``sid``, if any."""
    if not sid:
        return None
    return db.scalar(select(Clinic).where(Clinic.messaging_service_sid == sid))


def add_clinic(db: Session, *, name: str, numbers: list[str], staff: list[str], timezone: str,
               contact_phone: str | None = None, quiet_start: str = "20:00", quiet_end: str = "08:00",
               reminder_offsets_hours: list[int] | None = None, session_minutes: int = 60,
               messaging_service: str | None = None) -> Clinic:
    """Create a clinic; every number is checked and stored in E.164. Does not commit.

    A clinic with a Messaging Service may have no number of its own (texts go through the
    service's pool); it then needs a contact phone for clients to call.
    """
    if not name.strip() or len(name.strip()) > 120:
        raise ValidationError("name: a clinic needs a name of at most 120 characters", field="name")
    service = check_messaging_service(db, messaging_service) if messaging_service else None
    if not numbers and not service:
        raise ValidationError("number: a clinic needs at least one Twilio number or a Messaging Service",
                              field="number")
    if not numbers and not contact_phone:
        raise ValidationError("contact: a clinic with only a Messaging Service needs a contact phone",
                              field="contact")
    offsets = _offsets(reminder_offsets_hours or [48, 2])
    e164_numbers = [to_e164(n, field="number") for n in numbers]
    taken = db.scalars(select(ClinicNumber.number).where(ClinicNumber.number.in_(e164_numbers))).all()
    if taken:
        raise Conflict(f"number: {taken[0]} already belongs to a clinic")
    start, end = parse_clock(quiet_start, "quiet_start"), parse_clock(quiet_end, "quiet_end")
    check_quiet_hours(start, end)
    clinic = Clinic(
        name=name.strip(), timezone=check_timezone(timezone),
        contact_phone=to_e164(contact_phone, field="contact") if contact_phone else e164_numbers[0],
        quiet_start=start, quiet_end=end,
        reminder_offsets_hours=offsets, session_minutes=session_minutes, templates={},
        messaging_service_sid=service,
    )
    clinic.numbers = [ClinicNumber(number=n) for n in e164_numbers]
    clinic.staff_phones = [StaffPhone(number=to_e164(s, field="staff")) for s in dict.fromkeys(staff)]
    db.add(clinic)
    db.flush()
    return clinic


def _staff_hours(raw: str) -> tuple[time, time]:
    """"08:00-20:00" as (start, end); the window lies within one day."""
    start_raw, sep, end_raw = raw.partition("-")
    if not sep:
        raise ValidationError(f"staff_hours: expected HH:MM-HH:MM, got {raw!r}", field="staff_hours")
    start, end = parse_clock(start_raw.strip(), "staff_hours"), parse_clock(end_raw.strip(), "staff_hours")
    if start >= end:
        raise ValidationError("staff_hours: the start must be before the end", field="staff_hours")
    return start, end


def update_clinic(clinic: Clinic, *, quiet_start: str | None = None, quiet_end: str | None = None,
                  reminder_offsets_hours: list[int] | None = None, templates: dict[str, str] | None = None,
                  voice_fallback: bool | None = None, voice_retry_minutes: int | None = None,
                  clear_voice_retry: bool = False, staff_hours: str | None = None,
                  aftercare_until: str | None = None) -> Clinic:
    """Change a clinic's message settings; everything is checked before anything changes.

    New settings apply to plans started afterwards; messages already written keep the
    times and texts the client was shown.
    """
    from glowline.messages.templates import validate_templates

    start = parse_clock(quiet_start, "quiet_start") if quiet_start is not None else clinic.quiet_start
    end = parse_clock(quiet_end, "quiet_end") if quiet_end is not None else clinic.quiet_end
    check_quiet_hours(start, end)
    offsets = _offsets(reminder_offsets_hours) if reminder_offsets_hours is not None else None
    merged = {**(clinic.templates or {}), **(templates or {})}
    validate_templates(merged)
    window = _staff_hours(staff_hours) if staff_hours is not None else None
    until = parse_clock(aftercare_until, "aftercare_until") if aftercare_until is not None else None
    if until is not None and not time(20, 0) <= until <= time(22, 0):
        # The first evening matters, but nobody should get instructions in the middle of the night.
        raise ValidationError(f"aftercare_until: must be between 20:00 and 22:00, got {until:%H:%M}",
                              field="aftercare_until")
    if voice_retry_minutes is not None and not 5 <= voice_retry_minutes <= 24 * 60:
        raise ValidationError("voice retry: minutes must be between 5 and 1440", field="voice_retry_minutes")
    clinic.quiet_start, clinic.quiet_end, clinic.templates = start, end, merged
    if offsets is not None:
        clinic.reminder_offsets_hours = offsets
    if window is not None:
        clinic.staff_hours_start, clinic.staff_hours_end = window
    if until is not None:
        clinic.aftercare_evening_until = until
    if voice_fallback is not None:
        clinic.voice_fallback = voice_fallback
    if voice_retry_minutes is not None or clear_voice_retry:
        clinic.voice_retry_minutes = None if clear_voice_retry else voice_retry_minutes
    return clinic


def _offsets(hours: list[int]) -> list[int]:
    offsets = sorted(set(hours), reverse=True)
    if not offsets or any(h <= 0 or h > 24 * 14 for h in offsets):
        raise ValidationError("reminders: offsets are hours before the session, 1 to 336", field="reminders")
    return offsets


def get_clinic(db: Session, clinic_id: int) -> Clinic:
    """The clinic with this id, or NotFound."""
    clinic = db.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(f"clinic {clinic_id} not found")
    return clinic


def clinic_for_number(db: Session, number: str) -> Clinic | None:
    """The clinic that owns the Twilio number ``number`` (E.164), if any."""
    return db.scalar(select(Clinic).join(ClinicNumber).where(ClinicNumber.number == number))


def add_staff_user(db: Session, clinic: Clinic, username: str, password: str) -> StaffUser:
    """Create a staff login with a hashed password. Does not commit."""
    if not username.strip() or len(username) > 80:
        raise ValidationError("username: 1 to 80 characters", field="username")
    if len(password) < 10:
        raise ValidationError("password: use at least 10 characters", field="password")
    if db.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise Conflict(f"username: {username!r} is taken")
    user = StaffUser(clinic_id=clinic.id, username=username, password_hash=generate_password_hash(password))
    db.add(user)
    db.flush()
    return user


def hash_token(token: str) -> str:
    """The stored form of an API token: its SHA-256 (tokens are long and random, so no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(db: Session, clinic: Clinic, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and only its hash is stored."""
    if not name.strip() or len(name) > 80:
        raise ValidationError("name: say what the token is for, in at most 80 characters", field="name")
    plain = "glw_" + secrets.token_urlsafe(32)
    token = ApiToken(clinic_id=clinic.id, name=name, token_hash=hash_token(plain))
    db.add(token)
    db.flush()
    return token, plain
