"""Rubrics per team, versioned (issue 15): every saved version of a rubric with who, when and the diff
(rubric_versions, seeded with each stored rubric's current text), the rubric a team is scored on
(teams.rubric), re-scoring batches over a period (rescore_batches) and the version a rescore job is
pinned to (jobs.rubric_version); a team's keyword trackers and hotwords (teams.trackers, teams.hotwords)
and the trackers that fired on each call (calls.tracker_names, for the call list's tracker filter).
Only adds tables and columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('rubric_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=20), nullable=False),
    sa.Column('diff', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version', name='uq_rubric_versions_name_version')
    )
    op.execute("INSERT INTO rubric_versions (name, version, body, content_hash, diff, created_by, "
               "created_at) SELECT name, version, body, '', '', updated_by, updated_at FROM rubrics")
    op.create_table('rescore_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('period_start', _TS, nullable=True),
    sa.Column('period_end', _TS, nullable=True),
    sa.Column('job_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('teams') as batch:
        batch.add_column(sa.Column('rubric', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('trackers', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('hotwords', sa.JSON(), nullable=True))
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('tracker_names', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('rubric_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('rubric_version')
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('tracker_names')
    with op.batch_alter_table('teams') as batch:
        batch.drop_column('hotwords')
        batch.drop_column('trackers')
        batch.drop_column('rubric')
    op.drop_table('rescore_batches')
    op.drop_table('rubric_versions')
