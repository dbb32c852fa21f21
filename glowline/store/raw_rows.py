"""Many rows written below SQLAlchemy's per-row work, inside the session's own transaction.

A plan batch writes ~200,000 outbox rows that nothing reads back at once, and ~70,000 plans,
sessions and audit events. As a Core executemany each row still costs SQLAlchemy's parameter
building (on SQLite about as much as SQLite's own insert), and on PostgreSQL psycopg parses
every 1,000-row VALUES statement and the server plans it. Here instead:

* PostgreSQL through psycopg 3: ``COPY ... FROM STDIN`` with ``cursor.copy()`` (its C dumpers,
  text format), one statement per table; rows whose ids are needed (plans, sessions) reserve
  them from the table's sequence first (``reserve_ids``) and go in with them;
* SQLite through the standard ``sqlite3`` driver: its cursor's own ``executemany`` with one
  positional INSERT (ids come from RETURNING elsewhere: SQLite has no sequence to reserve from).

Values go in already converted for the driver, as a typed insert's bind processors would give
them; a column the rows leave out gets its Python-side scalar default here, as SQLAlchemy's
insert would have filled it in. Anything else (another driver) is not ``supported``: the caller
uses its ordinary inserts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

_POSTGRESQL = ("postgresql", "psycopg")
_SQLITE = ("sqlite", "pysqlite")


def _backend(db: Session) -> tuple[str, str]:
    dialect = db.get_bind().dialect
    return dialect.name, dialect.driver


def supported(db: Session) -> bool:
    """True when ``db``'s driver takes rows here: psycopg 3 on PostgreSQL, or the standard sqlite3 driver."""
    return _backend(db) in (_POSTGRESQL, _SQLITE)


def reserves_ids(db: Session) -> bool:
    """True when new ids can be taken ahead of the rows (a PostgreSQL sequence), so RETURNING is not needed."""
    return _backend(db) == _POSTGRESQL


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

    COPY returns nothing, so rows that later rows point at take their ids first and go in with
    them: one round trip, and no matching of RETURNING rows back to their values. PostgreSQL only.
    """
    found = db.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
                       {"table": table.name, "count": count}).scalars()
    return sorted(found)


def write_rows(db: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
               defaults: dict[str, Any]) -> None:
    """Write ``rows`` (values in ``columns`` order, then ``defaults``'s) into ``table``, in ``db``'s transaction."""
    names = [*columns, *defaults]
    tail = tuple(defaults.values())
    quoted = ", ".join(_quote(name) for name in names)
    cursor = db.connection().connection.cursor()
    try:
        if _backend(db) == _POSTGRESQL:
            with cursor.copy(f"COPY {_quote(table.name)} ({quoted}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write((*row, *tail))
        else:
            marks = ", ".join("?" * len(names))
            cursor.executemany(f"INSERT INTO {_quote(table.name)} ({quoted}) VALUES ({marks})",
                               [(*row, *tail) for row in rows] if tail else rows)
    finally:
        cursor.close()


def _quote(name: str) -> str:
    """An identifier quoted as both databases read it exactly (names come from the models, never from input)."""
    return '"' + name.replace('"', '""') + '"'
