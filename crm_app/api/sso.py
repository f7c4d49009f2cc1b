"""`/api/auth/sso/start` and `/api/auth/sso/callback`: the browser's two legs of an OIDC login.

Both are GETs reached by full page loads (the provider redirects back with a 303), so the callback can set the
HttpOnly session cookie itself, the same cookie as the password login. Every failure ends on `/login` with
`sso_error=<reason>`, which the login page shows in pt-BR or English.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crm_app.api import cookies
from crm_app.config import get_settings
from crm_app.domain.urls import safe_next
from crm_app.services import access

BINDING_COOKIE = "crm_sso"
BINDING_PATH = "/api/auth/sso"


def _to_login(reason: str, next_path: str = "/") -> RedirectResponse:
    query = {"sso_error": reason if reason in access.SSO_REASONS else "provider"}
    if next_path and next_path != "/":
        query["next"] = next_path
    response = RedirectResponse(f"/login?{urlencode(query)}", status_code=303)
    response.headers["Cache-Control"] = "no-store"  # the same headers as a start that goes to the provider
    response.delete_cookie(BINDING_COOKIE, path=BINDING_PATH, httponly=True, samesite="lax")
    return response


async def start_route(request: Request) -> Response:
    """Send the browser to the tenant's provider, with state, nonce and PKCE, and bind the login to it.

    Every refusal answers alike (`unavailable`), so a slug without SSO, with SSO switched off or with a failing
    provider cannot be told apart; only a working SSO necessarily shows itself by going to its provider.
    """
    tenant = request.query_params.get("tenant", "")
    next_path = request.query_params.get("next")
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site") or not access.proves_browser(
            request.query_params.get("browser"), request.cookies.get(access.PRELOGIN_COOKIE)):
        # A link planted elsewhere (another site, an e-mail, a chat app, an old browser without Sec-Fetch-Site)
        # must not start a login into a tenant of its choosing: its own provider could answer at once (login
        # CSRF), and the callback would end the browser's own session. Our login page's button adds a digest
        # of this browser's pre-login cookie, which such a link cannot know.
        return _to_login("bad_state", safe_next(next_path))
    try:
        started = await run_in_threadpool(access.begin_login, tenant, next_path)
    except access.SsoError as exc:
        return _to_login(exc.reason, safe_next(next_path))
    response = RedirectResponse(started.url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(BINDING_COOKIE, started.binding, max_age=access.SSO_PENDING_SECONDS, path=BINDING_PATH,
                        httponly=True, samesite="lax", secure=get_settings().effective_cookie_secure)
    return response


async def callback_route(request: Request) -> Response:
    """Finish the login: on success set the session cookie and go on to the safe `next`."""
    params = request.query_params
    ip = cookies.client_ip(request)
    try:
        done = await run_in_threadpool(
            lambda: access.finish_login(state=params.get("state"), code=params.get("code"),
                                        error=params.get("error"), binding=request.cookies.get(BINDING_COOKIE),
                                        ip=ip, user_agent=request.headers.get("user-agent")))
    except access.SsoError as exc:
        return _to_login(exc.reason, exc.next_path)
    previous = request.cookies.get(access.COOKIE_NAME)
    if previous and previous != done.token:  # one browser, one live session (as the password login)
        await run_in_threadpool(cookies.end_session, previous, ip)
    response = RedirectResponse(safe_next(done.next_path), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(BINDING_COOKIE, path=BINDING_PATH, httponly=True, samesite="lax")
    cookies.set_session_cookie(response, done.token)
    return response


ROUTES = [
    Route("/api/auth/sso/start", start_route, methods=["GET"]),
    Route("/api/auth/sso/callback", callback_route, methods=["GET"]),
]
