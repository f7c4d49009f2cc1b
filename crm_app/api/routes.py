"""Health, readiness, the two auth routes that touch the cookie, media, the webhook and REST API v1."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from crm_app.api import media, sso, v1, whatsapp
from crm_app.config import get_settings
from crm_app.db import session_scope
from crm_app.domain.urls import safe_next
from crm_app.services.access import auth
from crm_app.services.core import health


async def health_route(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def ready_route(request: Request) -> JSONResponse:
    """Readiness: 200 when the DB, Redis and a hot worker are up, else 503."""
    ok, report = await run_in_threadpool(health.readiness)
    return JSONResponse(report, status_code=200 if ok else 503)


def _set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(auth.COOKIE_NAME, token, max_age=settings.session_absolute_hours * 3600,
                        httponly=True, samesite="lax", secure=settings.effective_cookie_secure, path="/")


async def exchange_route(request: Request) -> Response:
    """Swap a one-time login ticket for the HttpOnly session cookie, then go on.

    The session this browser had before (its old cookie) is revoked: one browser, one live session.
    """
    token = await run_in_threadpool(auth.redeem_login_ticket, request.query_params.get("ticket"))
    if token is None:
        return RedirectResponse("/login?expired=1", status_code=303)
    previous = request.cookies.get(auth.COOKIE_NAME)
    if previous and previous != token:
        await run_in_threadpool(_logout, previous, _client_ip(request))
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    _set_session_cookie(response, token)
    return response


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _logout(token: str | None, ip: str | None = None) -> bool:
    with session_scope() as session:
        return auth.logout(session, token=token, ip=ip)


async def logout_route(request: Request) -> Response:
    """Kill the session on the server and clear the cookie."""
    await run_in_threadpool(_logout, request.cookies.get(auth.COOKIE_NAME), _client_ip(request))
    response = JSONResponse({"status": "logged_out"})
    response.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


def create_api() -> Starlette:
    """The Starlette app that Reflex mounts through `api_transformer`."""
    api_v1 = v1.create_v1()
    return Starlette(routes=[
        Route("/api/health", health_route, methods=["GET"]),
        Route("/api/ready", ready_route, methods=["GET"]),
        Route("/api/auth/exchange", exchange_route, methods=["GET"]),
        Route("/api/auth/logout", logout_route, methods=["POST"]),
        *sso.ROUTES,
        Route("/api/media/{message_id}", media.media_route, methods=["GET"]),
        Route("/api/whatsapp/webhook", whatsapp.verify_webhook, methods=["GET"]),
        Route("/api/whatsapp/webhook", whatsapp.receive_webhook, methods=["POST"]),
        Route("/api/docs", v1.docs_endpoint(api_v1), methods=["GET"]),
        Mount(v1.PREFIX, app=api_v1),
    ])
