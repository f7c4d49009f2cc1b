"""/account: the logged-in user's password, 2FA and sessions.

This is the one page a user whom the tenant's 2FA policy still waits for may use, so it says yes in
`_allows_unenrolled`. Every handler re-derives the actor from the cookie; none takes a user id from the browser.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.domain.sessions import describe_user_agent
from crm_app.domain.timefmt import format_local
from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.services import access, call
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState, navigate, redeem_ticket


class AccountState(SessionState):
    """Plain strings and flags for the page; the secret and codes are cleared as soon as they are not needed."""

    info_loaded: bool = False
    mfa_enabled: bool = False
    mfa_required: bool = False
    recovery_left: int = 0
    # Enrolment: the secret is shown in text next to its QR code until the first code confirms it.
    enrol_open: bool = False
    enrol_secret: str = ""
    enrol_qr: str = ""
    enrol_error: str = ""
    recovery_codes: list[str] = []
    # Turning 2FA off.
    disable_open: bool = False
    disable_error: str = ""
    # Password change.
    password_errors: list[str] = []
    password_done: bool = False
    # Sessions.
    session_rows: list[dict[str, str]] = []
    # E-mail notices.
    email_assigned_while_away: bool = False

    def _allows_unenrolled(self) -> bool:
        return True

    def _ip(self) -> str | None:
        return self.router.session.client_ip or None

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the account and its sessions again."""
        actor = self._require()
        overview = call(access.account_overview, actor=actor, current_token=self._session_token())
        info, rows = overview.info, overview.sessions
        self.mfa_enabled, self.mfa_required, self.recovery_left = info.mfa_enabled, info.mfa_required, \
            info.recovery_codes_left
        self.email_assigned_while_away = info.email_assigned_while_away
        unknown = translate(self.lang, "account.device_unknown")
        self.session_rows = [{
            "id": str(r.id), "device": describe_user_agent(r.user_agent) or unknown, "ip": r.ip or "—",
            "last_seen": format_local(r.last_seen_at, actor.timezone),
            "started": format_local(r.created_at, actor.timezone), "current": "1" if r.current else "",
            "mfa": "1" if r.mfa else "",
        } for r in rows]
        self.info_loaded = True
        return None

    @rx.event
    @toast_errors
    def set_email_assigned_while_away(self, enabled: bool):
        """My own opt-in to the "assigned to you while you were away" e-mail."""
        self.email_assigned_while_away = call(access.set_email_assigned_while_away, actor=self._require(),
                                              enabled=bool(enabled))
        return rx.toast.success(translate(self.lang, "account.notices_saved"))

    # --- 2FA enrolment -------------------------------------------------------------------------------------

    @rx.event
    @toast_errors
    def start_enrolment(self):
        """Draw a secret and show its QR code."""
        enrolment = call(access.start_enrolment, actor=self._require())
        self.enrol_secret, self.enrol_qr, self.enrol_error = enrolment.secret, enrolment.qr_data_uri, ""
        self.enrol_open, self.recovery_codes = True, []
        return None

    @rx.event
    def cancel_enrolment(self):
        self.enrol_open, self.enrol_secret, self.enrol_qr, self.enrol_error = False, "", "", ""

    @rx.event
    @toast_errors
    def confirm_enrolment(self, form_data: dict):
        """The first code turns 2FA on; the recovery codes are shown once."""
        code = str(form_data.get("code", "")).strip()
        try:
            codes = call(access.finish_enrolment, actor=self._require(), code=code)
        except CRMError as exc:  # a wrong code is shown under the field, not as a toast
            self.enrol_error = crm_error_text(self.lang, exc)
            return None
        self.recovery_codes, self.enrol_secret, self.enrol_qr, self.enrol_open = codes, "", "", False
        self.mfa_enabled, self.recovery_left = True, len(codes)
        return None

    @rx.event
    @toast_errors
    async def codes_saved(self):
        """The user kept the codes: hide them and rotate the session (now a 2FA session) through a new cookie.

        The new cookie comes through a login ticket bound to this browser's pre-login cookie; a browser without
        one (it expired while the page stayed open) has its session ended instead and logs in again, with 2FA.
        """
        self.recovery_codes = []
        current, ip, agent = self._session_token(), self._ip(), self.router.headers.user_agent or None
        actor, browser = self._require(), self._browser()
        if browser is None:
            await asyncio.to_thread(call, access.logout, token=current, ip=ip)
            yield navigate("/login?expired=1&next=/account")
            return
        token = await asyncio.to_thread(call, access.rotate_session, actor=actor, current_token=current,
                                        ip=ip, user_agent=agent)
        yield redeem_ticket(access.issue_login_ticket(token, browser=browser), "/account")

    @rx.event
    @toast_errors
    def regenerate_codes(self, form_data: dict):
        """New recovery codes after a current code from the app."""
        self.recovery_codes = call(access.regenerate_recovery_codes, actor=self._require(),
                                   code=str(form_data.get("code", "")))
        self.recovery_left = len(self.recovery_codes)
        return None

    # --- turning 2FA off -----------------------------------------------------------------------------------

    @rx.event
    def set_disable_open(self, value: bool):
        self.disable_open, self.disable_error = value, ""

    @rx.event
    @toast_errors
    def disable_mfa(self, form_data: dict):
        """Off, with the password or a code as proof."""
        try:
            call(access.disable, actor=self._require(), password=str(form_data.get("password", "")),
                 code=str(form_data.get("code", "")))
        except CRMError as exc:  # a wrong proof is shown in the dialog, not as a toast
            self.disable_error = crm_error_text(self.lang, exc)
            return None
        self.disable_open, self.mfa_enabled, self.recovery_left = False, False, 0
        return rx.toast.success(translate(self.lang, "account.mfa_disabled"))

    # --- password ------------------------------------------------------------------------------------------

    @rx.event
    @toast_errors
    async def change_password(self, form_data: dict):
        """Current password, then the new one twice; other sessions end."""
        current, new = str(form_data.get("current", "")), str(form_data.get("new", ""))
        self.password_done = False
        if new != str(form_data.get("confirm", "")):
            self.password_errors = [translate(self.lang, "password.mismatch")]
            return
        try:
            # bcrypt twice: off the event loop
            await asyncio.to_thread(call, access.change_password, actor=self._require(), current=current, new=new,
                                    current_token=self._session_token())
        except access.PasswordRefused as exc:
            self.password_errors = [translate(self.lang, key) for key in exc.problems]
            return
        except CRMError as exc:  # e.g. a wrong current password: shown under the form, not as a toast
            self.password_errors = [crm_error_text(self.lang, exc)]
            return
        self.password_errors, self.password_done = [], True
        yield AccountState.load

    # --- sessions ------------------------------------------------------------------------------------------

    @rx.event
    @toast_errors
    def revoke_one(self, session_id: str):
        """End one of my sessions (ids come from my own list and are checked again on the server)."""
        if not str(session_id).isdigit():
            return None
        call(access.revoke_session, actor=self._require(), session_id=int(session_id))
        return AccountState.load

    @rx.event
    @toast_errors
    def logout_everywhere(self):
        """"Sair de todas as sessões": this one too, then the login page."""
        call(access.logout_everywhere, actor=self._require())
        self.user_name = self.user_email = self.user_role = ""
        return SessionState.logout
