"""Helpers shared by the test modules: the test's numbers and credentials, rows to arrange, signed posts.

Test modules import from here (and from ``tests.worker_helpers`` to run jobs), never from one
another, so a test module can be moved, split or deleted without breaking its neighbours.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from glowline.store.models import (Channel, Client, Clinic, ClinicNumber, InboundMessage, Intake, IntakeStatus,
                                   MessageKind, MessageStatus, OutboxMessage, Plan, StaffPhone)

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://clinic.example.test"
CLINIC_NUMBER = "+12125550100"
STAFF_NUMBER = "+12125550199"
CLIENT_NUMBER = "+12125550111"
CLIENT_PHONE = "+12125550142"  # the client of the staff-surface tests' intakes
PASSWORD = "correct horse battery"  # the staff users' password

# The verbs and nouns a <Response> may hold, as Twilio's voice TwiML classes emit them.
TWILIO_VOICE_TAGS = {"Response", "Say", "Gather", "Hangup", "Redirect", "Pause", "Play", "Dial", "Record"}


def make_clinic(db, *, name="Glow Clinic", number=CLINIC_NUMBER, staff=(STAFF_NUMBER,),
                tz="America/New_York", contact="+12125550123") -> Clinic:
    """Create and commit a clinic with one Twilio number and its staff phones."""
    clinic = Clinic(name=name, timezone=tz, contact_phone=contact, quiet_start=time(20, 0),
                    quiet_end=time(8, 0), reminder_offsets_hours=[48, 2], session_minutes=60, templates={})
    clinic.numbers.append(ClinicNumber(number=number))
    for phone in staff:
        clinic.staff_phones.append(StaffPhone(number=phone))
    db.add(clinic)
    db.commit()
    return clinic


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """Compute X-Twilio-Signature the way Twilio does."""
    return RequestValidator(token).compute_signature(url, params)


def twilio_post(client, path: str, params: dict, *, token: str = AUTH_TOKEN, signature: str | None = None):
    """POST a form to ``path`` signed like Twilio signs it for PUBLIC_BASE_URL (with our AccountSid, as Twilio does)."""
    params = {"AccountSid": ACCOUNT_SID, **{k: str(v) for k, v in params.items()}}
    sig = signature if signature is not None else sign(PUBLIC_BASE_URL + path, params, token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def make_plan(db, runtime, clinic, clock, *, phone: str, channel=None, days: int = 7, schedule: bool = False,
              protocol: str = "acne-scarring"):
    """Commit a client and an acne-scarring plan whose first session is ``days`` from the clock."""
    from glowline.plans.service import create_plan

    person = Client(clinic_id=clinic.id, phone=phone, preferred_channel=channel or Channel.SMS)
    db.add(person)
    db.flush()
    give_consent(db, person, clinic, now=clock.now())
    plan = create_plan(db, clinic=clinic, client=person, protocol=runtime.catalog.get(protocol),
                       catalog_version=runtime.catalog.version, first_session_at=clock.now() + timedelta(days=days),
                       actor="test", now=clock.now(), links=runtime.links,
                       dispatcher=runtime.dispatcher if schedule else None)
    db.commit()
    return plan


def make_client(db, phone=CLIENT_NUMBER, clinic=None, **kwargs) -> Client:
    """A committed client row of ``clinic`` (by default the first clinic)."""
    owner = clinic or db.scalars(select(Clinic).order_by(Clinic.id)).first()
    client = Client(clinic_id=owner.id, phone=phone, **kwargs)
    db.add(client)
    db.commit()
    return client


def make_message(db, clinic, client, *, due_at, body="Glow Clinic: see you soon. Call +12125550123.",
                 kind=MessageKind.CLIENT_NOTICE, not_after=None, channel=Channel.SMS, to=None) -> OutboxMessage:
    """A committed pending outbox row, as the plan service would write it."""
    row = OutboxMessage(clinic_id=clinic.id, client_id=client.id if client else None, kind=kind, channel=channel,
                        to_number=to or client.phone, from_number=CLINIC_NUMBER, body=body, due_at=due_at,
                        not_after=not_after, status=MessageStatus.PENDING)
    db.add(row)
    db.commit()
    return row


def schedule(runtime, db, rows) -> None:
    """What every writer does: schedule, then commit (the enqueue waits for the commit).

    A fresh session per call, like a web request or a job: the test's long-lived ``db``
    session would only run its first commit's callbacks (see glowline.store.db.on_commit).
    """
    db.commit()
    with runtime.transaction() as session:
        runtime.dispatcher.schedule(session, [session.get(OutboxMessage, r.id) for r in rows])


def fresh(db, row) -> OutboxMessage:
    """The outbox row as the database has it now, not as the session remembers it."""
    db.expire_all()
    return db.get(OutboxMessage, row.id)


def start_plan(runtime, db, clinic, person, clock, *, days=9, **kwargs) -> Plan:
    """Start a plan through the plan service, scheduled by the real dispatcher, and commit."""
    from glowline.plans.service import create_plan

    first = clock.now() + (days if isinstance(days, timedelta) else timedelta(days=days))
    give_consent(db, person, clinic)
    plan = create_plan(db, clinic=clinic, client=person, protocol=runtime.catalog.get("skin-rejuvenation"),
                       catalog_version=runtime.catalog.version, first_session_at=first, actor="staff:test",
                       now=clock.now(), links=runtime.links, dispatcher=runtime.dispatcher, **kwargs)
    db.commit()
    return plan


def make_intake(db, clinic, *, phone: str = CLIENT_PHONE, concern: str | None = "acne scars",
                status: IntakeStatus = IntakeStatus.COMPLETE, flags: list | None = None,
                consent: bool = True) -> Intake:
    """Commit a finished intake for ``clinic`` from the client at ``phone`` (who consented, unless told not)."""
    client = db.query(Client).filter_by(clinic_id=clinic.id, phone=phone).one_or_none()
    if client is None:
        client = Client(clinic_id=clinic.id, phone=phone)
        db.add(client)
    answers = {"name": "Dana", "concern": concern} if concern else {"name": "Dana"}
    intake = Intake(clinic_id=clinic.id, client=client, status=status, answers=answers, flags=flags or [],
                    completed_at=datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc))
    db.add(intake)
    if consent:
        give_consent(db, client, clinic)
    db.commit()
    return intake


def give_consent(db, client, clinic, *, now=None) -> None:
    """Record the client's consent to this clinic's automated messages, as a finished intake would."""
    from glowline.compliance.consent import record_intake_consent

    db.flush()
    record_intake_consent(db, client=client, clinic=clinic, wording="May Glow Clinic send you automated texts?",
                          channel="sms", now=now or datetime(2026, 11, 1, tzinfo=timezone.utc))


def in_redis(runtime, message_id: int) -> bool:
    """True when the outbox row has a send job in RQ (queued now or scheduled for later)."""
    from rq.registry import ScheduledJobRegistry

    ids = list(runtime.queue.job_ids) + ScheduledJobRegistry(queue=runtime.queue).get_job_ids()
    return any(i == f"outbox-{message_id}" or i.startswith(f"outbox-{message_id}-") for i in ids)


def parse_twiml(response) -> ET.Element:
    """Parse a webhook's answer as TwiML: XML content type, a <Response> root, only Twilio's verbs."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    text = response.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')  # what VoiceResponse writes
    root = ET.fromstring(text)
    assert root.tag == "Response"
    tags = {el.tag for el in root.iter()}
    assert tags <= TWILIO_VOICE_TAGS, tags - TWILIO_VOICE_TAGS
    return root


