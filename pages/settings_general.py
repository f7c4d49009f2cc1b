"""/settings/general: the tenant's preferences by category, where each value comes from, and their history."""

import reflex as rx

from components.page import app_page
from components.settings_form import settings_form, settings_history
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import page_header
from crm_app.state.settings_general import GeneralSettingsState

S = GeneralSettingsState
T = S.t


@app_page("/settings/general", "Configurações gerais · Atende CRM", on_load=[GeneralSettingsState.load])
def settings_general_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/general",
        rx.vstack(
            settings_tabs("/settings/general"),
            page_header("settings_general.title", "settings_general.help"),
            rx.cond(S.form_loaded,
                    rx.flex(
                        rx.box(settings_form(S, "tenant"), flex="3", min_width="0", width="100%"),
                        rx.box(settings_history(S), flex="2", min_width="0", width="100%"),
                        direction=rx.breakpoints(initial="column", lg="row"), gap="12px", width="100%",
                        align="start"),
                    rx.skeleton(height="240px", width="100%")),
            spacing="3", width="100%", max_width="1200px",
        ),
    )
