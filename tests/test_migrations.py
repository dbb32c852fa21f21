"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import migrations
from glowline.store.models import Base


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_on_an_empty_sqlite_database_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite3'}"
    migrations.upgrade(url)
    assert _diff(url) == []
    migrations.upgrade(url)  # running it again is harmless
    engine = create_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_on_the_test_database_matches_the_models(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the SQLite case is the test above; this one runs under TEST_DATABASE_URL")
    engine = create_engine(database_url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    migrations.upgrade(database_url)
    assert _diff(database_url) == []


def test_clients_are_split_per_clinic_they_talked_to(tmp_path):
    url = f"sqlite:///{tmp_path / 'split.sqlite3'}"
    migrations.upgrade(url, "0001_initial")
    engine = create_engine(url)
    now = "2026-11-01 12:00:00"
    with engine.begin() as conn:
        for cid, name in ((1, "A"), (2, "B")):
            conn.execute(text("INSERT INTO clinics (id, name, timezone, quiet_start, quiet_end, reminder_offsets_hours,"
                              " session_minutes, templates, voice_fallback, created_at) VALUES (:id, :n,"
                              " 'America/New_York', '20:00:00', '08:00:00', '[48, 2]', 60, '{}', 0, :now)"),
                         {"id": cid, "n": name, "now": now})
        conn.execute(text("INSERT INTO clients (id, phone, preferred_channel, opted_out_at, created_at) VALUES"
                          " (7, '+12125550142', 'sms', :now, :now), (8, '+12125550143', 'sms', NULL, :now)"),
                     {"now": now})
        for iid, clinic in ((1, 1), (2, 2)):
            conn.execute(text("INSERT INTO intakes (id, clinic_id, client_id, status, answers, misses, flags, channel,"
                              " created_at, updated_at) VALUES (:i, :k, 7, 'complete', '{}', 0, '[]', 'sms', :now,"
                              " :now)"), {"i": iid, "k": clinic, "now": now})
        conn.execute(text("INSERT INTO consent_events (client_id, clinic_id, action, wording, method, scope,"
                          " created_at) VALUES (7, 2, 'opt_out', 'STOP', 'sms_keyword', 'all', :now)"), {"now": now})
    engine.dispose()
    migrations.upgrade(url)
    assert _diff(url) == []
    engine = create_engine(url)
    with engine.connect() as conn:
        clients = conn.execute(text("SELECT id, clinic_id, phone, opted_out_at IS NOT NULL FROM clients"
                                    " ORDER BY clinic_id, phone")).all()
        assert [(c[1], c[2], c[3]) for c in clients] == [(1, "+12125550142", 1), (1, "+12125550143", 0),
                                                         (2, "+12125550142", 1)]
        copy = next(c[0] for c in clients if c[1] == 2)
        assert conn.execute(text("SELECT client_id FROM intakes WHERE clinic_id = 2")).scalar() == copy
        assert conn.execute(text("SELECT client_id FROM intakes WHERE clinic_id = 1")).scalar() == 7
        assert conn.execute(text("SELECT client_id FROM consent_events")).scalar() == copy
    engine.dispose()
