"""results speed: covering indexes for the clinic results figures

The outbox-by-send-time index also carries plan_id and session_id, so a protocol filter and the
booking nudges' sessions are answered from the index alone; the session index also carries sent_at, so a session's first reminder is one
index entry instead of a visit to each of its reminders' rows.

Revision ID: 0012_results_speed
Revises: 0011_speed_indexes
Create Date: 2026-12-02 06:40:00
"""
from alembic import op


revision = '0012_results_speed'
down_revision = '0011_speed_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_outbox_clinic_sent', table_name='outbox_messages')
    op.create_index('ix_outbox_clinic_sent', 'outbox_messages',
                    ['clinic_id', 'sent_at', 'kind', 'channel', 'status', 'segments', 'plan_id', 'session_id'])
    op.drop_index('ix_outbox_session_kind', table_name='outbox_messages')
    op.create_index('ix_outbox_session_kind_sent', 'outbox_messages', ['session_id', 'kind', 'sent_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_session_kind_sent', table_name='outbox_messages')
    op.create_index('ix_outbox_session_kind', 'outbox_messages', ['session_id', 'kind'])
    op.drop_index('ix_outbox_clinic_sent', table_name='outbox_messages')
    op.create_index('ix_outbox_clinic_sent', 'outbox_messages',
                    ['clinic_id', 'sent_at', 'kind', 'channel', 'status', 'segments'])
