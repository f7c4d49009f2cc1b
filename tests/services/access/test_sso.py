"""OIDC SSO against the sandbox's fake provider over real HTTP: state, nonce, PKCE, token checks, provisioning.

The fake runs under uvicorn on a free port; our service talks to it exactly as to a real provider. The tester's
choice on the authorize page is a form POST, as the browser makes it.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.errors import PermissionDenied, ValidationError
from crm_app.integrations import outbound_urls
from crm_app.models import AuditLog, SsoConfig, User, UserSession
from crm_app.queue import get_redis
from crm_app.sandbox.oidc_fake import OidcFake, create_oidc_app
from crm_app.services.access import sessions, sso
from tests.factories import make_tenant, make_user
from tests.support import prelogin

CLIENT_ID, CLIENT_SECRET = "crm-test", "test-sso-secret"
MAPPING = {"crm-admins": "admin", "crm-supervisors": "supervisor", "crm-attendants": "attendant"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def idp():
    """The fake provider, served for real; our callback URL is registered as its client's redirect URI."""
    fake = OidcFake()
    fake.register(CLIENT_ID, CLIENT_SECRET, [sso.redirect_uri()])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_oidc_app(fake), host="127.0.0.1", port=port,
                                           log_level="warning", root_path=""))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    fake.issuer = f"http://127.0.0.1:{port}"
    yield fake
    server.should_exit = True


@pytest.fixture
def tenant(db, idp):
    sso.forget_caches()
    idp.tamper = None
    row = make_tenant(db)
    db.add(SsoConfig(tenant_id=row.id, enabled=True, issuer=idp.issuer, client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET, group_roles=dict(MAPPING)))
    db.commit()
    return row


def _authorize(url: str, **person) -> dict[str, str]:
    """Play the tester on the fake's page: GET it, then POST the choice. Returns the callback's query."""
    with httpx.Client() as client:
        page = client.get(url)
        assert page.status_code == 200 and "Provedor de identidade" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        form.update(person)
        answer = client.post(url.split("?")[0], data=form)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(sso.redirect_uri())
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _login(slug: str, next_path: str = "/inbox", **person) -> sso.LoginDone:
    start = sso.begin_login(slug, next_path)
    back = _authorize(start.url, **person)
    return sso.finish_login(state=back.get("state"), code=back.get("code"), error=back.get("error"),
                            binding=start.binding, ip="10.0.0.9")


def _person(sub="idp-1", email="pessoa@example.com", groups="crm-admins", name="Pessoa"):
    return {"sub": sub, "email": email, "name": name, "groups": groups, "action": "allow"}


def _reason(excinfo) -> str:
    return excinfo.value.reason


def _actions(db, tenant_id) -> list[str]:
    db.expire_all()
    return [r.action for r in db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id)
                                      .order_by(AuditLog.id)).all()]


