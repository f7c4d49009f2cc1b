"""Behind a trusted reverse proxy, the real stack records the client the proxy names, websocket events included.

The stack trusts 127.0.0.1 (`TRUSTED_PROXIES` in conftest.py), and the browser plays the proxy: every request
it makes, the event websocket's handshake too, carries `X-Forwarded-For`. The login happens over Reflex's
websocket (the session and its audit row take `router.session.client_ip`); logging out goes through our HTTP route.
"""

from sqlalchemy import text

from tests.e2e.conftest import login

CLIENT = "203.0.113.77"


def _db(query: str, **params):
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(query), params).all()


def test_the_session_and_audit_ips_are_the_forwarded_client(browser, stack):
    mark = _db("SELECT coalesce(max(id), 0) FROM audit_logs")[0][0]
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack,
                                  extra_http_headers={"X-Forwarded-For": f"198.51.100.1, {CLIENT}"})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        login(page, "supervisor@demo.local")
        page.locator("#user-menu").wait_for()
        rows = _db("SELECT action, ip FROM audit_logs WHERE id > :m AND action IN ('auth.login', 'auth.logout') "
                   "ORDER BY id", m=mark)
        assert rows == [("auth.login", CLIENT)]  # the right-most untrusted address; the rest is the client's claim
        assert _db("SELECT ip FROM sessions ORDER BY id DESC LIMIT 1") == [(CLIENT,)]
        assert page.evaluate("fetch('/api/auth/logout', {method: 'POST'}).then(r => r.status)") == 200
        assert _db("SELECT ip FROM audit_logs WHERE id > :m AND action = 'auth.logout'", m=mark) == [(CLIENT,)]
    finally:
        context.close()
