"""/ and /inbox: the attendants' workspace (arrives with the WhatsApp channel)."""

import reflex as rx

from components.page import app_page
from components.shell import coming_soon, shell
from crm_app.state.session import SessionState

T = SessionState.t


def _inbox() -> rx.Component:
    return shell(T["inbox.title"], "/inbox", coming_soon("message-circle", "inbox.soon"))


@app_page("/inbox", "Atendimento · Atende CRM")
def inbox_page() -> rx.Component:
    return _inbox()


@app_page("/", "Atendimento · Atende CRM")
def index_page() -> rx.Component:
    return _inbox()