def test_authorization_request_carries_state_nonce_and_pkce_s256(tenant):
    start = sso.begin_login(tenant.slug, "/inbox")
    query = parse_qs(urlsplit(start.url).query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 40 and len(query["nonce"][0]) >= 40
    assert query["redirect_uri"] == [sso.redirect_uri()] and "openid" in query["scope"][0].split()
    assert sso.begin_login(tenant.slug).url != start.url  # fresh values every time


def test_first_login_provisions_the_user_with_the_mapped_role_and_an_sso_session(db, tenant):
    done = _login(tenant.slug, **_person(groups="crm-attendants, crm-supervisors"))
    assert done.next_path == "/inbox" and done.role == "supervisor"  # the strongest mapped group wins
    user = db.get(User, done.user_id)
    assert (user.tenant_id, user.sso_subject, user.email, str(user.role)) == (
        tenant.id, "idp-1", "pessoa@example.com", "supervisor")
    assert not user.password_hash.startswith("$2")  # no usable password
    row = db.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert row.auth_method == "sso"
    assert sessions.resolve_actor(done.token).user_id == user.id
    assert {"sso.user_provisioned", "sso.login"} <= set(_actions(db, tenant.id))


def test_the_role_follows_the_groups_at_every_login_and_is_audited(db, tenant):
    make_user(db, tenant.id, role="admin")  # another admin: the last one is never demoted (tests/security)
    first = _login(tenant.slug, **_person(groups="crm-admins"))
    second = _login(tenant.slug, **_person(groups="crm-attendants"))
    assert first.user_id == second.user_id and second.role == "attendant"
    db.expire_all()
    assert str(db.get(User, first.user_id).role) == "attendant"
    change = db.exec(select(AuditLog).where(AuditLog.action == "sso.role_changed")).one()
    assert (change.before, change.after) == ({"role": "admin"}, {"role": "attendant"})


def test_an_existing_password_user_is_linked_by_email_in_the_same_tenant(db, tenant):
    existing = make_user(db, tenant.id, role="attendant", email="ana@example.com")
    done = _login(tenant.slug, **_person(sub="idp-ana", email="ANA@example.com", groups="crm-attendants"))
    assert done.user_id == existing.user_id
    db.expire_all()
    assert db.get(User, existing.user_id).sso_subject == "idp-ana"
    assert "sso.user_linked" in _actions(db, tenant.id)


def test_no_mapped_group_is_refused_and_audited(db, tenant):
    with pytest.raises(sso.SsoError) as excinfo:
        _login(tenant.slug, **_person(groups="marketing"))
    assert _reason(excinfo) == "no_role"
    assert db.exec(select(User).where(User.tenant_id == tenant.id)).all() == []
    failed = db.exec(select(AuditLog).where(AuditLog.action == "sso.login_failed")).one()
    assert failed.after["reason"] == "no_role" and failed.after["ip"] == "10.0.0.9"


def test_a_default_role_admits_users_in_no_mapped_group(db, tenant):
    config = db.exec(select(SsoConfig).where(SsoConfig.tenant_id == tenant.id)).one()
    config.default_role = "attendant"
    db.add(config)
    db.commit()
    assert _login(tenant.slug, **_person(groups="")).role == "attendant"


def test_denied_at_the_provider(tenant):
    with pytest.raises(sso.SsoError) as excinfo:
        _login(tenant.slug, action="deny")
    assert _reason(excinfo) == "denied"


def test_state_is_single_use_and_bound_to_the_browser(tenant):
    start = sso.begin_login(tenant.slug)
    back = _authorize(start.url, **_person())
    with pytest.raises(sso.SsoError) as wrong_browser:
        sso.finish_login(state=back["state"], code=back["code"], error=None, binding="another-browser")
    assert _reason(wrong_browser) == "bad_state"
    with pytest.raises(sso.SsoError) as replay:  # the state was taken by the failed attempt
        sso.finish_login(state=back["state"], code=back["code"], error=None, binding=start.binding)
    assert _reason(replay) == "bad_state"
    with pytest.raises(sso.SsoError) as unknown:
        sso.finish_login(state="made-up", code="x", error=None, binding=start.binding)
    assert _reason(unknown) == "bad_state"


def test_a_successful_callback_cannot_be_replayed(tenant):
    start = sso.begin_login(tenant.slug)
    back = _authorize(start.url, **_person())
    sso.finish_login(state=back["state"], code=back["code"], error=None, binding=start.binding)
    with pytest.raises(sso.SsoError) as excinfo:
        sso.finish_login(state=back["state"], code=back["code"], error=None, binding=start.binding)
    assert _reason(excinfo) == "bad_state"


def test_pkce_a_wrong_verifier_is_refused_by_the_provider(tenant):
    start = sso.begin_login(tenant.slug)
    back = _authorize(start.url, **_person())
    key = sso.PENDING_PREFIX + sso._hash(back["state"])
    pending = get_redis().get(key).decode().replace('"verifier": "', '"verifier": "x')
    get_redis().set(key, pending)
    with pytest.raises(sso.SsoError) as excinfo:
        sso.finish_login(state=back["state"], code=back["code"], error=None, binding=start.binding)
    assert _reason(excinfo) == "provider" and "PKCE" in excinfo.value.message


@pytest.mark.parametrize("mode", ["wrong_key", "wrong_aud", "wrong_iss", "expired", "bad_nonce", "no_nonce"])
def test_a_spoiled_id_token_is_refused(db, tenant, idp, mode):
    idp.tamper = mode
    with pytest.raises(sso.SsoError) as excinfo:
        _login(tenant.slug, **_person())
    assert _reason(excinfo) == "invalid_token", excinfo.value.message
    assert db.exec(select(User).where(User.tenant_id == tenant.id)).all() == []


def test_unknown_tenant_and_disabled_sso_are_unavailable(db, tenant):
    with pytest.raises(sso.SsoError) as unknown:
        sso.begin_login("no-such-company")
    assert _reason(unknown) == "unavailable"
    config = db.exec(select(SsoConfig).where(SsoConfig.tenant_id == tenant.id)).one()
    config.enabled = False
    db.add(config)
    db.commit()
    with pytest.raises(sso.SsoError) as disabled:
        sso.begin_login(tenant.slug)
    assert _reason(disabled) == "unavailable"


def test_a_deactivated_user_is_refused(db, tenant):
    done = _login(tenant.slug, **_person())
    user = db.get(User, done.user_id)
    user.is_active = False
    db.add(user)
    db.commit()
    with pytest.raises(sso.SsoError) as excinfo:
        _login(tenant.slug, **_person())
    assert _reason(excinfo) == "deactivated"


def test_without_jit_an_unknown_person_is_refused(db, tenant):
    config = db.exec(select(SsoConfig).where(SsoConfig.tenant_id == tenant.id)).one()
    config.auto_create_users = False
    db.add(config)
    db.commit()
    with pytest.raises(sso.SsoError) as excinfo:
        _login(tenant.slug, **_person())
    assert _reason(excinfo) == "not_provisioned"


def test_never_across_tenants(db, tenant, idp):
    other = make_tenant(db)
    db.add(SsoConfig(tenant_id=other.id, enabled=True, issuer=idp.issuer, client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET, group_roles=dict(MAPPING)))
    db.commit()
    theirs = make_user(db, other.id, role="admin", email="chefe@example.com")
    with pytest.raises(sso.SsoError) as excinfo:  # the e-mail belongs to the other tenant
        _login(tenant.slug, **_person(sub="idp-chefe", email="chefe@example.com"))
    assert _reason(excinfo) == "email_conflict"
    mine = _login(tenant.slug, **_person(sub="same-sub", email="um@example.com"))
    in_other = _login(other.slug, **_person(sub="same-sub", email="dois@example.com"))
    assert mine.user_id != in_other.user_id != theirs.user_id
    assert db.get(User, in_other.user_id).tenant_id == other.id


def test_config_is_admin_only_and_the_secret_is_encrypted_and_write_only(db, tenant, idp):
    admin = make_user(db, tenant.id, role="admin")
    view = sso.save_config(db, actor=admin, enabled=True, issuer=idp.issuer + "/", client_id="c2",
                           client_secret="", scopes="openid  email", groups_claim="roles",
                           group_roles={"ops": "supervisor", " ": "admin"}, default_role=None,
                           auto_create_users=False)
    db.commit()
    assert view.secret_set and view.issuer == idp.issuer and view.group_roles == (("ops", "supervisor"),)
    assert view.redirect_uri.endswith("/api/auth/sso/callback") and view.tenant_slug == tenant.slug
    stored = db.execute(text("SELECT client_secret FROM sso_configs WHERE tenant_id = :t"),
                        {"t": tenant.id}).scalar_one()
    assert stored.startswith("v1:") and CLIENT_SECRET not in stored
    sso.save_config(db, actor=admin, enabled=True, issuer=idp.issuer, client_id="c2", client_secret="new-one",
                    scopes="openid", groups_claim="groups", group_roles={}, default_role="attendant",
                    auto_create_users=True)
    db.commit()
    db.expire_all()
    assert db.exec(select(SsoConfig).where(SsoConfig.tenant_id == tenant.id)).one().client_secret == "new-one"
    updates = db.exec(select(AuditLog).where(AuditLog.action == "sso.config_updated")).all()
    assert [u.after["secret_changed"] for u in updates] == [False, True]
    assert all("new-one" not in str(u.after) + str(u.before) for u in updates)
    with pytest.raises(PermissionDenied):
        sso.get_config(db, actor=make_user(db, tenant.id, role="supervisor"))
    with pytest.raises(ValidationError):
        sso.save_config(db, actor=admin, enabled=True, issuer="ftp://x", client_id="c", client_secret="s",
                        scopes="openid", groups_claim="groups", group_roles={}, default_role=None,
                        auto_create_users=True)
    with pytest.raises(ValidationError):
        sso.save_config(db, actor=admin, enabled=True, issuer=idp.issuer, client_id="c", client_secret="s",
                        scopes="email", groups_claim="groups", group_roles={}, default_role=None,
                        auto_create_users=True)


def test_discovery_check_shows_the_endpoints_or_a_clear_error(db, tenant, idp):
    admin = make_user(db, tenant.id, role="admin")
    found = sso.test_discovery(actor=admin, issuer=idp.issuer)
    assert found.token_endpoint == idp.issuer + "/token" and found.jwks_uri == idp.issuer + "/jwks"
    with pytest.raises(sso.DiscoveryError) as excinfo:
        sso.test_discovery(actor=admin, issuer=f"http://127.0.0.1:{_free_port()}")
    assert excinfo.value.message == outbound_urls.GENERIC_ERROR
    with pytest.raises(sso.DiscoveryError, match="another issuer"):
        sso.test_discovery(actor=admin, issuer=idp.issuer + "/jwks/..")


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", cookies=prelogin.COOKIES) as c:
        yield c


async def test_routes_redirect_to_the_provider_and_back_with_the_session_cookie(client, tenant, db):
    start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(tenant.slug, next="/settings"))
    assert start.status_code == 303 and start.headers["location"].startswith(tenant and sso.fetch_discovery(
        db.exec(select(SsoConfig)).first().issuer).authorization_endpoint)
    binding = start.headers["set-cookie"]
    assert binding.startswith("crm_sso=") and "HttpOnly" in binding and "Path=/api/auth/sso" in binding
    import anyio

    back = await anyio.to_thread.run_sync(lambda: _authorize(start.headers["location"], **_person()))
    done = await client.get("/api/auth/sso/callback", params=back)
    assert done.status_code == 303 and done.headers["location"] == "/settings"
    cookies = done.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{sessions.COOKIE_NAME}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie


async def test_route_errors_land_on_the_login_page_with_a_reason(client, tenant):
    unknown = await client.get("/api/auth/sso/start", params=prelogin.sso_start("nope", next="//evil.example"))
    assert unknown.status_code == 303 and unknown.headers["location"] == "/login?sso_error=unavailable"
    forged = await client.get("/api/auth/sso/callback", params={"state": "forged", "code": "x"})
    assert forged.headers["location"] == "/login?sso_error=bad_state"
