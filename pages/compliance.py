"""/compliance: LGPD tools and the audit trail (not built yet)."""

import reflex as rx

from components.page import app_page
from components.shell import coming_soon, shell
from crm_app.state.session import SessionState

T = SessionState.t


@app_page("/compliance", "Conformidade · Atende CRM")
def compliance_page() -> rx.Component:
    return shell(T["compliance.title"], "/compliance", coming_soon("shield-check", "compliance.soon"))