def said(root: ET.Element) -> str:
    """Everything the call says, in order, as one string."""
    return " ".join((el.text or "") for el in root.iter("Say"))


def gather_of(root: ET.Element) -> ET.Element | None:
    """The call's <Gather>, if it asks for an answer."""
    return root.find("Gather")


def csrf(html: str) -> str:
    """The CSRF token a staff page's form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def make_batch(db, clinic, count: int, *, due_at, first_phone: int = 2125560000) -> list[OutboxMessage]:
    """``count`` committed pending SMS rows, one client each (numbers counting up from +1 ``first_phone``), one commit."""
    clients = [Client(clinic_id=clinic.id, phone=f"+1{first_phone + n}") for n in range(count)]
    db.add_all(clients)
    db.flush()
    rows = [OutboxMessage(clinic_id=clinic.id, client_id=c.id, kind=MessageKind.CLIENT_NOTICE, channel=Channel.SMS,
                          to_number=c.phone, from_number=CLINIC_NUMBER, body="Glow Clinic: see you soon.",
                          due_at=due_at, status=MessageStatus.PENDING) for c in clients]
    db.add_all(rows)
    db.commit()
    return rows


@contextmanager
def postgres_refusing(database_url: str):
    """PostgreSQL down for the app: its database refuses new connections and every open one is terminated."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
