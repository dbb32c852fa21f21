"""The store: SQLAlchemy models for clinics, clients, intakes, plans and the outbox."""

from __future__ import annotations

import enum
from typing import Any, ClassVar
from datetime import date, datetime, time, timezone

from sqlalchemy import (JSON, Boolean, false, Date, DateTime, Enum, Float, ForeignKey, Integer, String, Text, Time,
                        TypeDecorator, UniqueConstraint, Index)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


# Primary keys are INTEGER columns: 32-bit on PostgreSQL. A bigger id in a URL or body cannot be a
# row of ours and must be answered 404/400 before it reaches the database (which would raise).
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the database's only time zone)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, refuses naive input.

    SQLite has no time zones and PostgreSQL's ``timestamp`` would read a naive
    value as server-local; keeping UTC explicit on both avoids a silent
    one-hour shift on DST servers.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Aware datetime in, naive UTC to the database."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        """Naive UTC from the database, aware UTC out."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def _enum(cls):
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class Channel(str, enum.Enum):
    """How a message reaches a client."""
    SMS = "sms"
    VOICE = "voice"


class IntakeStatus(str, enum.Enum):
    """Where an intake stands."""
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    NEEDS_HUMAN = "needs_human"
    PLANNED = "planned"
    RESTARTED = "restarted"


class PlanStatus(str, enum.Enum):
    """Whether a plan still sends messages."""
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class SessionStatus(str, enum.Enum):
    """A treatment session's booking state."""
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CALLBACK_REQUESTED = "callback_requested"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class MessageStatus(str, enum.Enum):
    """An outbox row's delivery state; later states never go back."""
    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    # Waiting for a person: aftercare until staff mark the visit attended, or a session's
    # reminders after the client asked to reschedule. Never enqueued; released to pending.
    HELD = "held"
    # Came due while the client had opted out (or had no consent): not sent, and never sent late.
    SUPPRESSED = "suppressed"


TERMINAL_STATUSES = frozenset({MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED,
                               MessageStatus.CANCELLED, MessageStatus.SKIPPED, MessageStatus.SUPPRESSED})
OPEN_STATUSES = frozenset({MessageStatus.PENDING, MessageStatus.QUEUED})
# Still to go out, held or not: what a change to the plan cancels or re-stamps.
UNSENT_STATUSES = OPEN_STATUSES | {MessageStatus.HELD}


class MessageKind(str, enum.Enum):
    """What an outbox message is for."""
    REMINDER = "reminder"
    AFTERCARE = "aftercare"
    AFTERCARE_END = "aftercare_end"
    BOOKING_NUDGE = "booking_nudge"
    PLAN_CONFIRMATION = "plan_confirmation"
    STAFF_NOTICE = "staff_notice"
    CLIENT_NOTICE = "client_notice"
    SESSION_MOVED = "session_moved"
    MISSED_SESSION = "missed_session"
    CONSENT_REQUEST = "consent_request"
    STAFF_REPLY = "staff_reply"


