"""/analytics: the executives' dashboards (not built yet; shows no fake data)."""

import reflex as rx

from components.page import app_page
from components.shell import coming_soon, shell
from crm_app.state.session import SessionState

T = SessionState.t


@app_page("/analytics", "Painel executivo · Atende CRM")
def analytics_page() -> rx.Component:
    return shell(T["analytics.title"], "/analytics", coming_soon("chart-column", "analytics.soon"))
