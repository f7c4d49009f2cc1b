"""A fake OpenID Connect provider, mounted in the sandbox under `/oidc`.

It speaks the real wire format of the authorization code flow, so our SSO code talks to it exactly as it
talks to Keycloak, Entra ID or Google: discovery, an authorize page (pt-BR, plain HTML, nothing from a CDN)
where the tester picks who signs in or denies, a token endpoint (client_secret_basic or client_secret_post,
PKCE S256 required, codes single-use and short-lived), RS256 ID tokens signed with a key made at start,
a JWKS and userinfo. Everything lives in memory.

Control routes (for tests and the demo): `POST /oidc/control/clients` registers a client, and
`POST /oidc/control/tamper` spoils the next ID token once (wrong key, audience, issuer, nonce or expired),
so the relying party's checks can be proven over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm_app.config import get_settings

CODE_TTL_SECONDS = 60
TOKEN_TTL_SECONDS = 300
TAMPER_MODES = ("wrong_key", "wrong_aud", "wrong_iss", "expired", "bad_nonce", "no_nonce")
# People the tester can pick with one click on the authorize page.
PRESETS: dict[str, dict[str, str]] = {
    "admin": {"sub": "idp-alice", "email": "alice.sso@demo.local", "name": "Alice SSO", "groups": "crm-admins"},
    "supervisor": {"sub": "idp-sergio", "email": "sergio.sso@demo.local", "name": "Sérgio SSO",
                   "groups": "crm-supervisors"},
    "attendant": {"sub": "idp-ana", "email": "ana@demo.local", "name": "Ana Atendente", "groups": "crm-attendants"},
    "nogroup": {"sub": "idp-visitante", "email": "visitante@demo.local", "name": "Visitante sem grupo",
                "groups": ""},
}
PRESET_LABELS = {"admin": "Administradora (crm-admins)", "supervisor": "Supervisor (crm-supervisors)",
                 "attendant": "Atendente (crm-attendants)", "nogroup": "Sem grupo mapeado"}


@dataclass
class Client:
    """A registered relying party."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class Grant:
    """What an authorization code stands for, until it is redeemed once."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    claims: dict[str, Any]
    expires_at: float


@dataclass
class OidcFake:
    """The provider's in-memory state: signing key, clients, pending codes and access tokens."""

    issuer: str | None = None  # None: derived from the request (http://host:port/oidc)
    key: RSAKey = field(default_factory=lambda: _new_key("fake-1"))
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    tamper: str | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def register(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> Client:
        client = Client(client_id, client_secret, list(redirect_uris))
        self.clients[client_id] = client
        return client

    def issuer_for(self, request: Request) -> str:
        """The configured issuer, or this server's URL up to the mount point (`/oidc`)."""
        if self.issuer:
            return self.issuer
        return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}".rstrip("/")


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def default_fake() -> OidcFake:
    """The sandbox's provider, with the demo tenant's client pre-registered from the app settings."""
    settings = get_settings()
    fake = OidcFake()
    fake.register(settings.demo_sso_client_id, settings.demo_sso_client_secret.get_secret_value(),
                  [f"{settings.app_url}/api/auth/sso/callback"])
    return fake


def _fake(request: Request) -> OidcFake:
    return request.app.state.oidc


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})


async def discovery(request: Request) -> JSONResponse:
    """`/.well-known/openid-configuration`."""
    issuer = _fake(request).issuer_for(request)
    return JSONResponse({
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name",
                             "groups"],
    })


async def jwks(request: Request) -> JSONResponse:
    """The public signing key."""
    return JSONResponse({"keys": [_fake(request).key.as_dict(private=False)]})


def _authorize_problem(params: dict[str, str], fake: OidcFake) -> str | None:
    """Why this authorization request cannot be served (never redirect to an unregistered URI)."""
    client = fake.clients.get(params.get("client_id", ""))
    if client is None:
        return "Cliente desconhecido (client_id)."
    if params.get("redirect_uri") not in client.redirect_uris:
        return "redirect_uri não registrado para este cliente."
    if params.get("response_type") != "code":
        return "response_type deve ser code."
    if "openid" not in params.get("scope", "").split():
        return "O escopo deve incluir openid."
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        return "PKCE obrigatório: envie code_challenge com code_challenge_method=S256."
    return None


