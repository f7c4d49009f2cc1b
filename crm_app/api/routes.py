"""Health, readiness, the two auth routes that touch the cookie, media, the webhook and REST API v1."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from crm_app.api import cookies, exports, media, privacy, sso, v1, whatsapp
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
    """Swap a one-time login ticket for the HttpOnly session cookie; answers where the page goes next.

    A same-origin `fetch` POST with a JSON body `{"ticket", "next"}` (the hardening middleware refuses it from
    any other origin, cookie or not), redeemed only in the browser the ticket was issued to (its pre-login
    cookie). Only then is the session this browser had before revoked (one browser, one live session): a
    failed, expired or foreign ticket changes nothing, whatever cookie came with it.
    """
    fields = await _json_fields(request)
    token = await run_in_threadpool(lambda: access.redeem_login_ticket(
        fields.get("ticket"), browser=request.cookies.get(access.PRELOGIN_COOKIE)))
    if token is None:
        return JSONResponse({"next": "/login?expired=1"}, status_code=400, headers={"Cache-Control": "no-store"})
    previous = request.cookies.get(access.COOKIE_NAME)
    if previous and previous != token:
        await run_in_threadpool(cookies.end_session, previous, cookies.client_ip(request))
    response = JSONResponse({"next": safe_next(fields.get("next"))}, headers={"Cache-Control": "no-store"})
    cookies.set_session_cookie(response, token)
    return response


async def _json_fields(request: Request) -> dict[str, str | None]:
    """The string fields of a JSON object body; nothing for any other body (a cross-site form cannot send JSON)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {key: value for key, value in body.items() if isinstance(value, str)}


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
        Route("/api/auth/exchange", exchange_route, methods=["POST"]),
        Route("/api/auth/logout", logout_route, methods=["POST"]),
        *sso.ROUTES,
        Route("/api/media/{media_token}", media.media_route, methods=["GET"]),
        Route("/api/privacy/bundles/{token}", privacy.bundle_route, methods=["GET"]),
        Route("/api/privacy/reports/{report_id}", privacy.report_route, methods=["GET"]),
        Route("/api/exports/{export_id}", exports.download_route, methods=["GET"]),
        Route("/api/whatsapp/webhook", whatsapp.verify_webhook, methods=["GET"]),
        Route("/api/whatsapp/webhook", whatsapp.receive_webhook, methods=["POST"]),
        Route("/api/docs", v1.docs_endpoint(api_v1), methods=["GET"]),
        Mount(v1.PREFIX, app=api_v1),
    ])
