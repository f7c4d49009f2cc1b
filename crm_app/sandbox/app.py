"""The sandbox's ASGI app."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

LANDING = """<!doctype html><html lang="pt-BR"><meta charset="utf-8">
<title>Sandbox</title><body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>Sandbox do CRM</h1>
<p>Este processo fará o papel da Meta (Graph API e webhooks) e de outros serviços externos.
O simulador de cliente chega com o canal WhatsApp.</p></body></html>"""


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "sandbox"})


async def landing(request: Request) -> HTMLResponse:
    return HTMLResponse(LANDING)


def create_app() -> Starlette:
    """The sandbox app with its routes."""
    return Starlette(routes=[Route("/health", health), Route("/", landing)])