_PAGE_STYLE = """
body{font-family:"Segoe UI","DejaVu Sans",Arial,sans-serif;background:#f1f5f9;margin:0;color:#0f172a}
main{max-width:460px;margin:32px auto;background:#fff;border-radius:12px;padding:24px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:20px;margin:0 0 4px}p{color:#475569;font-size:14px;margin:0 0 16px}
label{display:block;font-size:13px;font-weight:600;margin:10px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #cbd5e1;border-radius:8px;font-size:14px}
.presets{display:grid;gap:8px;margin-bottom:8px}
button{padding:10px;border-radius:8px;border:1px solid #cbd5e1;background:#fff;font-size:14px;cursor:pointer}
.preset{text-align:left}.row{display:flex;gap:8px;margin-top:16px}.row button{flex:1}
.allow{background:#0d9488;color:#fff;border-color:#0d9488}.deny{color:#b91c1c}
.err{color:#b91c1c}small{color:#64748b}
"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>Provedor de identidade (sandbox)</title>'
        f"<style>{_PAGE_STYLE}</style></head><body><main>{body}</main></body></html>",
        status_code=status, headers={"Cache-Control": "no-store"})


def _hidden(params: dict[str, str]) -> str:
    keys = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
            "code_challenge_method")
    return "".join(f'<input type="hidden" name="{k}" value="{html.escape(params.get(k, ""))}">' for k in keys)


def _field(name: str, label: str, value: str = "", hint: str = "") -> str:
    small = f"<small>{html.escape(hint)}</small>" if hint else ""
    return (f'<label for="{name}">{html.escape(label)}</label>'
            f'<input id="{name}" name="{name}" value="{html.escape(value)}" autocomplete="off">{small}')


async def authorize(request: Request) -> Response:
    """GET shows who may sign in; POST (the tester's choice) redirects back with a code or an error."""
    fake = _fake(request)
    params = dict(request.query_params) if request.method == "GET" else {
        k: str(v) for k, v in (await request.form()).items()}
    problem = _authorize_problem(params, fake)
    if problem:
        return _page(f'<h1>Pedido inválido</h1><p class="err" id="oidc-error">{html.escape(problem)}</p>', 400)
    if request.method == "GET":
        return _authorize_form(params)
    return _authorize_answer(fake, params)


def _authorize_form(params: dict[str, str]) -> HTMLResponse:
    presets = "".join(
        f'<button class="preset" type="submit" name="preset" value="{key}" id="oidc-preset-{key}">'
        f"{html.escape(PRESET_LABELS[key])}<br><small>{html.escape(p['email'])}</small></button>"
        for key, p in PRESETS.items())
    body = (
        "<h1>Provedor de identidade (sandbox)</h1>"
        f"<p>O aplicativo <b>{html.escape(params['client_id'])}</b> pede para você entrar. "
        "Escolha uma pessoa pronta ou preencha os dados abaixo.</p>"
        f'<form method="post" action="authorize">{_hidden(params)}'
        # Enter in a field submits the first submit button: make that "Entrar", not the first preset.
        '<button type="submit" name="action" value="allow" tabindex="-1" aria-hidden="true" '
        'style="position:absolute;left:-9999px">Entrar</button>'
        f'<div class="presets">{presets}</div>'
        + _field("sub", "Identificador (sub)", "", "único por pessoa no provedor")
        + _field("email", "E-mail")
        + _field("name", "Nome")
        + _field("groups", "Grupos", "", "separados por vírgula, ex.: crm-admins, crm-attendants")
        + '<div class="row"><button class="deny" type="submit" name="action" value="deny" id="oidc-deny">'
        "Negar acesso</button>"
        '<button class="allow" type="submit" name="action" value="allow" id="oidc-allow">Entrar</button></div>'
        "</form>")
    return _page(body)


def _claims_from_form(params: dict[str, str]) -> dict[str, Any] | None:
    chosen = PRESETS.get(params.get("preset", ""))
    source = chosen or params
    sub = source.get("sub", "").strip()
    if not sub:
        return None
    groups = [g.strip() for g in source.get("groups", "").split(",") if g.strip()]
    return {"sub": sub, "email": source.get("email", "").strip(), "email_verified": True,
            "name": source.get("name", "").strip() or sub, "groups": groups}


def _back(params: dict[str, str], **answer: str) -> RedirectResponse:
    query = urlencode({**answer, **({"state": params["state"]} if params.get("state") else {})})
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(f"{params['redirect_uri']}{separator}{query}", status_code=303)


def _authorize_answer(fake: OidcFake, params: dict[str, str]) -> Response:
    if params.get("action") == "deny":
        return _back(params, error="access_denied", error_description="A pessoa negou o acesso.")
    claims = _claims_from_form(params)
    if claims is None:
        return _authorize_form(params)
    code = secrets.token_urlsafe(24)
    fake.codes[code] = Grant(client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                             code_challenge=params["code_challenge"], nonce=params.get("nonce") or None,
                             claims=claims, expires_at=time.time() + CODE_TTL_SECONDS)
    return _back(params, code=code)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str, str]:
    """(client_id, secret, method) from HTTP Basic (form-urlencoded parts) or the body."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", "", "basic"
        client_id, _, secret = raw.partition(":")
        return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " ")), "client_secret_basic"
    return form.get("client_id", ""), form.get("client_secret", ""), "client_secret_post"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def token(request: Request) -> JSONResponse:
    """Redeem a code once: check the client, the redirect URI and the PKCE verifier, then sign an ID token."""
    fake = _fake(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret, method = _client_credentials(request, form)
    fake.token_requests.append({"auth_method": method, "client_id": client_id})
    client = fake.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.client_secret, secret):
        return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
    if form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "only authorization_code")
    grant = fake.codes.pop(form.get("code", ""), None)  # single use, even when the rest is wrong
    if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
        return _oauth_error("invalid_grant", "the code is unknown, used or expired")
    if form.get("redirect_uri") != grant.redirect_uri:
        return _oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
    verifier = form.get("code_verifier", "")
    if not verifier or not hmac.compare_digest(_s256(verifier), grant.code_challenge):
        return _oauth_error("invalid_grant", "PKCE verification failed")
    access_token = secrets.token_urlsafe(32)
    fake.access_tokens[access_token] = grant.claims
    id_token = _id_token(fake, request, client_id, grant)
    return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS,
                         "id_token": id_token, "scope": "openid email profile"},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _id_token(fake: OidcFake, request: Request, client_id: str, grant: Grant) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": fake.issuer_for(request), "aud": client_id, "iat": now,
                              "exp": now + TOKEN_TTL_SECONDS, **grant.claims}
    if grant.nonce:
        claims["nonce"] = grant.nonce
    key = fake.key
    mode, fake.tamper = fake.tamper, None
    if mode == "wrong_key":
        key = _new_key(fake.key.kid)  # same kid, another key: the signature cannot verify
    elif mode == "wrong_aud":
        claims["aud"] = "someone-else"
    elif mode == "wrong_iss":
        claims["iss"] = "https://evil.example/oidc"
    elif mode == "expired":
        claims["iat"], claims["exp"] = now - 3600, now - 1800
    elif mode == "bad_nonce":
        claims["nonce"] = "not-the-nonce"
    elif mode == "no_nonce":
        claims.pop("nonce", None)
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)


async def userinfo(request: Request) -> JSONResponse:
    """The claims of a live access token."""
    header = request.headers.get("authorization", "")
    claims = _fake(request).access_tokens.get(header[7:] if header.lower().startswith("bearer ") else "")
    if claims is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return JSONResponse(claims)


async def register_client(request: Request) -> JSONResponse:
    """Control: `{"client_id", "client_secret", "redirect_uris": [...]}` registers (or replaces) a client."""
    try:
        body = await request.json()
        client = _fake(request).register(str(body["client_id"]), str(body["client_secret"]),
                                         [str(u) for u in body["redirect_uris"]])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "send client_id, client_secret and redirect_uris"}, status_code=400)
    return JSONResponse({"client_id": client.client_id, "redirect_uris": client.redirect_uris})


async def set_tamper(request: Request) -> JSONResponse:
    """Control: `{"mode": ...}` spoils the next ID token once; `{"mode": null}` clears it."""
    try:
        mode = (await request.json()).get("mode")
    except (ValueError, AttributeError):
        mode = "?"
    if mode is not None and mode not in TAMPER_MODES:
        return JSONResponse({"error": f"mode must be one of {', '.join(TAMPER_MODES)} or null"}, status_code=400)
    _fake(request).tamper = mode
    return JSONResponse({"mode": mode})


def create_oidc_app(fake: OidcFake | None = None) -> Starlette:
    """The provider as an ASGI app; the sandbox mounts it at `/oidc`."""
    app = Starlette(routes=[
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/jwks", jwks, methods=["GET"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/control/clients", register_client, methods=["POST"]),
        Route("/control/tamper", set_tamper, methods=["POST"]),
    ])
    app.state.oidc = fake or default_fake()
    return app
