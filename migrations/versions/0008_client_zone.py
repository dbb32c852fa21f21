"""client zone: when the client confirmed (or corrected) the time zone guessed from their number

Revision ID: 0008_client_zone
Revises: 0007_front_desk
Create Date: 2026-12-02 03:20:00
"""
from alembic import op
import sqlalchemy as sa
import glowline.store.models


revision = '0008_client_zone'
down_revision = '0007_front_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('timezone_confirmed_at', glowline.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('timezone_confirmed_at')
