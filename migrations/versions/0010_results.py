"""results: SMS segments per outbox row, and indexes for the clinic results figures

Revision ID: 0010_results
Revises: 0007_front_desk
Create Date: 2026-12-02 03:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_results'
down_revision = '0009_photos_messaging_service'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('segments', sa.Integer(), nullable=True))
    # Texts written before this release get an estimate from their length, as GSM-7 (160 alone, 153 each
    # when split); new rows count their own alphabet (glowline/messages/segments.py).
    op.execute("UPDATE outbox_messages SET segments = CASE WHEN length(body) <= 160 THEN 1 "
               "ELSE (length(body) + 152) / 153 END WHERE channel = 'sms'")
    op.create_index('ix_outbox_clinic_sent', 'outbox_messages',
                    ['clinic_id', 'sent_at', 'kind', 'channel', 'status', 'segments'])
    op.create_index('ix_outbox_session_kind', 'outbox_messages', ['session_id', 'kind'])
    op.create_index('ix_outbox_client_sent', 'outbox_messages', ['client_id', 'sent_at'])
    op.create_index('ix_audit_clinic_action_time', 'audit_events', ['clinic_id', 'action', 'created_at'])
    op.create_index('ix_consent_clinic_action_time', 'consent_events', ['clinic_id', 'action', 'created_at'])
    op.create_index('ix_sessions_starts_at', 'treatment_sessions', ['starts_at'])


def downgrade() -> None:
    op.drop_index('ix_sessions_starts_at', table_name='treatment_sessions')
    op.drop_index('ix_consent_clinic_action_time', table_name='consent_events')
    op.drop_index('ix_audit_clinic_action_time', table_name='audit_events')
    op.drop_index('ix_outbox_client_sent', table_name='outbox_messages')
    op.drop_index('ix_outbox_session_kind', table_name='outbox_messages')
    op.drop_index('ix_outbox_clinic_sent', table_name='outbox_messages')
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_column('segments')
