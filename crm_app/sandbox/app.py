"""The sandbox's ASGI app: fake Graph API, webhook sender, control API, customer simulator, fake OpenAI
and the SMTP server with its mailbox."""

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

from crm_app.config import get_settings
from crm_app.sandbox import control, graph, hooks, mail_api, oidc_fake, openai_fake
from crm_app.sandbox.config import SandboxConfig
from crm_app.sandbox.delivery import WebhookSender
from crm_app.sandbox.smtp import Mailbox, SmtpServer
from crm_app.sandbox.state import SandboxState

STATIC = Path(__file__).parent / "static"


async def health(request: Request) -> JSONResponse:
    """Liveness for the launcher and tests."""
    return JSONResponse({"status": "ok", "service": "sandbox"})


async def simulator(request: Request) -> FileResponse:
    """The customer simulator page (plain HTML, CSS and JS; nothing from a CDN)."""
    return FileResponse(STATIC / "simulator.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


def create_app(config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic,
               smtp_port: int | None = None) -> Starlette:
    """The sandbox app, holding all of its state in memory.

    Args:
        config: The fake Meta's configuration; defaults from the app settings (demo inbox).
        clock: Monotonic seconds for the throughput limit's window (tests pass one they can move).
        smtp_port: Where the SMTP server listens (127.0.0.1); None runs none (its JSON API still answers).
    """
    state = SandboxState(config or SandboxConfig(), clock=clock)
    sender = WebhookSender(state)
    settings = get_settings()
    mailbox = Mailbox(settings.sandbox_smtp_username, settings.sandbox_smtp_password.get_secret_value())
    smtp_server = SmtpServer(mailbox, "127.0.0.1", smtp_port) if smtp_port else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Open the SMTP server; on shutdown close it, stop background webhooks and close the client."""
        if smtp_server is not None:
            await smtp_server.start()
        yield
        if smtp_server is not None:
            await smtp_server.stop()
        await sender.close()

    routes = [
        Route("/health", health),
        Route("/", simulator),
        Mount("/sandbox/static", app=StaticFiles(directory=STATIC), name="static"),
        *control.ROUTES,
        *graph.ROUTES,
        *openai_fake.ROUTES,
        *mail_api.ROUTES,
        *hooks.ROUTES,  # a webhook receiver for the CRM's outgoing webhooks
        Mount("/oidc", app=oidc_fake.create_oidc_app()),  # fake OpenID Connect provider for SSO
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={control.ControlError: control.control_error})
    app.state.sandbox = state
    app.state.sender = sender
    app.state.openai = openai_fake.FakeOpenAI()
    app.state.mailbox = mailbox
    app.state.hooks = hooks.Receiver()
    app.state.smtp_server = smtp_server
    return app
