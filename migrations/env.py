"""Alembic environment: the URL comes from the caller's Config, never from a file."""

from alembic import context

from glowline.store.db import build_engine
from glowline.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.attributes["database_url"], target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = build_engine(config.attributes["database_url"])
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys on, the drop
            # would cascade-delete every child row. SQLite ignores this PRAGMA inside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
