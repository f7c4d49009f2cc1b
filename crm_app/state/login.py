"""The login form: the password step, then the 2FA code step for accounts that have it."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import reflex as rx

from crm_app.domain.urls import safe_next
from crm_app.errors import CRMError
from crm_app.services import access
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState, navigate, redeem_ticket


class LoginState(SessionState):
    """Checks the password off the event loop, then hands the browser a one-time ticket bound to it.

    The ticket is bound to the pre-login cookie this tab's websocket presented, and the page redeems it with a
    same-origin POST; a browser without that cookie reloads the page first (the page load sets it).

    Between the two steps the tab keeps only the pending ticket, in a backend-only var (never sent to the
    browser); the session itself is created after the code.
    """

    error_key: str = ""
    submitting: bool = False
    step: str = "password"  # or "code"
    _pending: str = ""

    @rx.event
    def on_login_load(self):
        """Skip the form when the session is still good."""
        self.error_key = "login.expired" if self.router.page.params.get("expired") else ""
        self.step, self._pending, self.submitting = "password", "", False
        if self._access() is not None:  # a live session (the page guard sends a user who must enrol to /account)
            return navigate(self._next_path())
        return None

    def _next_path(self) -> str:
        return safe_next(str(self.router.page.params.get("next") or "/"))

    def _client(self) -> dict:
        return {"ip": self.router.session.client_ip or None, "user_agent": self.router.headers.user_agent or None}

    def _go(self, ticket: str) -> rx.event.EventSpec:
        self.error_key, self._pending = "", ""
        return redeem_ticket(ticket, self._next_path())

    def _reload(self) -> rx.event.EventSpec:
        """Load the login page again: its response gives this browser the pre-login cookie a ticket needs."""
        self.submitting, self.step, self._pending = False, "password", ""
        return navigate(f"/login?expired=1&next={quote(self._next_path())}")

    @rx.event
    @toast_errors
    async def submit(self, form_data: dict):
        """Log in with the form's e-mail and password."""
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
        if not email or not password:
            self.error_key = "error.missing_fields"
            return
        browser = self._browser()
        if browser is None:  # checked first: no session is opened that no ticket could carry
            yield self._reload()
            return
        self.submitting = True
        yield
        try:
            ticket, _ = await asyncio.to_thread(access.login, email, password, browser=browser, **self._client())
        except access.SecondFactorRequired as exc:
            self.submitting, self.error_key = False, ""
            self._pending, self.step = exc.pending, "code"
            return
        except CRMError as exc:
            self.submitting, self.error_key = False, f"error.{exc.code}"
            return
        yield self._go(ticket)

    @rx.event
    @toast_errors
    async def submit_code(self, form_data: dict):
        """The second step: a code from the authenticator app, or a recovery code."""
        code = str(form_data.get("code", "")).strip()
        if not code:
            self.error_key = "error.mfa_missing_code"
            return
        if not self._pending:
            self.step, self.error_key = "password", "error.mfa_pending_expired"
            return
        browser = self._browser()
        if browser is None:
            yield self._reload()
            return
        self.submitting = True
        yield
        try:
            ticket, _ = await asyncio.to_thread(access.login_second_step, self._pending, code, browser=browser,
                                                **self._client())
        except access.PendingExpired as exc:
            self.submitting, self.step, self._pending = False, "password", ""
            self.error_key = f"error.{exc.code}"
            return
        except CRMError as exc:
            self.submitting, self.error_key = False, f"error.{exc.code}"
            return
        yield self._go(ticket)

    @rx.event
    def back_to_password(self):
        """Start over with the e-mail and password."""
        self.step, self._pending, self.error_key = "password", "", ""
