"""The pre-login cookie on pages (crm_app/api/prelogin.py), driven in-process around stand-ins for Reflex's output."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

from crm_app.api import prelogin
from crm_app.services import access

NAME = access.PRELOGIN_COOKIE


async def _page(request):
    return HTMLResponse("<!doctype html><title>login</title>")


async def _asset(request):
    return PlainTextResponse("console.log(1)", media_type="text/javascript")


async def _api(request):
    return JSONResponse({"ok": True})


def _client() -> httpx.AsyncClient:
    app = prelogin.wrap(Starlette(routes=[Route("/login", _page), Route("/login", _page, methods=["POST"]),
                                          Route("/assets/app.js", _asset), Route("/api/health", _api)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:3000")


def _set(response) -> dict[str, str] | None:
    """The pre-login cookie the response sets, with its attributes; None if it sets none."""
    header = response.headers.get("set-cookie")
    if not header:
        return None
    morsel = SimpleCookie(header)[NAME]
    return {"value": morsel.value, **{k: str(v) for k, v in morsel.items() if v}}


async def test_every_page_gives_the_browser_a_random_httponly_pre_login_cookie():
    async with _client() as one, _client() as other:
        first, second = _set(await one.get("/login")), _set(await other.get("/login"))
    for cookie in (first, second):
        assert len(cookie["value"]) >= 32 and access.browser_binding(cookie["value"]) == cookie["value"]
        assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
        assert cookie["max-age"] == str(prelogin.MAX_AGE_SECONDS)
    assert first["value"] != second["value"]  # two browsers without the cookie: two secrets


async def test_a_browser_keeps_its_value_for_another_hour_and_a_foreign_value_is_replaced():
    held = "a-pre-login-cookie-this-browser-already-has-0001"
    async with _client() as client:
        kept = _set(await client.get("/login", headers={"cookie": f"{NAME}={held}"}))
        replaced = _set(await client.get("/login", headers={"cookie": f"{NAME}=short"}))
    assert kept["value"] == held and kept["max-age"] == str(prelogin.MAX_AGE_SECONDS)
    assert replaced["value"] != "short" and len(replaced["value"]) >= 32


async def test_assets_api_routes_and_posts_get_no_pre_login_cookie():
    async with _client() as client:
        for response in (await client.get("/assets/app.js"), await client.get("/api/health"),
                         await client.post("/login")):
            assert response.status_code == 200 and _set(response) is None
