"""HTTP to an OpenID Connect provider: its JSON documents (discovery, JWKS) and the authorization code exchange.

Only the wire lives here; `crm_app/services/access/sso.py` decides what to trust. Every request goes through
the outbound-URL policy (`outbound_urls`): the provider is a URL a tenant typed, so it is checked at the
address actually connected to, never followed through a redirect, and a failure to reach it reads the same
whatever the reason. authlib only builds the authorization URL (no network); the code exchange is a plain
form POST here, so that it too goes through the pinned transport.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from crm_app.integrations import outbound_urls

log = logging.getLogger(__name__)

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
    """GET a JSON object through the outbound-URL policy (no redirects, bounded size and time).

    Raises:
        OidcHttpError: With `outbound_urls.GENERIC_ERROR` whatever went wrong (the log says what).
    """
    try:
        return outbound_urls.get_json(url, timeout=TIMEOUT_SECONDS, max_bytes=MAX_DOCUMENT_BYTES)
    except outbound_urls.OutboundError as exc:
        raise OidcHttpError(exc.message) from None


def _client(spec: ClientSpec) -> OAuth2Client:
    return OAuth2Client(client_id=spec.client_id, client_secret=spec.client_secret, scope=spec.scope,
                        redirect_uri=spec.redirect_uri, code_challenge_method="S256",
                        token_endpoint_auth_method=spec.auth_method, timeout=TIMEOUT_SECONDS)


def authorization_url(spec: ClientSpec, endpoint: str, *, state: str, nonce: str, code_verifier: str) -> str:
    """The provider's authorization URL: response_type=code with state, nonce and a PKCE S256 challenge."""
    with _client(spec) as client:
        url, _ = client.create_authorization_url(endpoint, state=state, code_verifier=code_verifier, nonce=nonce)
    return url


def _token_request(spec: ClientSpec, code: str, code_verifier: str) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The token request's form and HTTP Basic credentials (RFC 6749 2.3.1: each part form-urlencoded)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": spec.redirect_uri,
            "code_verifier": code_verifier}
    if spec.auth_method == "client_secret_post":
        return {**form, "client_id": spec.client_id, "client_secret": spec.client_secret}, None
    return form, (quote(spec.client_id, safe=""), quote(spec.client_secret, safe=""))


def exchange_code(spec: ClientSpec, endpoint: str, *, code: str, code_verifier: str) -> dict[str, Any]:
    """Redeem the code at the token endpoint (with the PKCE verifier). Raises OidcHttpError on any refusal.

    The provider's own OAuth error (`invalid_grant: PKCE verification failed`) is kept in the message: it is
    audited for the tenant's admins. A failure to reach or read the endpoint reads like any other.
    """
    form, basic = _token_request(spec, code, code_verifier)
    try:
        response = outbound_urls.request("POST", endpoint, timeout=TIMEOUT_SECONDS, max_bytes=MAX_DOCUMENT_BYTES,
                                         data=form, auth=basic, headers={"Accept": "application/json"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.info("token exchange failed: %s", type(exc).__name__)
        raise OidcHttpError(f"token exchange failed: {outbound_urls.GENERIC_ERROR}") from None
    if not isinstance(body, dict):
        raise OidcHttpError(f"token exchange failed: {outbound_urls.GENERIC_ERROR}")
    if response.status_code != 200 or body.get("error"):
        reason = f"{body.get('error', 'HTTP ' + str(response.status_code))}: {body.get('error_description', '')}"
        raise OidcHttpError(f"token exchange refused: {reason}"[:300])
    return body
