"""The sandbox's ASGI app: fake Graph API, webhook sender, control API, customer simulator and fake OpenAI."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crm_app.sandbox import control, graph, oidc_fake, openai_fake
from crm_app.sandbox.config import SandboxConfig
from crm_app.sandbox.delivery import WebhookSender
from crm_app.sandbox.state import SandboxState

STATIC = Path(__file__).parent / "static"


async def health(request: Request) -> JSONResponse:
    """Liveness for the launcher and tests."""
    return JSONResponse({"status": "ok", "service": "sandbox"})


async def simulator(request: Request) -> FileResponse:
    """The customer simulator page (plain HTML, CSS and JS; nothing from a CDN)."""
    return FileResponse(STATIC / "simulator.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


def create_app(config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The sandbox app, holding all of its state in memory.

    Args:
        config: The fake Meta's configuration; defaults from the app settings (demo inbox).
        clock: Monotonic seconds for the throughput limit's window (tests pass one they can move).
    """
    state = SandboxState(config or SandboxConfig(), clock=clock)
    sender = WebhookSender(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Nothing to open; on shutdown stop background webhooks and close the client."""
        yield
        await sender.close()

    routes = [
        Route("/health", health),
        Route("/", simulator),
        Mount("/sandbox/static", app=StaticFiles(directory=STATIC), name="static"),
        *control.ROUTES,
        *graph.ROUTES,
        *openai_fake.ROUTES,
        Mount("/oidc", app=oidc_fake.create_oidc_app()),  # fake OpenID Connect provider for SSO
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={control.ControlError: control.control_error})
    app.state.sandbox = state
    app.state.sender = sender
    app.state.openai = openai_fake.FakeOpenAI()
    return app
