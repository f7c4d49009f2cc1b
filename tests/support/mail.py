"""The sandbox's SMTP server for tests: one per module, the install's `mail.*` settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from crm_app.config import get_settings
from tests.support.sandbox import free_port, sandbox_in_thread


@dataclass
class SmtpSandbox:
    """The sandbox's base URL and SMTP port, with its JSON API at hand."""

    url: str
    port: int

    def _api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def messages(self, to: str | None = None) -> list[dict]:
        with self._api() as api:
            listed = api.get("/sandbox/api/mail/messages", params={"to": to} if to else {}).json()["messages"]
            return [api.get(f"/sandbox/api/mail/messages/{m['id']}").json() for m in listed]

    def control(self, **switches) -> dict:
        with self._api() as api:
            response = api.post("/sandbox/api/mail/control", json=switches)
            assert response.status_code == 200, response.text
            return response.json()

    def reset(self) -> None:
        self.control(mode="up", refuse_logins=False)
        with self._api() as api:
            assert api.delete("/sandbox/api/mail/messages").status_code == 200

    def global_settings(self) -> dict:
        """The `mail.*` values that send through this server with the demo login."""
        settings = get_settings()
        return {"mail.smtp_host": "127.0.0.1", "mail.smtp_port": self.port, "mail.smtp_security": "none",
                "mail.smtp_username": settings.sandbox_smtp_username,
                "mail.smtp_password": settings.sandbox_smtp_password.get_secret_value(),
                "mail.from_address": "no-reply@atende.example", "mail.from_name": "Atende CRM"}


@contextmanager
def smtp_sandbox() -> Iterator[SmtpSandbox]:
    """The sandbox in a thread with its SMTP server on a free port."""
    port = free_port()
    with sandbox_in_thread(smtp_port=port) as url:
        yield SmtpSandbox(url, port)
