"""Per-clinic staff hours for staff notices and the evening limit for aftercare

Revision ID: 0006_staff_hours
Revises: 0005_client_per_clinic
Create Date: 2026-11-25 18:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_staff_hours'
down_revision = '0005_client_per_clinic'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_hours_start', sa.Time(), server_default='08:00:00', nullable=False))
        batch_op.add_column(sa.Column('staff_hours_end', sa.Time(), server_default='20:00:00', nullable=False))
        batch_op.add_column(sa.Column('aftercare_evening_until', sa.Time(), server_default='21:00:00',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.drop_column('aftercare_evening_until')
        batch_op.drop_column('staff_hours_end')
        batch_op.drop_column('staff_hours_start')
