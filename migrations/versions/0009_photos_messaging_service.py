"""photos from MMS (and the database photo store), Messaging Services, photo retention per clinic

Revision ID: 0009_photos_messaging_service
Revises: 0007_front_desk
Create Date: 2026-12-02 03:30:00
"""
from alembic import op
import sqlalchemy as sa
import glowline.store.models


revision = '0009_photos_messaging_service'
down_revision = '0008_client_zone'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinics') as batch:
        batch.add_column(sa.Column('messaging_service_sid', sa.String(length=34), nullable=True))
        batch.add_column(sa.Column('photo_retention_days', sa.Integer(), server_default='365', nullable=False))
        batch.create_unique_constraint('uq_clinics_messaging_service_sid', ['messaging_service_sid'])
    op.create_table(
        'photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=True),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.Column('message_sid', sa.String(length=34), nullable=False),
        sa.Column('media_sid', sa.String(length=34), nullable=False),
        sa.Column('declared_type', sa.String(length=100), nullable=False),
        sa.Column('status', sa.Enum('pending', 'stored', 'refused', 'failed', 'expired', name='photostatus',
                                    native_enum=False, length=24), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', glowline.store.models.UTCDateTime(), nullable=True),
        sa.Column('content_type', sa.String(length=32), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('received_at', glowline.store.models.UTCDateTime(), nullable=False),
        sa.Column('stored_at', glowline.store.models.UTCDateTime(), nullable=True),
        sa.Column('deleted_at_twilio', glowline.store.models.UTCDateTime(), nullable=True),
        sa.Column('expired_at', glowline.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['intake_id'], ['intakes.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('public_id'),
        sa.UniqueConstraint('media_sid'),
    )
    with op.batch_alter_table('photos') as batch:
        batch.create_index('ix_photos_clinic_id', ['clinic_id'])
        batch.create_index('ix_photos_client_id', ['client_id'])
        batch.create_index('ix_photos_intake_id', ['intake_id'])
        batch.create_index('ix_photos_status', ['status'])
    op.create_table(
        'photo_blobs',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', glowline.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('photo_blobs')
    with op.batch_alter_table('photos') as batch:
        batch.drop_index('ix_photos_status')
        batch.drop_index('ix_photos_intake_id')
        batch.drop_index('ix_photos_client_id')
        batch.drop_index('ix_photos_clinic_id')
    op.drop_table('photos')
    with op.batch_alter_table('clinics') as batch:
        batch.drop_constraint('uq_clinics_messaging_service_sid', type_='unique')
        batch.drop_column('photo_retention_days')
        batch.drop_column('messaging_service_sid')
