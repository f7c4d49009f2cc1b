"""HTTP to an OpenID Connect provider: its JSON documents (discovery, JWKS) and the authorization code exchange.

Only the wire lives here (httpx and authlib's OAuth2 client); `crm_app/services/sso.py` decides what to trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client

TIMEOUT_SECONDS = 8.0
MAX_DOCUMENT_BYTES = 256 * 1024


class OidcHttpError(Exception):
    """The provider could not be reached, or answered something unusable. The message is safe to show admins."""


@dataclass(frozen=True)
class ClientSpec:
    """One relying-party client, as the tenant configured it."""

    client_id: str
    client_secret: str
    scope: str
    redirect_uri: str
    auth_method: str  # client_secret_basic or client_secret_post


def get_json(url: str) -> dict[str, Any]:
    """GET a JSON object (no redirects, bounded size and time)."""
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OidcHttpError(f"could not reach {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise OidcHttpError(f"{url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise OidcHttpError(f"{url} answered a document that is too large")
    try:
        body = response.json()
    except ValueError:
        raise OidcHttpError(f"{url} did not answer JSON") from None
    if not isinstance(body, dict):
        raise OidcHttpError(f"{url} did not answer a JSON object")
    return body


def _client(spec: ClientSpec) -> OAuth2Client:
    return OAuth2Client(client_id=spec.client_id, client_secret=spec.client_secret, scope=spec.scope,
                        redirect_uri=spec.redirect_uri, code_challenge_method="S256",
                        token_endpoint_auth_method=spec.auth_method, timeout=TIMEOUT_SECONDS)


def authorization_url(spec: ClientSpec, endpoint: str, *, state: str, nonce: str, code_verifier: str) -> str:
    """The provider's authorization URL: response_type=code with state, nonce and a PKCE S256 challenge."""
    with _client(spec) as client:
        url, _ = client.create_authorization_url(endpoint, state=state, code_verifier=code_verifier, nonce=nonce)
    return url


def exchange_code(spec: ClientSpec, endpoint: str, *, code: str, code_verifier: str) -> dict[str, Any]:
    """Redeem the code at the token endpoint (with the PKCE verifier). Raises OidcHttpError on any refusal."""
    try:
        with _client(spec) as client:
            token = client.fetch_token(endpoint, grant_type="authorization_code", code=code,
                                       code_verifier=code_verifier)
    except Exception as exc:  # authlib's OAuthError, httpx errors, a non-JSON answer
        raise OidcHttpError(f"token exchange failed: {type(exc).__name__}: {exc}"[:300]) from None
    return dict(token)
