"""The sandbox's fake OpenID Connect provider speaks the real protocol, and refuses what a real one refuses."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from crm_app.sandbox import oidc_fake
from crm_app.sandbox.app import create_app

BASE = "http://127.0.0.1:8765"
ISSUER = f"{BASE}/oidc"
REDIRECT = "http://127.0.0.1:3000/api/auth/sso/callback"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
async def client():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url=BASE) as c:
        registered = await c.post("/oidc/control/clients", json={
            "client_id": "rp", "client_secret": "s3cret", "redirect_uris": [REDIRECT]})
        assert registered.status_code == 200
        yield c


def _params(verifier: str, **extra) -> dict[str, str]:
    return {"client_id": "rp", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid email",
            "state": "st-1", "nonce": "n-1", "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256", **extra}


async def _code(client, verifier: str, **person) -> str:
    form = {**_params(verifier), "sub": "u-1", "email": "u@example.com", "name": "U", "groups": "g1, g2",
            "action": "allow", **person}
    answer = await client.post("/oidc/authorize", data=form)
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


async def test_discovery_names_itself_and_its_endpoints(client):
    doc = (await client.get("/oidc/.well-known/openid-configuration")).json()
    assert doc["issuer"] == ISSUER and doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}


async def test_the_authorize_page_is_pt_br_without_a_cdn(client):
    page = await client.get("/oidc/authorize", params=_params("v" * 50))
    assert page.status_code == 200 and 'lang="pt-BR"' in page.text
    assert "Negar acesso" in page.text and "Entrar" in page.text and "http" not in page.text.split("<form")[0]
    assert "<script" not in page.text and "https://" not in page.text


@pytest.mark.parametrize("bad", [{"client_id": "nobody"}, {"redirect_uri": "https://evil.example/cb"},
                                 {"code_challenge": ""}, {"code_challenge_method": "plain"}, {"scope": "email"}])
async def test_bad_authorization_requests_never_redirect(client, bad):
    page = await client.get("/oidc/authorize", params=_params("v" * 50, **bad))
    assert page.status_code == 400 and "location" not in page.headers


async def test_deny_goes_back_with_access_denied(client):
    answer = await client.post("/oidc/authorize", data={**_params("v" * 50), "action": "deny"})
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert answer.headers["location"].startswith(REDIRECT)
    assert query["error"] == ["access_denied"] and query["state"] == ["st-1"]


async def test_code_flow_with_basic_auth_signs_a_verifiable_rs256_id_token(client):
    verifier = secrets.token_urlsafe(48)
    code = await _code(client, verifier)
    token = await client.post("/oidc/token", auth=("rp", "s3cret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    keys = KeySet.import_key_set((await client.get("/oidc/jwks")).json())
    decoded = jwt.decode(token.json()["id_token"], keys, algorithms=["RS256"])
    claims = decoded.claims
    assert decoded.header["alg"] == "RS256"
    assert (claims["iss"], claims["aud"], claims["nonce"], claims["sub"], claims["groups"]) == (
        ISSUER, "rp", "n-1", "u-1", ["g1", "g2"])
    assert claims["iat"] <= time.time() < claims["exp"] and claims["email"] == "u@example.com"
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert info.json()["sub"] == "u-1"
    again = await client.post("/oidc/token", auth=("rp", "s3cret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # single use


async def test_client_secret_post_works_and_a_wrong_secret_does_not(client):
    verifier = secrets.token_urlsafe(48)
    body = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code_verifier": verifier,
            "client_id": "rp"}
    wrong = await client.post("/oidc/token", data={**body, "code": await _code(client, verifier),
                                                   "client_secret": "nope"})
    right = await client.post("/oidc/token", data={**body, "code": await _code(client, verifier),
                                                   "client_secret": "s3cret"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert right.status_code == 200 and "id_token" in right.json()


async def test_pkce_is_verified(client):
    verifier = secrets.token_urlsafe(48)
    for sent in ("", secrets.token_urlsafe(48)):
        refused = await client.post("/oidc/token", auth=("rp", "s3cret"), data={
            "grant_type": "authorization_code", "code": await _code(client, verifier), "redirect_uri": REDIRECT,
            "code_verifier": sent})
        assert refused.status_code == 400 and "PKCE" in refused.json()["error_description"]


async def test_codes_are_short_lived(client, monkeypatch):
    verifier = secrets.token_urlsafe(48)
    code = await _code(client, verifier)
    later = time.time() + oidc_fake.CODE_TTL_SECONDS + 1
    monkeypatch.setattr(oidc_fake.time, "time", lambda: later)
    late = await client.post("/oidc/token", auth=("rp", "s3cret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_presets_fill_the_person(client):
    verifier = secrets.token_urlsafe(48)
    code = await _code(client, verifier, preset="admin", sub="")
    token = await client.post("/oidc/token", auth=("rp", "s3cret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    claims = jwt.decode(token.json()["id_token"], KeySet.import_key_set((await client.get("/oidc/jwks")).json()),
                        algorithms=["RS256"]).claims
    assert claims["groups"] == ["crm-admins"] and claims["sub"] == oidc_fake.PRESETS["admin"]["sub"]
