"""Single sign-on with OpenID Connect, configured per tenant (authorization code flow, PKCE, RS256 ID tokens).

The wire (httpx, authlib's OAuth2 client) is in `crm_app/integrations/oidc.py`.

Why it is shaped like this:
- Each tenant has its own identity provider, so the client is built per login from the tenant's `SsoConfig`
  (authlib's `OAuth2Client` for the authorization URL and the code exchange), not registered once at start.
- What a login needs between the two legs (tenant, nonce, PKCE verifier, where to go next) is kept in Redis
  under the hash of `state` for 10 minutes and taken once. The browser gets a random binding cookie whose
  hash is in the same record, so a `state` started in someone else's browser cannot finish in ours
  (login CSRF), and a replayed callback finds nothing.
- The ID token is checked here, never trusted: RS256 signature against the provider's JWKS, `iss` equal to
  the discovered issuer, our client id in `aud` (and `azp`), `exp`/`iat` with 60 s of leeway, and our nonce.
- A user is found by (tenant, `sub`), then by e-mail inside the tenant; never across tenants. The role comes
  from the group mapping at every login, so the provider stays the source of truth; changes are audited.
- Failures raise `SsoError` with a reason; the route turns it into `/login?sso_error=<reason>`, and the reason
  is audited (never the tokens).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import session_scope, utcnow
from crm_app.domain.text import is_email, normalize_email
from crm_app.domain.urls import safe_next
from crm_app.errors import CRMError, ValidationError
from crm_app.integrations import oidc, outbound_urls
from crm_app.models import Role, SsoConfig, Tenant, User
from crm_app.queue import get_redis
from crm_app.services import settings
from crm_app.services.access import passwords, sessions, users
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)

PENDING_PREFIX = "crm:sso:pending:"
PENDING_SECONDS = 600
CACHE_SECONDS = 300
LEEWAY_SECONDS = 60
MAX_MAPPINGS = 50
ROLE_RANK = {"admin": 3, "supervisor": 2, "attendant": 1}
CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
CALLBACK_PATH = "/api/auth/sso/callback"
ENDPOINT_KEYS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
# Reasons a login can fail; each has `sso.error.<reason>` in the catalogues.
REASONS = ("unavailable", "denied", "bad_state", "provider", "invalid_token", "no_role", "deactivated",
           "not_provisioned", "no_email", "email_conflict")


class SsoError(CRMError):
    """A refused SSO login. `reason` picks the message shown on the login page."""

    code = "sso"
    status = 400

    def __init__(self, reason: str, detail: str = "", *, tenant_id: int | None = None,
                 next_path: str = "/") -> None:
        super().__init__(detail or reason)
        self.reason, self.tenant_id, self.next_path = reason, tenant_id, next_path


class DiscoveryError(CRMError):
    """The issuer's discovery document could not be fetched or is not usable."""

    code = "sso_discovery"
    status = 422


@dataclass(frozen=True)
class Discovery:
    """What we use from `/.well-known/openid-configuration`."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class SsoSettingsView:
    """The admin page's view of a tenant's config. The secret never leaves: only whether it is set."""

    enabled: bool
    issuer: str
    client_id: str
    secret_set: bool
    scopes: str
    groups_claim: str
    group_roles: tuple[tuple[str, str], ...]
    default_role: str | None
    auto_create_users: bool
    redirect_uri: str
    tenant_slug: str


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the binding cookie that ties the callback to it."""

    url: str
    binding: str  # the value of the browser binding cookie


@dataclass(frozen=True)
class LoginDone:
    """A finished SSO login: the new session token, where to go next, and who logged in."""

    token: str  # the session cookie's value
    next_path: str
    user_id: int
    role: str



def redirect_uri() -> str:
    """The callback URL to register at the provider; from settings, never from a request's Host header."""
    return get_settings().app_url.rstrip("/") + CALLBACK_PATH


def _config_row(session: Session, tenant_id: int) -> SsoConfig | None:
    return session.exec(select(SsoConfig).where(SsoConfig.tenant_id == tenant_id)).first()


