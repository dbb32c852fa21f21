"""The runtime: every long-lived resource, built once per process from a Config.

Both the web app and the worker hold one; nothing here connects until used.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from glowline import redaction
from glowline.clock import Clock, SystemClock
from glowline.config import Config
from glowline.store.db import build_engine, build_sessionmaker, ensure_sqlite_dir, transaction

if TYPE_CHECKING:
    # Only for annotations: the rooms are imported when first used, so a runtime stays cheap to build.
    from glowline.catalog.protocols import Catalog
    from glowline.catalog.schemas import SchemaRegistry
    from glowline.clinics.directory import ClinicDirectory
    from glowline.delivery.dispatch import Dispatcher
    from glowline.intake.engine import IntakeEngine
    from glowline.photos.storage import PhotoStore
    from glowline.transports.media import TwilioMedia
    from glowline.messages.links import PublicLinks
    from glowline.transports.callbacks import CallbackUrls
    from glowline.transports.transport import Transport


@dataclass
class Runtime:
    """Config plus the engine, Redis, queue, transport, catalogs and clock built from it."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    transport_override: Transport | None = None

    def __post_init__(self) -> None:
        # Both the web app and the workers hold a Runtime: from here on no log line carries patient data.
        redaction.install()
        # Every outbox text counts its SMS segments when written: the results' cost is an SQL sum.
        from glowline.messages import segments

        segments.install()

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use)."""
        ensure_sqlite_dir(self.config.database_url)
        return build_engine(self.config.database_url, busy_seconds=self.config.db_busy_seconds)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory bound to the engine."""
        return build_sessionmaker(self.engine)

    def transaction(self) -> AbstractContextManager[Session]:
        """A session that commits on success and rolls back on error."""
        return transaction(self.sessions)

    @cached_property
    def clinics(self) -> ClinicDirectory:
        """Clinics by number and Messaging Service, cached for CLINIC_CACHE_SECONDS (every inbound text asks)."""
        from glowline.clinics.directory import ClinicDirectory

        return ClinicDirectory(self.sessions, self.config.clinic_cache_seconds)

    @cached_property
    def redis(self) -> Redis:
        """The Redis client for RQ (connects lazily)."""
        if self.config.redis_url is None:
            raise RuntimeError("REDIS_URL is not set and no embedded Redis was started")
        return Redis.from_url(self.config.redis_url, socket_timeout=10, socket_connect_timeout=5,
                              health_check_interval=30)

    @cached_property
    def queue(self) -> Queue:
        """The RQ queue that carries outbound message jobs."""
        # JSON, not RQ's default pickle: job arguments are plain ids, and a pickle in
        # Redis is both unsafe to load and unreadable when inspecting a stuck job.
        return Queue(self.config.queue_name, connection=self.redis, serializer=JSONSerializer,
                     default_timeout=self.config.job_timeout)

    @cached_property
    def catalog(self) -> Catalog:
        """The protocol catalog, loaded and validated from protocols.json."""
        from glowline.catalog.protocols import load_catalog

        return load_catalog(self.config.protocols_path, self.schemas["protocols"])

    @cached_property
    def schemas(self) -> SchemaRegistry:
        """The JSON Schemas in schemas/, each with a prebuilt validator."""
        from glowline.catalog.schemas import SchemaRegistry

        return SchemaRegistry.load(self.config.schemas_dir)

    @cached_property
    def intake_engine(self) -> IntakeEngine:
        """The intake conversation, built once from schemas/intake.schema.json and the catalog."""
        from glowline.intake.engine import build_engine

        return build_engine(self)

    @cached_property
    def transport(self) -> Transport:
        """Twilio when credentials are set, else the local recording transport."""
        if self.transport_override is not None:
            return self.transport_override
        from glowline.transports.transport import build_transport

        return build_transport(self.config)

    @cached_property
    def photo_store(self) -> PhotoStore:
        """Where photos live: the database, or the S3-compatible bucket when one is configured."""
        from glowline.photos.storage import build_store

        return build_store(self.config, self.sessions, self.clock)

    @cached_property
    def media(self) -> TwilioMedia:
        """Downloads and deletes MMS media at Twilio (raises MediaError without Twilio credentials)."""
        from glowline.transports.media import TwilioMedia

        return TwilioMedia(self.config)

    @cached_property
    def callbacks(self) -> CallbackUrls:
        """The public URLs Twilio calls back, built from PUBLIC_BASE_URL (for jobs and routes alike)."""
        from glowline.transports.callbacks import CallbackUrls

        return CallbackUrls.from_config(self.config)

    @cached_property
    def links(self) -> PublicLinks:
        """The public pages client texts link to (the aftercare page), built from PUBLIC_BASE_URL."""
        from glowline.messages.links import PublicLinks

        return PublicLinks.from_config(self.config)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Moves outbox rows into RQ after their transaction commits."""
        from glowline.delivery.dispatch import Dispatcher

        return Dispatcher(self)

    def close(self) -> None:
        """Release pooled database connections and the Redis connection, if they were opened."""
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> None:
        """Load every data file now so a broken one stops start-up with a clear message."""
        _ = self.catalog
        _ = self.schemas
        _ = self.intake_engine  # the questionnaire's concern choices must match the catalog
        from glowline.plans import plan_text

        # dateparser loads its language data on the first parse (~90 ms): pay it here, not in a staff text.
        plan_text.warm()
