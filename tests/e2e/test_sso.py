"""SSO end to end in Chromium: login page → "Entrar com SSO" → the sandbox's fake provider → back, logged in.

The demo seed points the demo tenant at the sandbox's `/oidc` provider, with crm-admins / crm-supervisors /
crm-attendants mapped to roles; the fake's presets sign in people of those groups, or of none.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.e2e.conftest import login, shoot


def _sso_to_provider(page, company: str = "demo", shot: str | None = None) -> None:
    page.goto("/login?next=/settings/sso")
    page.click("#sso-open")
    page.locator("#sso-tenant").wait_for()
    if shot:
        shoot(page, shot)
    page.fill("#sso-tenant", company)
    page.click("#sso-continue")
    page.locator("#oidc-allow").wait_for()  # the fake provider's page


def test_sso_login_lands_logged_in_with_the_mapped_role(page):
    _sso_to_provider(page, shot="login-sso")
    shoot(page, "sso-fake-provider")
    page.click("#oidc-preset-admin")  # Alice SSO, in crm-admins
    page.wait_for_url(re.compile(r"/settings/sso/?$"))
    page.locator("#user-menu").get_by_text("Alice SSO").wait_for()
    page.locator("#sso-tenant-slug").get_by_text("demo").wait_for()  # an admin page: the mapped role is admin
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        role, method = conn.execute(text(
            "SELECT u.role, s.auth_method FROM users u JOIN sessions s ON s.user_id = u.id "
            "WHERE u.email = 'alice.sso@demo.local' ORDER BY s.id DESC LIMIT 1")).one()
        actions = {r[0] for r in conn.execute(text(
            "SELECT action FROM audit_logs WHERE action LIKE 'sso.%'"))}
    assert (role, method) == ("admin", "sso")
    assert {"sso.user_provisioned", "sso.login"} <= actions
    cookie = next(c for c in page.context.cookies() if c["name"] == "crm_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_someone_in_no_mapped_group_is_refused_with_a_message(page):
    _sso_to_provider(page)
    page.click("#oidc-preset-nogroup")
    page.wait_for_url(re.compile(r"/login/?\?sso_error=no_role"))
    error = page.locator("#sso-error")
    error.wait_for()
    assert "nenhum grupo" in error.inner_text()
    assert not any(c["name"] == "crm_session" for c in page.context.cookies())
    shoot(page, "login-sso-refused")


def test_admin_sees_the_sso_settings_and_tests_discovery(page):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/sso")
    page.locator("#sso-redirect-uri").wait_for()
    assert page.locator("#sso-secret-state").inner_text() == "Definido"
    assert page.locator("#sso-client_secret").input_value() == ""  # write-only
    assert page.locator(".sso-map-row").count() == 3
    page.click("#sso-test-discovery")
    page.locator("#sso-discovery-ok").wait_for()
    assert "/oidc/token" in page.locator("#sso-discovery-ok").inner_text()
    shoot(page, "settings-sso")
    page.locator("#sso-add-mapping").scroll_into_view_if_needed()
    shoot(page, "settings-sso-mapping")
