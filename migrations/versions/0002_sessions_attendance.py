"""sessions as they happen: attendance, the clinic's require-attended setting, plan completion

Revision ID: 0002_sessions_attendance
Revises: 0001_initial
Create Date: 2026-11-25 17:40:00
"""
from alembic import op
import sqlalchemy as sa
import glowline.store.models


revision = '0002_sessions_attendance'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinics') as batch:
        batch.add_column(sa.Column('require_attended', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('treatment_sessions') as batch:
        batch.add_column(sa.Column('attendance_at', glowline.store.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('completed_at', glowline.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('completed_at')
    with op.batch_alter_table('treatment_sessions') as batch:
        batch.drop_column('attendance_at')
    with op.batch_alter_table('clinics') as batch:
        batch.drop_column('require_attended')
