"""Photo rows: each photo a client sent by MMS, where it stands, and the database blob store's table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from glowline.store.models import Base, _enum, utcnow


class PhotoStatus(str, enum.Enum):
    """Where one photo stands: waiting for its download, stored, refused, failed, or expired."""

    PENDING = "pending"
    STORED = "stored"
    REFUSED = "refused"  # not a photo we take (a PDF, a video) or larger than Twilio's 5 MB
    FAILED = "failed"  # the download kept failing: staff see it and may ask the client again
    EXPIRED = "expired"  # deleted by the retention job; the row stays as the record it existed


class Photo(Base):
    """One photo (one MediaUrlN of an inbound MMS) of one client; served to staff by its opaque ``public_id``."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, never the row id: a URL to a photo cannot be guessed from another.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intakes.id", ondelete="SET NULL"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    # Twilio's ids only: the download URL is rebuilt from them and TWILIO_API_BASE_URL, so the account's
    # credentials never go to a host named in a request.
    message_sid: Mapped[str] = mapped_column(String(34))
    media_sid: Mapped[str] = mapped_column(String(34), unique=True)
    declared_type: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[PhotoStatus] = mapped_column(_enum(PhotoStatus), default=PhotoStatus.PENDING, index=True)
    reason: Mapped[str | None] = mapped_column(String(32))  # a PhotoRefusal value, or why it failed
    last_error: Mapped[str | None] = mapped_column(Text)  # staff-facing, never the client's data
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the download job should run next: the reconciler re-enqueues a pending photo Redis lost.
    next_attempt_at: Mapped[datetime | None]
    content_type: Mapped[str | None] = mapped_column(String(32))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None]
    deleted_at_twilio: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]

    @property
    def image_key(self) -> str:
        """The key of the full image in the photo store."""
        return f"photos/{self.public_id}"

    @property
    def thumb_key(self) -> str:
        """The key of the thumbnail in the photo store."""
        return f"photos/{self.public_id}-thumb"


class PhotoBlob(Base):
    """The database photo store's table: one image's bytes under its key."""

    __tablename__ = "photo_blobs"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