def _view(row: SsoConfig | None, tenant: Tenant) -> SsoSettingsView:
    if row is None:
        return SsoSettingsView(False, "", "", False, "openid email profile", "groups", (), None, True,
                               redirect_uri(), tenant.slug)
    pairs = tuple(sorted((str(g), str(r)) for g, r in (row.group_roles or {}).items()))
    return SsoSettingsView(row.enabled, row.issuer, row.client_id, bool(row.client_secret), row.scopes,
                           row.groups_claim, pairs, row.default_role, row.auto_create_users, redirect_uri(),
                           tenant.slug)


def get_config(session: Session, *, actor: Actor) -> SsoSettingsView:
    """The tenant's SSO settings, for its admins."""
    require_role(actor, "admin")
    return _view(_config_row(session, actor.tenant_id), session.get(Tenant, actor.tenant_id))


def check_issuer(issuer: str) -> str:
    """A normalised issuer URL, or ValidationError: we fetch it, so it must pass the outbound-URL policy
    (https in production, a public address unless ALLOW_PRIVATE_OUTBOUND_URLS) and carry no query."""
    issuer = (issuer or "").strip().rstrip("/")
    if urlsplit(issuer).query or len(issuer) > 255:
        raise ValidationError("the issuer must be an https URL without a query", field="issuer")
    try:
        return outbound_urls.check_url(issuer)
    except outbound_urls.UrlNotAllowed as exc:
        raise ValidationError(f"issuer: {exc}", field="issuer") from None


def _clean_mapping(group_roles: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for group, role in group_roles.items():
        group = str(group).strip()
        if not group:
            continue
        if len(group) > 200 or role not in ROLE_RANK:
            raise ValidationError("each group needs a name and a role", field="group_roles")
        cleaned[group] = role
    if len(cleaned) > MAX_MAPPINGS:
        raise ValidationError("too many group mappings", field="group_roles")
    return cleaned


def _validate(*, enabled: bool, issuer: str, client_id: str, secret_set: bool, scopes: str, groups_claim: str,
              default_role: str | None) -> None:
    if enabled and not client_id:
        raise ValidationError("the client id is required", field="client_id")
    if enabled and not secret_set:
        raise ValidationError("the client secret is required", field="client_secret")
    if "openid" not in scopes.split() or len(scopes) > 255:
        raise ValidationError("the scopes must include openid", field="scopes")
    if not CLAIM_NAME.match(groups_claim):
        raise ValidationError("the groups claim is not a valid claim name", field="groups_claim")
    if default_role is not None and default_role not in ROLE_RANK:
        raise ValidationError("unknown role", field="default_role")
    if enabled and not issuer:
        raise ValidationError("the issuer is required", field="issuer")


def save_config(
    session: Session, *, actor: Actor, enabled: bool, issuer: str, client_id: str, client_secret: str | None,
    scopes: str, groups_claim: str, group_roles: dict[str, str], default_role: str | None,
    auto_create_users: bool,
) -> SsoSettingsView:
    """Create or update the tenant's config. An empty `client_secret` keeps the stored one (write-only field)."""
    require_role(actor, "admin")
    issuer = check_issuer(issuer) if issuer.strip() or enabled else ""
    client_id, scopes, groups_claim = client_id.strip(), " ".join(scopes.split()), groups_claim.strip()
    mapping = _clean_mapping(group_roles)
    row = _config_row(session, actor.tenant_id)
    new_secret = (client_secret or "").strip()
    _validate(enabled=enabled, issuer=issuer, client_id=client_id, secret_set=bool(new_secret) or bool(
        row and row.client_secret), scopes=scopes, groups_claim=groups_claim, default_role=default_role)
    before = _audit_view(row)
    if row is None:
        row = SsoConfig(tenant_id=actor.tenant_id, issuer=issuer, client_id=client_id,
                        client_secret=new_secret, group_roles={})
    row.enabled, row.issuer, row.client_id, row.scopes, row.groups_claim = (
        enabled, issuer, client_id, scopes, groups_claim)
    row.group_roles, row.default_role, row.auto_create_users = mapping, default_role, auto_create_users
    if new_secret:
        row.client_secret = new_secret
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    after = {**_audit_view(row), "secret_changed": bool(new_secret)}
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="sso.config_updated",
                 target_type="sso_config", target_id=row.id, before=before, after=after)
    forget_caches()
    return _view(row, session.get(Tenant, actor.tenant_id))


