"""Health, readiness, the two auth routes that touch the cookie, media, the webhook and REST API v1."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from crm_app.api import cookies, media, sso, v1, whatsapp
from crm_app.domain.urls import safe_next
from crm_app.services import access
from crm_app.services.core import health


async def health_route(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def ready_route(request: Request) -> JSONResponse:
    """Readiness: 200 when the DB, Redis, a live worker on every queue and the scheduler are up, else 503."""
    ok, report = await run_in_threadpool(health.readiness)
    return JSONResponse(report, status_code=200 if ok else 503)


async def exchange_route(request: Request) -> Response:
    """Swap a one-time login ticket for the HttpOnly session cookie, then go on.

    The session this browser had before (its old cookie) is revoked: one browser, one live session.
    """
    token = await run_in_threadpool(access.redeem_login_ticket, request.query_params.get("ticket"))
    if token is None:
        return RedirectResponse("/login?expired=1", status_code=303)
    previous = request.cookies.get(access.COOKIE_NAME)
    if previous and previous != token:
        await run_in_threadpool(cookies.end_session, previous, cookies.client_ip(request))
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    cookies.set_session_cookie(response, token)
    return response


async def logout_route(request: Request) -> Response:
    """Kill the session on the server and clear the cookie."""
    await run_in_threadpool(cookies.end_session, request.cookies.get(access.COOKIE_NAME), cookies.client_ip(request))
    response = JSONResponse({"status": "logged_out"})
    cookies.delete_session_cookie(response)
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
