"""What a clinic decides about its messages: who it is, quiet hours, reminder offsets, its own texts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

from glowline.exceptions import ValidationError
from glowline.messages.links import PublicLinks
from glowline.phone import DEFAULT_REGION, clinic_region


@dataclass(frozen=True)
class MessageSettings:
    """What a clinic decides about its messages: who it is, quiet hours, reminder offsets, texts."""

    clinic_name: str
    clinic_phone: str
    timezone: str
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    reminder_offsets_hours: tuple[int, ...] = (48, 2)
    session_minutes: int = 60
    templates: Mapping[str, object] = field(default_factory=dict)  # key -> text, or {locale: text}
    aftercare_evening_until: time = time(21, 0)
    region: str = DEFAULT_REGION  # the clinic's country: its numbers are written as dialled there
    links: PublicLinks = field(default_factory=PublicLinks)  # where the aftercare page lives (Config's URL)

    @classmethod
    def from_clinic(cls, clinic, *, links: PublicLinks | None) -> MessageSettings:
        """Read the settings off a Clinic row; the call-back number falls back to its first Twilio number.

        ``links`` is required so that no text built for a real clinic links to the laptop default;
        None says the caller renders only texts that carry no link (a moved or cancelled session).
        """
        phone = clinic.contact_phone or (clinic.numbers and clinic.callback_number)
        if not phone:
            raise ValidationError(f"clinic {clinic.name!r} has no contact phone for its texts",
                                  field="contact_phone")
        return cls(
            clinic_name=clinic.name,
            clinic_phone=phone,
            timezone=clinic.timezone,
            quiet_start=clinic.quiet_start or time(20, 0),
            quiet_end=clinic.quiet_end or time(8, 0),
            reminder_offsets_hours=tuple(clinic.reminder_offsets_hours or (48, 2)),
            session_minutes=clinic.session_minutes or 60,
            templates=dict(clinic.templates or {}),
            aftercare_evening_until=getattr(clinic, "aftercare_evening_until", None) or time(21, 0),
            region=clinic_region(clinic),
            links=links or PublicLinks(),
        )