def _audit_view(row: SsoConfig | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"enabled": row.enabled, "issuer": row.issuer, "client_id": row.client_id, "scopes": row.scopes,
            "groups_claim": row.groups_claim, "group_roles": dict(row.group_roles or {}),
            "default_role": row.default_role, "auto_create_users": row.auto_create_users}


def test_discovery(*, actor: Actor, issuer: str) -> Discovery:
    """The admin's "Testar descoberta" button: fetch the document now (no cache) and return the endpoints."""
    require_role(actor, "admin")
    return fetch_discovery(check_issuer(issuer), use_cache=False)


test_discovery.__test__ = False  # type: ignore[attr-defined]  (not a pytest test)


DEMO_GROUPS = {"crm-admins": "admin", "crm-supervisors": "supervisor", "crm-attendants": "attendant"}


def seed_demo(session: Session, *, tenant_id: int, issuer: str) -> bool:
    """The demo tenant signs in through the sandbox's fake provider (`/oidc`). Idempotent; True if created."""
    if _config_row(session, tenant_id) is not None:
        return False
    config = get_settings()
    session.add(SsoConfig(tenant_id=tenant_id, enabled=config.demo_sso_enabled, issuer=issuer,
                          client_id=config.demo_sso_client_id,
                          client_secret=config.demo_sso_client_secret.get_secret_value(),
                          group_roles=dict(DEMO_GROUPS), default_role=None, auto_create_users=True))
    return True


_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def forget_caches() -> None:
    """Drop cached discovery documents and key sets (after a config change, and in tests)."""
    with _cache_lock:
        _cache.clear()


def _get_json(url: str) -> dict[str, Any]:
    try:
        return oidc.get_json(url)
    except oidc.OidcHttpError as exc:
        raise DiscoveryError(str(exc)) from None


def _cached(key: str, load, use_cache: bool = True):
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if use_cache and hit and hit[0] > now:
        return hit[1]
    value = load()
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, value)
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_endpoints(issuer: str, doc: dict[str, Any]) -> None:
    """Every endpoint we send a browser or a request to must live at the issuer's origin (or one allowed by
    the setting system.sso_endpoint_origins): otherwise a document could make /api/auth/sso/start redirect
    anywhere, or point our server at another host than the one the admin named."""
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not doc.get(k)]
    if missing:
        raise DiscoveryError(f"the document lacks {', '.join(missing)}")
    extra = settings.value(None, "system.sso_endpoint_origins", tenant_id=None)
    allowed = {_origin(issuer), *(o.strip().rstrip("/").lower() for o in extra.split(",") if o.strip())}
    for key in ENDPOINT_KEYS:
        value = doc.get(key)
        if value is None and key == "userinfo_endpoint":
            continue
        parts = urlsplit(str(value))
        if (not isinstance(value, str) or parts.scheme not in outbound_urls.allowed_schemes() or parts.username
                or parts.password or _origin(value) not in allowed):
            raise DiscoveryError(f"the document's {key} is not at the issuer's address")


