"""2FA in Chromium: enrol on /account from the page's own secret, log out, log in with password + code."""


import pyotp
import pytest
from sqlalchemy import text

from tests.e2e.conftest import login, logout, shoot

EMAIL = "dora@demo.local"


@pytest.fixture(scope="module")
def dora(stack):
    """Dora, an admin of the demo tenant made for this file (the demo users keep logging in without 2FA)."""
    from crm_app.config import get_settings
    from crm_app.db import session_scope
    from crm_app.services.access import users

    with session_scope() as session:
        tenant_id = session.execute(text("SELECT tenant_id FROM inboxes WHERE phone_number_id = :p"),
                                    {"p": get_settings().demo_wa_phone_number_id}).scalar()
        users.ensure_user(session, actor=None, tenant_id=tenant_id, email=EMAIL, name="Dora Duas Etapas",
                          role="admin", password="demo1234")
    return EMAIL


def _next_code(secret: str, used_step: int) -> str:
    """A code the server has not seen: the current step's, or the next one (±1 skew) if that step was used."""
    from crm_app.services.access import mfa

    step = max(mfa.current_step(), used_step + 1)
    return mfa.code_at(secret, step)


def test_enrol_log_out_and_log_in_with_a_code(page, dora):
    from crm_app.db import get_engine
    from crm_app.services.access import mfa

    login(page, dora)
    page.locator("#user-menu").get_by_text("Dora Duas Etapas").wait_for()
    page.goto("/account")
    page.locator("#mfa-status-off").wait_for()
    page.click("#enrol-start")
    page.locator("#totp-qr").wait_for()
    assert page.locator("#totp-qr").get_attribute("src").startswith("data:image/svg+xml")
    secret = page.locator("#totp-secret").inner_text().strip()
    assert len(secret) == 32
    shoot(page, "account-2fa-enrol")
    enrol_step = mfa.current_step()
    page.fill("#enrol-code", pyotp.TOTP(secret).at(enrol_step * 30))
    page.click("#enrol-confirm")
    page.locator("#recovery-codes").wait_for()
    assert page.locator("#recovery-codes code").count() == 10
    page.click("#recovery-done")  # the session is rotated through a new cookie
    page.locator("#mfa-status-on").wait_for()
    page.locator("#sessions-table").get_by_text("2FA").wait_for()  # this session was made after a code
    shoot(page, "account")
    page.locator("#account-sessions").scroll_into_view_if_needed()
    shoot(page, "account-sessions")

    logout(page)
    login(page, dora)
    page.locator("#totp-code").wait_for()
    assert page.locator("#user-menu").count() == 0  # no session yet
    shoot(page, "login-2fa")
    page.fill("#totp-code", "000000" if _next_code(secret, enrol_step) != "000000" else "111111")
    page.click("#totp-submit")
    page.locator("#login-error").wait_for()
    assert "inválido" in page.locator("#login-error").inner_text()
    page.fill("#totp-code", _next_code(secret, enrol_step))
    page.click("#totp-submit")
    page.locator("#user-menu").get_by_text("Dora Duas Etapas").wait_for()
    with get_engine().connect() as conn:
        live = conn.execute(text(
            "SELECT s.mfa FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = :e "
            "AND s.revoked_at IS NULL"), {"e": dora}).scalars().all()
    assert live == [True]  # one live session, made after the code; the earlier ones were revoked

    page.goto("/settings/security")
    page.locator("#policy-idle").wait_for()
    assert page.locator("#policy-idle").input_value() == "30"
    assert page.locator("#policy-absolute").input_value() == "12"
    shoot(page, "settings-security")
