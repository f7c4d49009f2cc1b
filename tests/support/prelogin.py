"""A browser that has loaded one of our pages: it holds the pre-login cookie, and our login page's SSO button
adds the digest of that cookie to `/api/auth/sso/start` (see `access.browser_proof`)."""

from __future__ import annotations

from crm_app.services import access

PRELOGIN = "test-browser-" + "b" * 30
COOKIES = {access.PRELOGIN_COOKIE: PRELOGIN}


def sso_start(tenant: str, **params: str) -> dict[str, str]:
    """The query of an SSO start as the login page's button sends it from this browser."""
    return {"tenant": tenant, **params, "browser": access.browser_proof(PRELOGIN)}