def fetch_discovery(issuer: str, *, use_cache: bool = True) -> Discovery:
    """The issuer's discovery document, checked: its `issuer` must be exactly ours, the endpoints present and at
    the issuer's origin."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"

    def load() -> Discovery:
        doc = _get_json(url)
        if str(doc.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise DiscoveryError(f"the document names another issuer: {str(doc.get('issuer'))[:100]!r}")
        _check_endpoints(issuer, doc)
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return Discovery(issuer=str(doc["issuer"]), authorization_endpoint=str(doc["authorization_endpoint"]),
                         token_endpoint=str(doc["token_endpoint"]), jwks_uri=str(doc["jwks_uri"]),
                         userinfo_endpoint=doc.get("userinfo_endpoint"), auth_methods=tuple(methods))

    return _cached("discovery:" + url, load, use_cache)


def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    return KeySet.import_key_set(_cached("jwks:" + jwks_uri, lambda: _get_json(jwks_uri), use_cache=not refresh))



def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _client(config: SsoConfig, discovery: Discovery) -> oidc.ClientSpec:
    method = "client_secret_basic" if "client_secret_basic" in discovery.auth_methods else "client_secret_post"
    return oidc.ClientSpec(client_id=config.client_id, client_secret=config.client_secret, scope=config.scopes,
                           redirect_uri=redirect_uri(), auth_method=method)


def _enabled_config(session: Session, tenant: Tenant | None) -> SsoConfig:
    if tenant is None:
        raise SsoError("unavailable", "unknown tenant")
    row = _config_row(session, tenant.id)
    if not tenant.is_active or row is None or not row.enabled:
        raise SsoError("unavailable", "SSO is not enabled", tenant_id=tenant.id)
    session.expunge(row)
    return row


def begin_login(tenant_slug: str, next_path: str | None = None) -> LoginStart:
    """Leg one: the provider's authorization URL with state, nonce and PKCE, and the browser binding.

    Every refusal is "unavailable", a provider that cannot be reached included: the answer must not tell a
    slug with SSO set up (or a failing provider) from an unknown one. The log keeps the detail.
    """
    slug = (tenant_slug or "").strip().lower()[:60]
    with session_scope() as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first() if slug else None
        config = _enabled_config(session, tenant)
    try:
        discovery = fetch_discovery(config.issuer)
    except DiscoveryError as exc:
        log.info("sso start of tenant %s refused: %s", config.tenant_id, exc.message)
        raise SsoError("unavailable", exc.message, tenant_id=config.tenant_id) from None
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    binding = secrets.token_urlsafe(32)
    pending = {"tenant_id": config.tenant_id, "nonce": nonce, "verifier": verifier, "binding": _hash(binding),
               "next": safe_next(next_path), "issuer": config.issuer}
    get_redis().set(PENDING_PREFIX + _hash(state), json.dumps(pending), ex=PENDING_SECONDS)
    url = oidc.authorization_url(_client(config, discovery), discovery.authorization_endpoint, state=state,
                                 nonce=nonce, code_verifier=verifier)
    return LoginStart(url=url, binding=binding)


def _take_pending(state: str | None, binding: str | None) -> dict[str, Any]:
    """The login this callback belongs to, taken once; it must have started in this browser."""
    if not state or len(state) > 200:
        raise SsoError("bad_state", "missing state")
    raw = get_redis().getdel(PENDING_PREFIX + _hash(state))
    if raw is None:
        raise SsoError("bad_state", "unknown, used or expired state")
    pending = json.loads(raw)
    if not binding or not secrets.compare_digest(_hash(binding), pending["binding"]):
        raise SsoError("bad_state", "the login did not start in this browser", tenant_id=pending["tenant_id"])
    return pending


def finish_login(*, state: str | None, code: str | None, error: str | None, binding: str | None,
                 ip: str | None = None, user_agent: str | None = None) -> LoginDone:
    """Leg two: check the callback, exchange the code, verify the ID token, then find or create the user.

    Every refusal is audited in the tenant (when known) before SsoError reaches the route.
    """
    pending: dict[str, Any] | None = None
    try:
        pending = _take_pending(state, binding)
        claims = _exchange(pending, code=code, error=error)
        return _sign_in(pending, claims, ip=ip, user_agent=user_agent)
    except SsoError as exc:
        tenant_id = exc.tenant_id or (pending or {}).get("tenant_id")
        exc.next_path = (pending or {}).get("next", "/")
        if tenant_id is not None:
            _audit_failure(tenant_id, exc, ip=ip)
        log.info("sso login refused: %s (%s)", exc.reason, exc.message)
        raise


def _exchange(pending: dict[str, Any], *, code: str | None, error: str | None) -> dict[str, Any]:
    tenant_id = pending["tenant_id"]
    if error:
        raise SsoError("denied", f"provider said {error[:60]}", tenant_id=tenant_id)
    if not code or len(code) > 2000:
        raise SsoError("bad_state", "missing code", tenant_id=tenant_id)
    with session_scope() as session:
        config = _enabled_config(session, session.get(Tenant, tenant_id))
    if config.issuer != pending["issuer"]:
        raise SsoError("bad_state", "the issuer changed during the login", tenant_id=tenant_id)
    try:
        discovery = fetch_discovery(config.issuer)
        token = oidc.exchange_code(_client(config, discovery), discovery.token_endpoint, code=code,
                                   code_verifier=pending["verifier"])
    except DiscoveryError as exc:
        raise SsoError("provider", exc.message, tenant_id=tenant_id) from None
    except oidc.OidcHttpError as exc:  # the provider refused the code (or PKCE) or failed
        raise SsoError("provider", str(exc), tenant_id=tenant_id) from None
    if not token.get("id_token"):
        raise SsoError("invalid_token", "the token response has no id_token", tenant_id=tenant_id)
    try:
        return verify_id_token(token["id_token"], discovery=discovery, client_id=config.client_id,
                               nonce=pending["nonce"], access_token=token.get("access_token"))
    except SsoError as exc:
        exc.tenant_id = tenant_id
        raise


def verify_id_token(id_token: str, *, discovery: Discovery, client_id: str, nonce: str,
                    access_token: str | None = None, now: int | None = None) -> dict[str, Any]:
    """The ID token's claims, once its RS256 signature, issuer, audience, times and nonce are right."""
    try:
        try:
            token = jwt.decode(id_token, _key_set(discovery.jwks_uri), algorithms=["RS256"])
        except InvalidKeyIdError:  # the provider rotated its keys: fetch them once more
            token = jwt.decode(id_token, _key_set(discovery.jwks_uri, refresh=True), algorithms=["RS256"])
        options = {"iss": {"essential": True, "value": discovery.issuer},
                   "aud": {"essential": True, "value": client_id}}
        claims = CodeIDToken(token.claims, token.header, options,
                             {"nonce": nonce, "client_id": client_id, "access_token": access_token})
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except DiscoveryError as exc:
        raise SsoError("provider", exc.message) from None
    except (JoseError, ValueError, TypeError) as exc:
        raise SsoError("invalid_token", f"ID token refused: {type(exc).__name__}: {exc}"[:300]) from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SsoError("invalid_token", "the ID token has no sub")
    return dict(claims)