class HandledAs(str, enum.Enum):
    """What an inbound text or call step turned out to be (stored on InboundMessage.handled_as as its value).

    A call step answered by a reminder choice stores that CallResult's value instead.
    """
    OPT_OUT = "opt_out"
    OPT_OUT_REPEAT = "opt_out_repeat"
    OPT_IN = "opt_in"
    HELP = "help"
    OPTED_OUT = "ignored_opted_out"
    STAFF = "staff_command"
    INTAKE = "intake"
    PLAN_REPLY = "plan_reply"
    # A client's R: staff see it in the inbox until someone calls or the client rebooks.
    RESCHEDULE = "reschedule_request"
    INBOX = "inbox"
    INTAKE_START = "intake_start"
    CONSENT = "consent_answer"
    STOP_QUESTION = "stop_question"
    OPT_OUT_QUESTION = "opt_out_question"
    LANGUAGE = "language"
    # A text that carried photos: they attach to the client; its caption is never an answer.
    PHOTO = "photo"
    ERROR = "error"
    # Calls: one row per step of a call (CallSid plus the step).
    CALL_STARTED = "call_started"
    INTAKE_RESUMED = "intake_resumed"
    INTAKE_STARTED = "intake_started"
    SESSION_LOOKUP = "session_lookup"
    SESSION_REASK = "session_reask"
    UNKNOWN_SESSION = "unknown_session"
    NO_OPEN_INTAKE = "no_open_intake"
    REMINDER_CALL = "reminder_call"
    REMINDER_MACHINE = "reminder_machine"
    REBOOK_OFFER = "rebook_offer"
    REBOOK_PICK = "rebook_pick"
    REMINDER_REASK = "reminder_reask"
    # A call step that arrived while the database was down, replayed from the spool for staff to follow up.
    CALL_OUTAGE = "call_outage"


class ConsentAction(str, enum.Enum):
    """What a consent record says happened (stored on ConsentEvent.action as its value)."""
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    DECLINED = "declined"
    REQUESTED = "requested"  # staff texted a consent request; the client's YES/NO follows


