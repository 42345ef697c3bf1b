"""call_digests: the digest and facts of each call's current analysis (models.document), which rep
evaluations and deal insights read instead of whole documents. Filled in here for existing calls.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from callscope.models.document import digest, facts

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    op.create_table('call_digests',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.JSON(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['analysis_id'], ['analyses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id')
    )
    analyses = sa.table('analyses', sa.column('id', sa.Integer()), sa.column('call_id', sa.Integer()),
                        sa.column('document', sa.JSON()))
    digests = sa.table('call_digests', sa.column('call_id', sa.Integer()),
                       sa.column('analysis_id', sa.Integer()), sa.column('digest', sa.JSON()),
                       sa.column('facts', sa.JSON()))
    current = sa.select(sa.func.max(analyses.c.id)).group_by(analyses.c.call_id)
    connection = op.get_bind()
    last = 0
    while True:  # in batches: a large database's documents need not fit in memory at once
        rows = connection.execute(
            sa.select(analyses.c.id, analyses.c.call_id, analyses.c.document)
            .where(analyses.c.id > last, analyses.c.id.in_(current)).order_by(analyses.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        made = [(analysis_id, call_id, digest(document or {})) for analysis_id, call_id, document in rows]
        connection.execute(digests.insert(), [
            {"call_id": call_id, "analysis_id": analysis_id, "digest": brief, "facts": facts(brief)}
            for analysis_id, call_id, brief in made
        ])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table('call_digests')
