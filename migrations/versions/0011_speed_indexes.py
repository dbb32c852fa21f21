"""speed indexes: the open-intake lookup of every inbound answer

Revision ID: 0011_speed_indexes
Revises: 0007_front_desk
Create Date: 2026-12-02 03:30:00
"""
from alembic import op


revision = '0011_speed_indexes'
down_revision = '0010_results'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_intakes_clinic_client_status', 'intakes', ['clinic_id', 'client_id', 'status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_intakes_clinic_client_status', table_name='intakes')
