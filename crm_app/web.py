"""The Reflex app: the composition root that wires pages and our API routes."""

import reflex as rx

import pages  # noqa: F401  (registers every page)
from components.connection import overlay
from components.page import add_pages
from crm_app.api import hardening, prelogin
from crm_app.api.routes import create_api
from crm_app.state.binding import SessionBinding, guard_uploads
from crm_app.state.errors import backend_exception_handler
from crm_app.state.inbox import listen as listen_for_inbox_events

# Our routes first; then the upload guard (an upload acts only as its own cookie's session) and the pre-login
# cookie on pages; the hardening middleware around everything (pages, assets, API, the /_event socket).
app = rx.App(api_transformer=[create_api(), guard_uploads, prelogin.wrap, hardening.wrap],
             backend_exception_handler=backend_exception_handler)
# Before every event: a tab whose cookie is not the session its state was built for starts over as nobody.
app.add_middleware(SessionBinding())
# Our own pt-BR/en "Reconectando…" banner replaces Reflex's English connection toast and wifi-off icon.
app.app_wraps[5, "Overlay"] = overlay
add_pages(app)
app.register_lifespan_task(listen_for_inbox_events)  # real-time push to this process's inbox tabs
