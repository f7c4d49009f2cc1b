"""Reusable UI pieces. Components import only `crm_app.state` (and reflex)."""
