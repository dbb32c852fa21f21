"""Side effects wait for the commit: enqueued after it, never after a rollback."""

from sqlalchemy import text

from glowline.store.db import on_commit


def test_callbacks_run_after_each_commit_and_never_after_rollback(runtime):
    ran: list[str] = []
    session = runtime.sessions()
    on_commit(session, lambda: ran.append("first"))
    assert ran == []
    session.commit()
    assert ran == ["first"]
    on_commit(session, lambda: ran.append("second"))
    session.commit()
    assert ran == ["first", "second"]
    session.execute(text("SELECT 1"))  # callers register after writing, inside a transaction
    on_commit(session, lambda: ran.append("rolled back"))
    session.rollback()
    session.commit()
    assert ran == ["first", "second"]
    on_commit(session, lambda: ran.append("third"))
    session.commit()
    assert ran == ["first", "second", "third"]
    session.close()
