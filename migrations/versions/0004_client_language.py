"""client language: the locale a client reads and hears

Revision ID: 0004_client_language
Revises: 0003_opening_hours
Create Date: 2026-11-25 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_client_language'
down_revision = '0003_opening_hours'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('language')
