"""csat surveys: one row per closed conversation cycle offered a survey, with the rating and the comment

Unique per (conversation, cycle): a cycle is asked once. The rating's and the comment's wamids are unique, so a
redelivered webhook stores nothing twice. `ix_csat_surveys_contact_sent` answers the minimum gap per contact and
`ix_csat_surveys_tenant_sent` the reports and the API.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 23:04:15.312989
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('csat_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('contact_inbox_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('attendant_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating_wa_message_id', sa.String(length=128), nullable=True),
    sa.Column('comment_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('commented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment_wa_message_id', sa.String(length=128), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendant_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_inbox_id'], ['contact_inboxes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('comment_wa_message_id', name='uq_csat_surveys_comment_wamid'),
    sa.UniqueConstraint('conversation_id', 'cycle', name='uq_csat_surveys_conversation_cycle'),
    sa.UniqueConstraint('rating_wa_message_id', name='uq_csat_surveys_rating_wamid')
    )
    with op.batch_alter_table('csat_surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_surveys_contact_inbox_id'), ['contact_inbox_id'], unique=False)
        batch_op.create_index('ix_csat_surveys_contact_sent', ['contact_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_surveys_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_csat_surveys_tenant_sent', ['tenant_id', 'sent_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('csat_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_csat_surveys_tenant_sent')
        batch_op.drop_index(batch_op.f('ix_csat_surveys_tenant_id'))
        batch_op.drop_index('ix_csat_surveys_contact_sent')
        batch_op.drop_index(batch_op.f('ix_csat_surveys_contact_inbox_id'))

    op.drop_table('csat_surveys')