# -- photos by MMS (issue 18) ------------------------------------------------------------------

def photo_bytes(fmt: str = "JPEG", *, size=(640, 480), location: bool = True) -> bytes:
    """A photo as a phone sends it: JPEG, PNG, WEBP or HEIF, with an EXIF GPS location unless told not."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (180, 120, 90))
    for x in range(0, size[0], 7):  # some detail, so the encoders have something to keep
        image.putpixel((x, (x * 3) % size[1]), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if location:
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N", 2: (40.0, 46.0, 30.0), 3: "W", 4: (73.0, 58.0, 12.0)})
    out = io.BytesIO()
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def media_sid(n: int) -> str:
    """A Twilio media SID (ME + 32 hex) numbered ``n``."""
    return f"ME{n:032x}"


def send_mms(client, fake_twilio, files: list[tuple[bytes, str]], *, body: str = "", sender: str = CLIENT_NUMBER,
             to: str = CLINIC_NUMBER, sid: str | None = None, **extra):
    """A signed inbound MMS whose media the Twilio double holds; returns (response, MessageSid, media SIDs)."""
    import uuid

    message_sid = sid or "MM" + uuid.uuid4().hex
    params = {"MessageSid": message_sid, "From": sender, "To": to, "Body": body, "NumMedia": len(files), **extra}
    sids = []
    for n, (data, content_type) in enumerate(files):
        me = "ME" + uuid.uuid4().hex
        sids.append(me)
        params[f"MediaUrl{n}"] = fake_twilio.add_media(message_sid, me, data, content_type)
        params[f"MediaContentType{n}"] = content_type
    return twilio_post(client, "/twilio/sms", params), message_sid, sids


def log_in_staff(client, db, clinic, username: str):
    """Add a staff user of ``clinic`` and log ``client`` in as them."""
    from glowline.clinics.service import add_staff_user

    add_staff_user(db, clinic, username, PASSWORD)
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302
    return client


@contextmanager
def table_gone(database_url: str, table: str):
    """Make ``table`` unavailable to the app (renamed away), then put it back."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
        engine.dispose()


@contextmanager
def sqlite_locked(database_url: str):
    """Another connection holds the SQLite file's write lock (BEGIN EXCLUSIVE) until the block ends."""
    import sqlite3

    from sqlalchemy.engine import make_url

    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def database_down(database_url: str):
    """The database cannot take writes: SQLite locked by another connection, PostgreSQL refusing connections."""
    with (sqlite_locked if database_url.startswith("sqlite") else postgres_refusing)(database_url):
        yield


def person(db, clinic, phone: str, name: str, *, text: str | None = None, at: datetime | None = None) -> Client:
    """Commit a client of ``clinic`` with a finished intake naming them, and optionally one inbox text."""
    client = (db.scalar(select(Client).where(Client.clinic_id == clinic.id, Client.phone == phone))
              or Client(clinic_id=clinic.id, phone=phone))
    db.add(client)
    db.flush()
    db.add(Intake(clinic_id=clinic.id, client_id=client.id, status=IntakeStatus.COMPLETE,
                  answers={"first_name": name, "concern": "acne scars"}, flags=["screening: pregnant"],
                  completed_at=datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)))
    if text is not None:
        db.add(InboundMessage(sid=f"SM{client.id:032x}", clinic_id=clinic.id, client_id=client.id, from_number=phone,
                              body=text, handled_as="inbox", needs_attention=True,
                              received_at=at or datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)))
    db.commit()
    return client


def confirmation_already_sent(db, plan):
    """The client already has the plan confirmation (an unsent one is rewritten with the new date instead)."""
    row = db.scalar(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                OutboxMessage.kind == MessageKind.PLAN_CONFIRMATION))
    row.status = MessageStatus.SENT
    db.commit()