class Clinic(Base):
    """A clinic: its zone, quiet hours, reminder offsets, templates and voice settings."""
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    quiet_start: Mapped[time] = mapped_column(Time, default=time(20, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(8, 0))
    reminder_offsets_hours: Mapped[list] = mapped_column(JSON, default=lambda: [48, 2])
    session_minutes: Mapped[int] = mapped_column(Integer, default=60)
    templates: Mapped[dict] = mapped_column(JSON, default=dict)
    voice_retry_minutes: Mapped[int | None] = mapped_column(Integer)
    voice_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hold each session's aftercare until staff mark the visit attended (off: it goes out at the end).
    require_attended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many treatments at once; None until the clinic sets opening hours (then clients rebook by text).
    capacity: Mapped[int | None] = mapped_column(Integer)
    # Notices to staff phones wait for this window (clinic time): nobody wants a 2 am text.
    staff_hours_start: Mapped[time] = mapped_column(Time, default=time(8, 0), server_default="08:00:00")
    staff_hours_end: Mapped[time] = mapped_column(Time, default=time(20, 0), server_default="20:00:00")
    # Aftercare for a session ending in the evening goes out at its end up to this time (client local):
    # the first evening is when the restrictions matter.
    aftercare_evening_until: Mapped[time] = mapped_column(Time, default=time(21, 0), server_default="21:00:00")
    # A Twilio Messaging Service (MG + 32 hex): texts go out through its pool (A2P 10DLC), not a bare From.
    messaging_service_sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    # Photos are kept while the client has an active plan, then this many days.
    photo_retention_days: Mapped[int] = mapped_column(Integer, default=365, server_default="365")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    numbers: Mapped[list[ClinicNumber]] = relationship(back_populates="clinic", cascade="all, delete-orphan",
                                                         order_by="ClinicNumber.id")
    staff_phones: Mapped[list[StaffPhone]] = relationship(back_populates="clinic", cascade="all, delete-orphan",
                                                            order_by="StaffPhone.id")

    @property
    def sending_number(self) -> str:
        """The Twilio number the clinic's messages come from: its first one ("" with only a Messaging Service)."""
        return self.numbers[0].number if self.numbers else ""

    @property
    def callback_number(self) -> str:
        """The number clients are told to call: the contact phone, else the first Twilio number."""
        return self.contact_phone or self.sending_number

    def zone_for(self, client: Client | None) -> str:
        """The zone a client's times are told in: the client's own when known, else the clinic's."""
        return (client.timezone if client is not None else None) or self.timezone


class OpeningHours(Base):
    """One span a clinic is open on a weekday (0 = Monday), local wall-clock times; several spans make a split day."""

    __tablename__ = "opening_hours"
    __table_args__ = (UniqueConstraint("clinic_id", "weekday", "opens"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class ClinicClosure(Base):
    """A date the clinic is closed (a holiday), whatever its weekly hours say."""

    __tablename__ = "clinic_closures"
    __table_args__ = (UniqueConstraint("clinic_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(120))


class ClinicNumber(Base):
    """A Twilio number that belongs to a clinic; inbound ``To`` selects the clinic."""

    __tablename__ = "clinic_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)

    clinic: Mapped[Clinic] = relationship(back_populates="numbers")


class StaffPhone(Base):
    """A staff member's phone: gets intake notices and may start plans by SMS."""

    __tablename__ = "staff_phones"
    __table_args__ = (UniqueConstraint("clinic_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))

    clinic: Mapped[Clinic] = relationship(back_populates="staff_phones")


class StaffUser(Base):
    """A staff login for the staff pages; password stored hashed."""
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Client(Base):
    """A person texting or called by one clinic, keyed by (clinic, E.164 phone number).

    Two clinics on one installation are two businesses: each has its own row for the same
    number, so answers, consent, opt-out, language and channel are never shared.
    """

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("clinic_id", "phone", name="uq_clients_clinic_phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    # The client's own zone when it is not the clinic's: guessed from the number's area code at the
    # first text, then confirmed or corrected by the intake's zone question (timezone_confirmed_at).
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_confirmed_at: Mapped[datetime | None]
    # The catalogue locale the client reads and hears ("en", "es"); None until they choose or write.
    language: Mapped[str | None] = mapped_column(String(8))
    preferred_channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.SMS)
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def locale(self) -> str:
        """The catalogue locale of everything sent to the client: their language, else English."""
        return self.language or "en"

    @property
    def opted_out(self) -> bool:
        """True while the client has opted out of every message from their clinic."""
        return self.opted_out_at is not None


class ConsentEvent(Base):
    """The consent record: who, when, the exact words shown, how, and the scope."""

    __tablename__ = "consent_events"
    # The results figures count a clinic's opt-outs by time.
    __table_args__ = (Index("ix_consent_clinic_action_time", "clinic_id", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # a ConsentAction value
    wording: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(32))  # e.g. sms_keyword, sms_intake, voice_intake
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Intake(Base):
    """One client's answers to the intake questionnaire at one clinic."""
    __tablename__ = "intakes"
    # Every inbound answer looks up the client's open (or latest) intake at this clinic; with only
    # single-column indexes SQLite walked every intake of the clinic (3.8 ms at 1k, 14.8 at 50k).
    __table_args__ = (Index("ix_intakes_clinic_client_status", "clinic_id", "client_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    status: Mapped[IntakeStatus] = mapped_column(_enum(IntakeStatus), default=IntakeStatus.IN_PROGRESS, index=True)
    current_field: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    pending_confirmation: Mapped[dict | None] = mapped_column(JSON)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.SMS)
    schema_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    clinic: Mapped[Clinic] = relationship()
    client: Mapped[Client] = relationship()


class InboundMessage(Base):
    """Every inbound text or call step, once: the unique ``sid`` makes replays harmless.

    ``reply`` keeps the TwiML we answered with so a duplicate gets the same answer.
    """

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(80), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.SMS)
    from_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    handled_as: Mapped[str | None] = mapped_column(String(32))  # a HandledAs (or CallResult) value
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Twilio's speech-recognition confidence (0..1) for a spoken answer; None for keypad and texts.
    confidence: Mapped[float | None] = mapped_column(Float)
    # When and by whom staff marked an inbox text done (it leaves the inbox; the conversation keeps it).
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(120))


class Plan(Base):
    """A treatment plan; ``version`` is bumped on every change so stale jobs do nothing."""
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intakes.id", ondelete="SET NULL"), index=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocols_version: Mapped[str] = mapped_column(String(32))
    session_count: Mapped[int] = mapped_column(Integer)
    interval_weeks: Mapped[int] = mapped_column(Integer)
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.ACTIVE, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    clinic: Mapped[Clinic] = relationship()
    client: Mapped[Client] = relationship()
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="plan", order_by="TreatmentSession.number", cascade="all, delete-orphan")


class TreatmentSession(Base):
    """One session of a plan, stored in UTC."""
    __tablename__ = "treatment_sessions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),
                      # The results figures read sessions by start time.
                      Index("ix_sessions_starts_at", "starts_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus), default=SessionStatus.SCHEDULED)
    confirmed_at: Mapped[datetime | None]
    callback_requested_at: Mapped[datetime | None]
    # When staff marked the visit attended or no-show.
    attendance_at: Mapped[datetime | None]
    # The latest reminder call's outcome (confirmed, no_answer, busy, ...), for staff pages.
    call_result: Mapped[str | None] = mapped_column(String(32))
    call_result_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(back_populates="sessions")


class OutboxMessage(Base):
    """One message the pipeline owes someone: the database record of what is due.

    Redis only ever holds the next ``SCHEDULE_HORIZON_HOURS`` of these as jobs.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),
                      # The results figures: a clinic's messages by send time, a session's reminders,
                      # and a client's last text before an opt-out.
                      # Covering: cost, delivery, opt-out and nudge figures read these columns only
                      # (plan_id for the protocol filter, session_id for the nudge's session), so they
                      # never visit the table's rows.
                      Index("ix_outbox_clinic_sent", "clinic_id", "sent_at", "kind", "channel", "status", "segments",
                            "plan_id", "session_id"),
                      # Covering too: a session's first reminder's send time is the index's first entry.
                      Index("ix_outbox_session_kind_sent", "session_id", "kind", "sent_at"),
                      Index("ix_outbox_client_sent", "client_id", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id", ondelete="CASCADE"))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.SMS)
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    not_after: Mapped[datetime | None]
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[str | None] = mapped_column(String(32))
    enqueued_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # A later voice call owed because this one failed (no answer, busy, or an SMS to a landline).
    # Unique: a duplicate status callback can never create a second follow-up.
    retry_of_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"),
                                                    unique=True)
    # Which staff member or token wrote a staff reply (the audit actor); None for automated messages.
    sent_by: Mapped[str | None] = mapped_column(String(120))
    # SMS segments the body takes (what Twilio bills), counted when the row is written; None for calls.
    segments: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    clinic: Mapped[Clinic] = relationship()
    client: Mapped[Client | None] = relationship()
    plan: Mapped[Plan | None] = relationship()
    session: Mapped[TreatmentSession | None] = relationship()


class MessageEvent(Base):
    """The message log: each status a provider reported, once per (sid, status)."""

    __tablename__ = "message_events"
    __table_args__ = (UniqueConstraint("provider_sid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    provider_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """A staff action, who did it and when."""

    __tablename__ = "audit_events"
    # The results figures count a clinic's no-shows, holds and moves by time.
    __table_args__ = (Index("ix_audit_clinic_action_time", "clinic_id", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlotOfferStatus(str, enum.Enum):
    """Where a rebooking offer stands."""
    OPEN = "open"
    BOOKED = "booked"
    CALL_BACK = "call_back"
    REPLACED = "replaced"


class SlotOffer(Base):
    """Up to three times offered to a client for one session; the reply 1, 2, 3 or 0 answers the open one."""

    __tablename__ = "slot_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id", ondelete="CASCADE"))
    # ISO 8601 UTC starts, in the order offered (reply 1 is the first).
    slots: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[SlotOfferStatus] = mapped_column(_enum(SlotOfferStatus), default=SlotOfferStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


# Photo rows live in their own module (this one is past 400 lines); importing it here puts them in
# Base.metadata wherever the models are imported (Alembic, create_all).
from glowline.store import photo_rows  # noqa: E402, F401
