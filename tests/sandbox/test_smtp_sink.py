"""The sandbox's SMTP server, over real sockets with smtplib: AUTH, capture, the JSON API and the failure switches."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import replace
from email.message import EmailMessage

import httpx
import pytest

from crm_app.config import get_settings
from tests.support.sandbox import free_port, sandbox_in_thread


@pytest.fixture(scope="module")
def sandbox():
    port = free_port()
    with sandbox_in_thread(smtp_port=port) as url:
        yield url, port


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox[0], timeout=10) as client:
        assert client.post("/sandbox/api/mail/control", json={"mode": "up", "refuse_logins": False}).status_code == 200
        assert client.delete("/sandbox/api/mail/messages").status_code == 200
        yield client


def _login() -> tuple[str, str]:
    settings = get_settings()
    return settings.sandbox_smtp_username, settings.sandbox_smtp_password.get_secret_value()


def _message(to: str = "ana@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "Convite para o CRM <teste>"
    msg["From"] = "CRM <no-reply@example.com>"
    msg["To"] = to
    msg.set_content("Olá, Ana.\nAbra o link.")
    msg.add_alternative("<p>Olá, <b>Ana</b>.</p><script>alert(1)</script>", subtype="html")
    return msg


def test_a_logged_in_client_sends_and_the_message_is_captured(sandbox, http):
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        smtp.ehlo()
        assert {"PLAIN", "LOGIN"} <= set(smtp.esmtp_features["auth"].split())
        smtp.login(*_login())
        smtp.send_message(_message())
    listed = http.get("/sandbox/api/mail/messages").json()["messages"]
    assert [m["subject"] for m in listed] == ["Convite para o CRM <teste>"]
    one = http.get(f"/sandbox/api/mail/messages/{listed[0]['id']}").json()
    assert one["rcpt_tos"] == ["ana@example.com"] and one["login"] == _login()[0]
    assert one["text"].startswith("Olá, Ana.") and "<b>Ana</b>" in one["html"]
    html = http.get(f"/sandbox/api/mail/messages/{listed[0]['id']}/html")
    assert "sandbox" in html.headers["content-security-policy"] and "script-src" not in html.headers[
        "content-security-policy"]
    assert http.get("/sandbox/api/mail/messages", params={"to": "other@example.com"}).json()["messages"] == []
    assert http.delete("/sandbox/api/mail/messages").status_code == 200
    assert http.get("/sandbox/api/mail/messages").json()["messages"] == []


def test_login_with_auth_login_mechanism(sandbox, http):
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = _login()
        code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
        assert code == 235


def test_a_wrong_password_gets_535_and_nothing_is_captured(sandbox, http):
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(_login()[0], "wrong")
        assert refused.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPSenderRefused) as no_auth:  # MAIL before a login
            smtp.send_message(_message())
        assert no_auth.value.smtp_code == 530
    assert http.get("/sandbox/api/mail/messages").json()["messages"] == []
    assert http.get("/sandbox/api/mail/control").json()["logins"]["refused"] >= 1


def test_refuse_logins_switch_refuses_the_right_password(sandbox, http):
    assert http.post("/sandbox/api/mail/control", json={"refuse_logins": True}).json()["refuse_logins"] is True
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(*_login())


def test_down_modes_greet_with_421_or_refuse_the_connection(sandbox, http):
    http.post("/sandbox/api/mail/control", json={"mode": "421"})
    with pytest.raises(smtplib.SMTPConnectError) as down:
        smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5)
    assert down.value.smtp_code == 421
    http.post("/sandbox/api/mail/control", json={"mode": "refuse"})
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5)
    http.post("/sandbox/api/mail/control", json={"mode": "up"})
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        smtp.login(*_login())
        smtp.send_message(_message())
    assert len(http.get("/sandbox/api/mail/messages").json()["messages"]) == 1


def test_bad_control_requests_are_refused(sandbox, http):
    bad = http.post("/sandbox/api/mail/control", json={"mode": "sideways"})
    assert bad.status_code == 400 and "mode" in bad.json()["error"]
    assert http.post("/sandbox/api/mail/control", json={"refuse_logins": "yes"}).status_code == 400
    assert http.get("/sandbox/api/mail/messages/999").status_code == 400
    assert http.get("/sandbox/api/mail/control").json()["mode"] == "up"


def test_the_mailbox_page_is_served(sandbox, http):
    page = http.get("/mail")
    assert page.status_code == 200 and "Caixa de e-mails" in page.text


def test_starttls_with_a_self_signed_certificate(sandbox, http):
    with smtplib.SMTP("127.0.0.1", sandbox[1], timeout=5) as smtp:
        smtp.ehlo()
        assert "starttls" in smtp.esmtp_features
        smtp.starttls(context=ssl._create_unverified_context())  # a test client that accepts the fake's cert
        smtp.ehlo()
        smtp.login(*_login())
        smtp.send_message(_message())
    assert len(http.get("/sandbox/api/mail/messages").json()["messages"]) == 1


def test_the_apps_client_refuses_the_sandboxs_certificate(sandbox, http):
    from crm_app.integrations import smtp as client
    from crm_app.integrations.errors import ExternalServiceError

    config = client.SmtpConfig(host="127.0.0.1", port=sandbox[1], security="starttls", username=_login()[0],
                               password=_login()[1], from_address="a@example.com", timeout=5)
    with pytest.raises(ExternalServiceError) as refused:
        client.check_login(config)
    assert "secure connection" in refused.value.message and not refused.value.retryable
    client.check_login(replace(config, security="none"))  # the demo's setting logs in
