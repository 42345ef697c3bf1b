"""Chat notifications (issue 15): each team's chat robots (WeCom, DingTalk, Feishu, Slack) and its
notification settings; the webhook outbox also carries chat deliveries (channel_id, webhook_id nullable).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'chat_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('notifications', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('created_at', _TS, nullable=False),
        sa.Column('updated_at', _TS, nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_chat_channels_team_id', 'chat_channels', ['team_id'])
    op.create_table(
        'team_notification_settings',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('updated_by', sa.String(length=320), nullable=False),
        sa.Column('updated_at', _TS, nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id'),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.alter_column('webhook_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('channel_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_webhook_deliveries_channel_id', 'chat_channels', ['channel_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_webhook_deliveries_channel_event', ['channel_id', 'event_id'])
        batch_op.create_index('ix_webhook_deliveries_channel', ['channel_id', 'id'])


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_channel')
        batch_op.drop_constraint('uq_webhook_deliveries_channel_event', type_='unique')
        batch_op.drop_constraint('fk_webhook_deliveries_channel_id', type_='foreignkey')
        batch_op.drop_column('channel_id')
    op.execute('DELETE FROM webhook_deliveries WHERE webhook_id IS NULL')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.alter_column('webhook_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('team_notification_settings')
    op.drop_index('ix_chat_channels_team_id', table_name='chat_channels')
    op.drop_table('chat_channels')
