"""The photo store: one small interface (put, get, delete by key) that every web and worker machine reaches.

The database is the default: no extra moving part, and it is backed up with everything
else. A bucket on any S3-compatible object store is used when ``PHOTO_S3_BUCKET`` is set,
through boto3 (the S3 ecosystem's own client, which speaks every S3-compatible server).
Never a local folder: a second web or worker machine could not see it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from glowline.clock import Clock
from glowline.config import Config
from glowline.exceptions import PhotoStoreError
from glowline.store.photo_rows import PhotoBlob

log = logging.getLogger(__name__)


class PhotoStore(Protocol):
    """Bytes under a key; ``get`` of a missing key raises PhotoStoreError, ``delete`` of one does nothing."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (replacing what was there)."""
        ...

    def get(self, key: str) -> tuple[bytes, str]:
        """The bytes and content type under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error (deleting twice is safe)."""
        ...


class DatabaseStore:
    """Photos as rows of ``photo_blobs``, each call in its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock):
        self.sessions = sessions
        self.clock = clock

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store or replace the blob under ``key``."""
        with self.sessions() as db:
            db.execute(delete(PhotoBlob).where(PhotoBlob.key == key))
            db.add(PhotoBlob(key=key, data=data, content_type=content_type, created_at=self.clock.now()))
            db.commit()

    def get(self, key: str) -> tuple[bytes, str]:
        """The blob's bytes and content type; PhotoStoreError when there is none."""
        with self.sessions() as db:
            row = db.execute(select(PhotoBlob.data, PhotoBlob.content_type).where(PhotoBlob.key == key)).first()
        if row is None:
            raise PhotoStoreError("no such photo in the store")
        return bytes(row.data), row.content_type

    def delete(self, key: str) -> None:
        """Remove the blob (nothing happens when it is already gone)."""
        with self.sessions() as db:
            db.execute(delete(PhotoBlob).where(PhotoBlob.key == key))
            db.commit()


class S3Store:
    """Photos as objects in one bucket of an S3-compatible store; the boto3 client is built on first use."""

    def __init__(self, config: Config):
        self.config = config
        self._client = None

    @property
    def client(self):
        """The boto3 S3 client, with the credentials from Config only (never boto3's own environment lookup)."""
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.config.photo_s3_endpoint_url, region_name=self.config.photo_s3_region,
                aws_access_key_id=self.config.photo_s3_access_key_id,
                aws_secret_access_key=self.config.photo_s3_secret_access_key,
                config=BotoConfig(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}))
        return self._client

    @property
    def bucket(self) -> str:
        """The configured bucket."""
        return self.config.photo_s3_bucket or ""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload ``data`` as the object ``key`` (server-side encrypted)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                   ServerSideEncryption="AES256")
        except (BotoCoreError, ClientError) as exc:
            raise PhotoStoreError(f"object store refused the photo ({type(exc).__name__})") from None

    def get(self, key: str) -> tuple[bytes, str]:
        """Download the object ``key``; PhotoStoreError when it is missing or the store fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            return answer["Body"].read(), answer.get("ContentType") or "application/octet-stream"
        except (BotoCoreError, ClientError) as exc:
            raise PhotoStoreError(f"object store could not return the photo ({type(exc).__name__})") from None

    def delete(self, key: str) -> None:
        """Delete the object ``key`` (S3 answers a missing key with success too)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise PhotoStoreError(f"object store could not delete the photo ({type(exc).__name__})") from None


def build_store(config: Config, sessions: sessionmaker[Session], clock: Clock) -> PhotoStore:
    """The S3 store when a bucket is configured, else the database store."""
    if config.photo_s3_bucket:
        return S3Store(config)
    return DatabaseStore(sessions, clock)
