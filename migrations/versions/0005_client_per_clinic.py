"""A client belongs to one clinic: clients keyed by (clinic, phone), existing rows split per clinic

Each existing client keeps its row for the first clinic it has talked to and gets a copy for every
other one; that clinic's intakes, inbound messages, plans, outbox rows and consent records move to
the copy. An opt-out recorded before this revision was number-wide, so every copy keeps it: nobody
who said STOP is texted again because of a migration. A client no clinic ever talked to goes to the
first clinic (or is dropped when there is no clinic at all: it holds nothing but a number).

Revision ID: 0005_client_per_clinic
Revises: 0004_client_language
Create Date: 2026-11-25 17:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_client_per_clinic'
down_revision = '0004_client_language'
branch_labels = None
depends_on = None

# Tables whose rows name both a clinic and a client.
_OWNED = ("intakes", "inbound_messages", "plans", "outbox_messages", "consent_events", "slot_offers")


def upgrade() -> None:
    bind = op.get_bind()
    unique_phone = "clients_phone_key" if bind.dialect.name == "postgresql" else "uq_clients_phone"
    # SQLite's unique constraint on phone has no name: the naming convention gives it one to drop.
    with op.batch_alter_table('clients', schema=None,
                              naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch_op:
        batch_op.add_column(sa.Column('clinic_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(unique_phone, type_='unique')
    _split_clients(bind)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.alter_column('clinic_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_clients_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_unique_constraint('uq_clients_clinic_phone', ['clinic_id', 'phone'])
        batch_op.create_foreign_key('fk_clients_clinic_id_clinics', 'clinics', ['clinic_id'], ['id'],
                                    ondelete='CASCADE')


def _split_clients(bind) -> None:
    first_clinic = bind.execute(sa.text("SELECT MIN(id) FROM clinics")).scalar()
    clients = bind.execute(sa.text(
        "SELECT id, phone, timezone, preferred_channel, opted_out_at, created_at FROM clients ORDER BY id")).all()
    for client in clients:
        clinic_ids = sorted({row[0] for table in _OWNED for row in bind.execute(sa.text(
            f"SELECT DISTINCT clinic_id FROM {table} WHERE client_id = :c AND clinic_id IS NOT NULL"),
            {"c": client.id})})
        if not clinic_ids:
            if first_clinic is None:
                bind.execute(sa.text("DELETE FROM clients WHERE id = :c"), {"c": client.id})
                continue
            clinic_ids = [first_clinic]
        bind.execute(sa.text("UPDATE clients SET clinic_id = :k WHERE id = :c"),
                     {"k": clinic_ids[0], "c": client.id})
        for clinic_id in clinic_ids[1:]:
            copy_id = bind.execute(sa.text(
                "INSERT INTO clients (clinic_id, phone, timezone, preferred_channel, opted_out_at, created_at) "
                "VALUES (:k, :phone, :tz, :channel, :out, :created) RETURNING id"),
                {"k": clinic_id, "phone": client.phone, "tz": client.timezone, "channel": client.preferred_channel,
                 "out": client.opted_out_at, "created": client.created_at}).scalar()
            for table in _OWNED:
                bind.execute(sa.text(f"UPDATE {table} SET client_id = :new WHERE client_id = :old AND clinic_id = :k"),
                             {"new": copy_id, "old": client.id, "k": clinic_id})


def downgrade() -> None:
    # Going back would have to merge clients of several clinics into one number-wide row,
    # losing which clinic each consent belonged to.
    raise NotImplementedError("0005_client_per_clinic cannot be undone")
