"""The Reflex app: the composition root that wires pages and our API routes."""

import reflex as rx

import pages  # noqa: F401  (registers every page)
from components.page import add_pages
from crm_app.api.routes import create_api

app = rx.App(api_transformer=create_api())
add_pages(app)
