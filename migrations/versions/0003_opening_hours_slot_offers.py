"""rebooking by text: opening hours, closures, capacity and slot offers

Revision ID: 0003_opening_hours
Revises: 0002_sessions_attendance
Create Date: 2026-11-25 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import glowline.store.models


revision = '0003_opening_hours'
down_revision = '0002_sessions_attendance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinics') as batch:
        batch.add_column(sa.Column('capacity', sa.Integer(), nullable=True))
    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clinic_id', 'weekday', 'opens')
    )
    op.create_index(op.f('ix_opening_hours_clinic_id'), 'opening_hours', ['clinic_id'], unique=False)
    op.create_table('clinic_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clinic_id', 'day')
    )
    op.create_index(op.f('ix_clinic_closures_clinic_id'), 'clinic_closures', ['clinic_id'], unique=False)
    op.create_table('slot_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('open', 'booked', 'call_back', 'replaced', name='slotofferstatus', native_enum=False, length=24), nullable=False),
    sa.Column('created_at', glowline.store.models.UTCDateTime(), nullable=False),
    sa.Column('answered_at', glowline.store.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['treatment_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_slot_offers_clinic_id'), 'slot_offers', ['clinic_id'], unique=False)
    op.create_index(op.f('ix_slot_offers_client_id'), 'slot_offers', ['client_id'], unique=False)
    op.create_index(op.f('ix_slot_offers_plan_id'), 'slot_offers', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_table('slot_offers')
    op.drop_table('clinic_closures')
    op.drop_table('opening_hours')
    with op.batch_alter_table('clinics') as batch:
        batch.drop_column('capacity')
