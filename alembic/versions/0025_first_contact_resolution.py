"""first-contact resolution: a flag on each conversation cycle and its daily count in the rollups; per-label
daily rollups

`conversation_facts.first_contact` is set when a cycle closes and taken back when the conversation is reopened
within 7 days (see `crm_app.domain.analytics.reopen`); existing cycles are filled here by the same rule.
`analytics_daily.first_contact` counts them per close day; run `rebuild-rollups` once after upgrading (until then
stored days count none). `analytics_daily_labels` holds the same counts per label, so a label filter reads
stored days instead of every day raw; `rebuild-rollups` fills it (until then a label filter counts nothing on
the days before yesterday).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WINDOW_DAYS = 7  # crm_app.domain.analytics.FCR_WINDOW at the time of writing


def upgrade() -> None:
    with op.batch_alter_table('conversation_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_contact', sa.Boolean(), nullable=True))
    with op.batch_alter_table('analytics_daily', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_contact', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('analytics_daily_labels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in (
        'inbox_id', 'team_id', 'attendant_id', 'opened', 'closed', 'contained', 'unanswered', 'handoffs',
        'windows_missed', 'messages_in', 'messages_out', 'bot_messages', 'failed_sends', 'frt_count')],
    sa.Column('frt_sum', sa.Float(), nullable=False),
    sa.Column('resolution_count', sa.Integer(), nullable=False),
    sa.Column('resolution_sum', sa.Float(), nullable=False),
    sa.Column('first_contact', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'label_id', 'day', 'inbox_id', 'team_id', 'attendant_id',
                        name='uq_analytics_daily_labels_key')
    )
    with op.batch_alter_table('analytics_daily_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_daily_labels_tenant_id'), ['tenant_id'], unique=False)
    backfill(op.get_bind())


# Closed cycles: resolved at first contact unless the next cycle opened within the window of the close, or this
# one opened within the window of the previous close.
BACKFILL_SQL = (
    "UPDATE conversation_facts f SET first_contact = NOT EXISTS ("
    "SELECT 1 FROM conversation_facts n WHERE n.conversation_id = f.conversation_id AND ("
    f"(n.cycle = f.cycle + 1 AND n.opened_at < f.closed_at + interval '{WINDOW_DAYS} days') OR "
    f"(n.cycle = f.cycle - 1 AND f.opened_at < n.closed_at + interval '{WINDOW_DAYS} days'))) "
    "WHERE f.closed_at IS NOT NULL")


def backfill(bind) -> None:
    """Set `first_contact` on every closed cycle by the rule the live recording applies."""
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text(BACKFILL_SQL))
    else:  # the laptop's SQLite: small, and its stored text moments are compared in Python
        _backfill_in_python(bind)


def _backfill_in_python(bind) -> None:
    import datetime as dt

    def moment(value):
        if value is None or isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(str(value))

    rows = bind.execute(sa.text("SELECT id, conversation_id, cycle, opened_at, closed_at FROM conversation_facts "
                                "ORDER BY conversation_id, cycle")).all()
    window = dt.timedelta(days=WINDOW_DAYS)
    for i, (ident, conversation, _, _, closed) in enumerate(rows):
        if closed is None:
            continue
        after = rows[i + 1] if i + 1 < len(rows) and rows[i + 1][1] == conversation else None
        before = rows[i - 1] if i > 0 and rows[i - 1][1] == conversation else None
        came_back = after is not None and moment(after[3]) < moment(closed) + window
        returned = before is not None and before[4] is not None and moment(rows[i][3]) < moment(before[4]) + window
        bind.execute(sa.text("UPDATE conversation_facts SET first_contact = :v WHERE id = :id"),
                     {"v": not (came_back or returned), "id": ident})


def downgrade() -> None:
    with op.batch_alter_table('analytics_daily_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_daily_labels_tenant_id'))
    op.drop_table('analytics_daily_labels')
    with op.batch_alter_table('analytics_daily', schema=None) as batch_op:
        batch_op.drop_column('first_contact')
    with op.batch_alter_table('conversation_facts', schema=None) as batch_op:
        batch_op.drop_column('first_contact')
