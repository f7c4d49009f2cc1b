"""Reflex configuration; values come from `crm_app.config.Settings`."""

import reflex as rx

from crm_app.config import get_settings
from crm_app.frontend import SecureTabToken

settings = get_settings()

config = rx.Config(
    app_name="crm_app",
    app_module_import="crm_app.web",
    redis_url=settings.reflex_redis_url,
    frontend_port=settings.port,
    backend_port=settings.port,
    cors_allowed_origins=[settings.app_url.rstrip("/")],  # our own origin only: foreign sockets are refused
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(
        theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium", appearance="light")),
        SecureTabToken()],  # the tab token from crypto.getRandomValues, not Math.random
    disable_plugins=[rx.plugins.sitemap.SitemapPlugin],
)
