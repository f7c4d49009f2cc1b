"""Per-tenant tokens for the REST API.

A token acts as one user of the tenant: the same role and tenant checks as in
the UI apply, narrowed further by the token's scopes. The secret
(`crm_` + 43 URL-safe characters) is shown once; the database keeps only its
SHA-256 and a short prefix that admins use to tell tokens apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.errors import ValidationError
from crm_app.models import ApiToken, Tenant, User
from crm_app.services.access import sessions
from crm_app.services.access.scopes import SCOPES
from crm_app.services.core import audit, ratelimit
from crm_app.services.core.actors import Actor, fetch_owned, require_role

log = logging.getLogger(__name__)

TOKEN_PREFIX = "crm_"
PREFIX_LENGTH = 12  # "crm_" and 8 random characters: enough to tell tokens apart, useless to guess
# last_used_at is written at most this often, so that busy tokens do not write on every request.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
MAX_SECRET_LENGTH = 100
_clock = time.time  # the rate-limit window's clock; tests pin it


@dataclass(frozen=True)
class ApiTokenRow:
    """A token as admins see it: never the secret."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    user_id: int
    user_name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


@dataclass(frozen=True)
class TokenAuth:
    """Who a presented token acts as, and what it may do."""

    token_id: int
    actor: Actor
    scopes: frozenset[str]


def hash_secret(secret: str) -> str:
    """SHA-256 of a token secret, hex, as stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _row(token: ApiToken, user_name: str) -> ApiTokenRow:
    return ApiTokenRow(token.id, token.name, token.prefix, list(token.scopes or []), token.user_id, user_name,
                       token.created_at, token.last_used_at, token.expires_at, token.revoked_at)


def _clean_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    chosen = list(dict.fromkeys(s.strip() for s in scopes if s and s.strip()))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise ValidationError(f"unknown scope: {', '.join(unknown)}", field="scopes")
    if not chosen:
        raise ValidationError("choose at least one scope", field="scopes")
    return [s for s in SCOPES if s in chosen]


def create(
    session: Session,
    *,
    actor: Actor,
    name: str,
    scopes: list[str] | tuple[str, ...],
    user_id: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiTokenRow, str]:
    """Create a token acting as `user_id` (the admin by default). Returns (row, secret); admins only.

    The secret is returned here and never again.
    """
    require_role(actor, "admin")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("name must have 1 to 80 characters", field="name")
    chosen = _clean_scopes(scopes)
    user = fetch_owned(session, User, user_id or actor.user_id, actor=actor, what="user")
    if not user.is_active:
        raise ValidationError("the user is inactive", field="user_id")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError("the expiry must be in the future", field="expires_at")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(tenant_id=actor.tenant_id, name=name, token_hash=hash_secret(secret),
                     prefix=secret[:PREFIX_LENGTH], scopes=chosen, user_id=user.id,
                     created_by_user_id=actor.user_id, expires_at=expires_at)
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="api_token.create",
                 target_type="api_token", target_id=token.id,
                 after={"name": name, "prefix": token.prefix, "scopes": chosen, "user_id": user.id})
    return _row(token, user.name), secret


def list_tokens(session: Session, *, actor: Actor) -> list[ApiTokenRow]:
    """Every token of the actor's tenant, newest first, revoked ones included; admins only."""
    require_role(actor, "admin")
    query = (select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
             .where(ApiToken.tenant_id == actor.tenant_id).order_by(ApiToken.id.desc()))
    return [_row(token, user_name) for token, user_name in session.exec(query)]


def revoke(session: Session, *, actor: Actor, token_id: int) -> ApiTokenRow:
    """Revoke a token of the actor's tenant at once; revoking twice is harmless. Admins only."""
    require_role(actor, "admin")
    token = fetch_owned(session, ApiToken, token_id, actor=actor, what="token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="api_token.revoke",
                     target_type="api_token", target_id=token.id, before={"name": token.name, "prefix": token.prefix})
    return _row(token, session.get(User, token.user_id).name)


def revoke_user_tokens(session: Session, *, actor: Actor, user_id: int, reason: str) -> int:
    """Revoke every live token that acts as `user_id` or that they made; returns how many.

    Deactivating a user calls this, so that reactivating them later brings none of their tokens back: a
    token's holder may not be someone the tenant still trusts.
    """
    tokens = session.exec(select(ApiToken).where(
        ApiToken.tenant_id == actor.tenant_id, ApiToken.revoked_at.is_(None),
        (ApiToken.user_id == user_id) | (ApiToken.created_by_user_id == user_id))).all()
    for token in tokens:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="api_token.revoke",
                     target_type="api_token", target_id=token.id,
                     before={"name": token.name, "prefix": token.prefix}, after={"reason": reason})
    return len(tokens)


def authenticate_token(session: Session, secret: str | None, *, ip: str | None = None) -> TokenAuth | None:
    """The user and scopes behind a presented secret, or None.

    Unknown, revoked and expired tokens, inactive users (the token's or its creator's) and switched-off
    tenants all give None.
    The lookup is by hash, so no secret is compared character by character.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret))).first()
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    user = session.get(User, token.user_id)
    tenant = session.get(Tenant, token.tenant_id)
    if user is None or not user.is_active or tenant is None or not tenant.is_active or user.tenant_id != tenant.id:
        return None
    creator = session.get(User, token.created_by_user_id) if token.created_by_user_id else None
    if token.created_by_user_id and (creator is None or not creator.is_active):
        return None  # an admin who leaves takes the tokens they made along (they may act as someone else)
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = now
        session.add(token)
    actor = sessions.actor_for(user, ip=ip, timezone=tenant.timezone)
    return TokenAuth(token.id, actor, frozenset(token.scopes or []))


def resolve(session: Session, secret: str | None, *, ip: str | None = None) -> Actor | None:
    """The actor a presented secret acts as, or None (see `authenticate_token`)."""
    found = authenticate_token(session, secret, ip=ip)
    return found.actor if found else None


def take_request_slot(token_id: int, *, limit: int, window_seconds: int = 60) -> int:
    """Count one request of a token in a fixed window; 0 lets it go on, else the seconds to wait."""
    return ratelimit.window_hit(f"crm:api-rl:{token_id}", limit=limit, window_seconds=window_seconds, now=_clock())
