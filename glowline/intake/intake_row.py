"""An intake's row written with one prebuilt Core UPDATE, not the ORM's unit of work.

An answer changes a few columns of one intake row (answers, current_field, misses,
updated_at...). Flushing that through the unit of work cost about as much CPU as all the
SQL of the text put together (it sorts dependencies, visits the clinic and client it
relates to, and builds the statement each time), so the router writes the engine's
changes itself and leaves the session with nothing to flush for that row.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, inspect
from sqlalchemy.orm import Session

from glowline.store.models import Intake

_TABLE = cast(Table, Intake.__table__)
_COLUMNS = frozenset(c.key for c in _TABLE.columns) - {"id"}
# The SET clause follows the parameters given: SQLAlchemy compiles (and caches) one form per set of changed columns.
_UPDATE = _TABLE.update().where(_TABLE.c.id == bindparam("intake_id"))


def write_changes(db: Session, intake: Intake) -> None:
    """Write what changed on a loaded intake with one UPDATE and mark it clean; anything else is left to the flush."""
    state = inspect(intake)
    changed = set(state.committed_state)
    # Only a persistent row whose changes are plain columns, updated_at among them (its onupdate would
    # otherwise pick a time the object never sees); a new intake or a relationship change is the unit
    # of work's job.
    if not state.persistent or not changed or not changed <= _COLUMNS or "updated_at" not in changed:
        return
    values = {key: state.dict[key] for key in changed}
    # What the unit of work itself does after writing a row: the object's values become its committed
    # state and the session no longer counts it as dirty. A private API of the locked SQLAlchemy: were it
    # gone every answer would fail (kept for the clinic inbox); were it to stop marking clean, the flush would only
    # write the same values a second time.
    state._commit_all(state.dict, db.identity_map)
    with db.no_autoflush:
        db.execute(_UPDATE, {"intake_id": intake.id, **values})
