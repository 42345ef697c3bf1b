"""Redaction backfill (issue 17): which version of the redaction rules each call's stored text went
through (calls.redaction_version; NULL: stored before redaction was on, or with it off). Only adds a column.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redaction_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('redaction_version')
