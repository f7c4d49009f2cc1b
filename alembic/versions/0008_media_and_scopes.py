"""security second pass: media by assignment, outbound URLs, token scopes

- `messages.media_token`: browsers fetch a stored file at `/api/media/{media_token}`, a random value, instead
  of the sequential message id; rows that already have a stored file get one here.
- `tenants.attendants_edit_any_contact`: off by default, attendants edit only contacts of conversations
  they can open.
- API tokens of users who are deactivated now are revoked, as deactivation does from now on, so that
  reactivating the user never brings them back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:30:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_messages_media_token', ['media_token'])
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendants_edit_any_contact', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    _give_stored_media_tokens()
    _revoke_tokens_of_inactive_users()


def _give_stored_media_tokens() -> None:
    conn = op.get_bind()
    ids = conn.execute(sa.text("SELECT id FROM messages WHERE media_storage_key IS NOT NULL "
                               "AND media_token IS NULL")).scalars().all()
    update = sa.text("UPDATE messages SET media_token = :token WHERE id = :id")
    for message_id in ids:
        conn.execute(update, {"token": secrets.token_urlsafe(24), "id": message_id})


def _revoke_tokens_of_inactive_users() -> None:
    op.execute(sa.text(
        "UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL AND ("
        "user_id IN (SELECT id FROM users WHERE is_active = :off) OR "
        "created_by_user_id IN (SELECT id FROM users WHERE is_active = :off))").bindparams(off=False))


def downgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('attendants_edit_any_contact')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_media_token', type_='unique')
        batch_op.drop_column('media_token')
