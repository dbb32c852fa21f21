"""front desk: staff replies record their author, inbox texts record when they were done

Revision ID: 0007_front_desk
Revises: 0006_staff_hours
Create Date: 2026-11-25 17:30:00
"""
from alembic import op
import sqlalchemy as sa
import glowline.store.models


revision = '0007_front_desk'
down_revision = '0006_staff_hours'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('sent_by', sa.String(length=120), nullable=True))
    with op.batch_alter_table('inbound_messages') as batch:
        batch.add_column(sa.Column('done_at', glowline.store.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('done_by', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages') as batch:
        batch.drop_column('done_by')
        batch.drop_column('done_at')
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_column('sent_by')