def map_role(groups: list[str], group_roles: dict[str, str], default_role: str | None) -> str | None:
    """The strongest role any of the user's groups maps to, else the default role (None refuses)."""
    roles = [group_roles[g] for g in groups if g in group_roles and group_roles[g] in ROLE_RANK]
    return max(roles, key=ROLE_RANK.__getitem__) if roles else default_role


def _groups(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [g.strip() for g in value.split(",") if g.strip()]
    if isinstance(value, list):
        return [str(g) for g in value if isinstance(g, str | int)]
    return []


def _find_user(session: Session, tenant_id: int, claims: dict[str, Any]) -> User | None:
    """By (tenant, sub), then by e-mail in the same tenant. An e-mail owned by another tenant is refused."""
    user = session.exec(select(User).where(User.tenant_id == tenant_id,
                                           User.sso_subject == claims["sub"])).first()
    if user is not None:
        return user
    email = normalize_email(str(claims.get("email") or ""))
    if not email:
        return None
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        return None
    if user.tenant_id != tenant_id:
        raise SsoError("email_conflict", "the e-mail belongs to another tenant", tenant_id=tenant_id)
    if user.sso_subject and user.sso_subject != claims["sub"]:
        raise SsoError("email_conflict", "the e-mail is linked to another SSO identity", tenant_id=tenant_id)
    if claims.get("email_verified") is False:
        raise SsoError("email_conflict", "the provider has not verified this e-mail", tenant_id=tenant_id)
    return user


def _sign_in(pending: dict[str, Any], claims: dict[str, Any], *, ip: str | None,
             user_agent: str | None) -> LoginDone:
    tenant_id = pending["tenant_id"]
    with session_scope() as session:
        tenant = session.get(Tenant, tenant_id)
        config = _config_row(session, tenant_id)
        if tenant is None or not tenant.is_active or config is None or not config.enabled:
            raise SsoError("unavailable", "SSO switched off during the login", tenant_id=tenant_id)
        role = map_role(_groups(claims, config.groups_claim), dict(config.group_roles or {}), config.default_role)
        if role is None:
            raise SsoError("no_role", "none of the user's groups is mapped", tenant_id=tenant_id)
        user = _find_user(session, tenant_id, claims)
        if user is None:
            user = _provision(session, config, claims, role)
        elif not user.is_active:
            raise SsoError("deactivated", "the user is deactivated", tenant_id=tenant_id)
        else:
            role = _update(session, user, claims, role)
        token = sessions.open_session(session, user=user, ip=ip, user_agent=user_agent, auth_method="sso")
        audit.record(session, actor=sessions.actor_for(user, ip=ip), tenant_id=tenant_id, action="sso.login",
                     target_type="user", target_id=user.id, after={"sub": claims["sub"], "role": role, "ip": ip})
        return LoginDone(token=token, next_path=pending.get("next", "/"), user_id=user.id, role=role)


def _provision(session: Session, config: SsoConfig, claims: dict[str, Any], role: str) -> User:
    """Just-in-time: a new user of this tenant, without a usable password."""
    if not config.auto_create_users:
        raise SsoError("not_provisioned", "no such user and JIT creation is off", tenant_id=config.tenant_id)
    email = normalize_email(str(claims.get("email") or ""))
    if not is_email(email):
        raise SsoError("no_email", "the ID token has no usable e-mail", tenant_id=config.tenant_id)
    name = str(claims.get("name") or email.split("@")[0]).strip()[:120]
    user = User(tenant_id=config.tenant_id, email=email, name=name, role=Role(role),
                password_hash=passwords.unusable_password(), sso_subject=claims["sub"])
    session.add(user)
    session.flush()
    audit.record(session, actor=None, tenant_id=config.tenant_id, action="sso.user_provisioned",
                 target_type="user", target_id=user.id, after={"email": email, "role": role, "sub": claims["sub"]})
    return user


def _update(session: Session, user: User, claims: dict[str, Any], role: str) -> str:
    """Link the SSO identity on first use, and apply the mapped role (the provider is the source of truth),
    except that the tenant's last active admin stays admin (audited): a mapping mistake must not leave the
    tenant with nobody who can fix it. Returns the role the user has now."""
    if user.sso_subject is None:
        user.sso_subject = claims["sub"]
        audit.record(session, actor=None, tenant_id=user.tenant_id, action="sso.user_linked",
                     target_type="user", target_id=user.id, after={"sub": claims["sub"]})
    if user.role == Role.ADMIN and role != "admin" and not users.another_active_admin(
            session, tenant_id=user.tenant_id, leaving_id=user.id):
        audit.record(session, actor=None, tenant_id=user.tenant_id, action="sso.role_change_refused",
                     target_type="user", target_id=user.id, before={"role": "admin"},
                     after={"role": role, "reason": "last_admin"})
        session.add(user)
        return "admin"
    if str(user.role) != role:
        audit.record(session, actor=None, tenant_id=user.tenant_id, action="sso.role_changed",
                     target_type="user", target_id=user.id, before={"role": str(user.role)}, after={"role": role})
        user.role = Role(role)
    session.add(user)
    return role


def _audit_failure(tenant_id: int, exc: SsoError, *, ip: str | None) -> None:
    try:
        with session_scope() as session:
            audit.record(session, actor=None, tenant_id=tenant_id, action="sso.login_failed",
                         target_type="tenant", target_id=tenant_id,
                         after={"reason": exc.reason, "detail": exc.message[:200], "ip": ip})
    except Exception:  # the refusal must still reach the user
        log.exception("could not audit a refused SSO login")
