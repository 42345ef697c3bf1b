"""Privacy and governance (issue 17): keyed hashes of redacted values, the audit log, erasure jobs, files
awaiting deletion, per-token uploads, team retention policies; token expiry, rotation and limits.
Only adds tables and columns.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', _TS, nullable=True))
        batch_op.add_column(sa.Column('rotated_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('uploads_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bytes_per_day', sa.Integer(), nullable=True))
    op.create_table('redaction_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_redaction_digests_call_id', 'redaction_digests', ['call_id'])
    op.create_index('ix_redaction_digests_digest', 'redaction_digests', ['digest'])
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.create_index('ix_audit_events_action', 'audit_events', ['action'])
    op.create_index('ix_audit_events_team_id', 'audit_events', ['team_id'])
    op.create_table('erasure_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=320), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('call_ids', sa.JSON(), nullable=False),
    sa.Column('calls_found', sa.Integer(), nullable=False),
    sa.Column('calls_deleted', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('finished_at', _TS, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('file_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('token_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_token_uploads_token_at', 'token_uploads', ['token_id', 'at'])
    op.create_table('team_policies',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('audio_days', sa.Integer(), nullable=True),
    sa.Column('delete_days', sa.Integer(), nullable=True),
    sa.Column('bleep_audio', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id')
    )


def downgrade() -> None:
    for table in ('team_policies', 'token_uploads', 'file_deletions', 'erasure_jobs', 'audit_events',
                  'redaction_digests'):
        op.drop_table(table)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        for column in ('bytes_per_day', 'uploads_per_minute', 'rotated_to_id', 'expires_at'):
            batch_op.drop_column(column)
