"""privacy: the consent ledger, data-subject requests, legal holds, the erasure ledger and retention policies

- `consent_events`: append-only grants and withdrawals per contact and purpose, with basis, source, policy
  version and proof.
- `privacy_requests`: data-subject requests with a due date, status, assignee, log and job progress.
- `legal_holds`: contacts whose data must be kept; erasure and retention skip them.
- `erasure_ledger`: contact id and time of every erasure (also kept as a file in the storage).
- `retention_policies`: per tenant, optionally per number or label.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant() -> list:
    return [sa.Column('tenant_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE')]


def upgrade() -> None:
    op.create_table('consent_events',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    *_tenant(),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('legal_basis', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('policy_version', sa.String(length=40), nullable=False),
    sa.Column('proof', sa.String(length=160), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_consent_events_tenant_id', 'consent_events', ['tenant_id'])
    op.create_index('ix_consent_events_contact_purpose', 'consent_events',
                    ['tenant_id', 'contact_id', 'purpose', 'id'])
    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    *_tenant(),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('result_key', sa.String(length=255), nullable=True),
    sa.Column('download_token_hash', sa.String(length=64), nullable=True),
    sa.Column('download_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_privacy_requests_tenant_id', 'privacy_requests', ['tenant_id'])
    op.create_index('ix_privacy_requests_contact_id', 'privacy_requests', ['contact_id'])
    op.create_index('ix_privacy_requests_tenant_due', 'privacy_requests', ['tenant_id', 'status', 'due_on'])
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    *_tenant(),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_legal_holds_tenant_id', 'legal_holds', ['tenant_id'])
    op.create_index('ix_legal_holds_contact_id', 'legal_holds', ['contact_id'])
    op.create_table('erasure_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    *_tenant(),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'contact_id', name='uq_erasure_ledger_contact'))
    op.create_index('ix_erasure_ledger_tenant_id', 'erasure_ledger', ['tenant_id'])
    op.create_table('retention_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    *_tenant(),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('label_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_report', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_retention_policies_tenant_id', 'retention_policies', ['tenant_id'])
    op.create_index('ix_retention_policies_inbox_id', 'retention_policies', ['inbox_id'])
    op.create_index('ix_retention_policies_label_id', 'retention_policies', ['label_id'])


def downgrade() -> None:
    for table in ('retention_policies', 'erasure_ledger', 'legal_holds', 'privacy_requests', 'consent_events'):
        op.drop_table(table)
