"""Rows written with PostgreSQL's ``COPY ... FROM STDIN``, inside the session's own transaction.

A plan batch writes ~200,000 outbox rows that nothing reads back at once, and ~70,000 plans,
sessions and audit events. As an executemany
each row still costs SQLAlchemy's parameter building and the server a statement's parse, plan
and execute; ``COPY`` streams them through psycopg 3's ``cursor.copy()`` (its C dumpers in
the text format) into one statement. Only where the driver is psycopg on PostgreSQL; the
caller falls back to its inserts elsewhere. Values go in already converted for the driver,
as a typed insert's bind processors would give them; a column the rows leave out gets its
Python-side scalar default here, as SQLAlchemy's insert would have filled it in. Rows whose ids
are needed reserve them from the table's sequence first (``reserve_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session


def supported(db: Session) -> bool:
    """True when ``db`` talks to PostgreSQL through psycopg 3, whose cursors can ``COPY``."""
    dialect = db.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def scalar_defaults(db: Session, table: Table, given: Iterable[str]) -> dict[str, Any] | None:
    """The Python-side defaults of the columns not ``given`` (the id aside), for the driver; None if one is computed."""
    dialect = db.get_bind().dialect
    named = set(given)
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in named or column.primary_key or column.default is None:
            continue
        if not column.default.is_scalar:
            return None  # a callable default needs SQLAlchemy's execution context: use an insert
        arg = column.default.arg  # type: ignore[attr-defined]
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        defaults[column.name] = processor(arg) if processor is not None else arg
    return defaults


def reserve_ids(db: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids from the sequence behind ``table``'s id, ascending, as the server would have given them.

    COPY returns nothing, so rows that later rows point at (plans, sessions) take their ids first
    and go in with them: one round trip, and no matching of RETURNING rows back to their values.
    """
    found = db.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
                       {"table": table.name, "count": count}).scalars()
    return sorted(found)


def copy_rows(db: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              defaults: dict[str, Any]) -> None:
    """``COPY`` ``rows`` (values in ``columns`` order, then ``defaults``'s) into ``table``, in ``db``'s transaction."""
    names = [*columns, *defaults]
    tail = tuple(defaults.values())
    quoted = ", ".join(_quote(name) for name in names)
    cursor = db.connection().connection.cursor()
    try:
        with cursor.copy(f"COPY {_quote(table.name)} ({quoted}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write((*row, *tail))
    finally:
        cursor.close()


def _quote(name: str) -> str:
    """An identifier as PostgreSQL reads it exactly (names come from the models, never from input)."""
    return '"' + name.replace('"', '""') + '"'
