"""Roll-up days in the display time zone (issue 15): each rep_day_stats row names the zone its day was cut
in (rep_day_stats.zone), so a row cut in another zone than the rep's display zone of today is known and
rebuilt at start. Rows from before were UTC days: they get 'UTC'. Only adds a column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rep_day_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zone', sa.String(length=64), nullable=False, server_default='UTC'))


def downgrade() -> None:
    with op.batch_alter_table('rep_day_stats', schema=None) as batch_op:
        batch_op.drop_column('zone')
