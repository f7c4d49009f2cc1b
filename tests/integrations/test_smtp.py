"""The SMTP client's secure modes against a real SMTP server (aiosmtpd) whose certificate this process trusts
through SSL_CERT_FILE, as a real server's is trusted through the system's CAs: implicit TLS and STARTTLS both
log in and send, and a name the certificate does not carry is refused."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crm_app.integrations import smtp
from crm_app.integrations.errors import ExternalServiceError
from tests.support.sandbox import free_port

LOGIN = ("mailer", "s3nha-do-servidor")
# aiosmtpd warns about AUTH without STARTTLS on the implicit-TLS server, whose whole line is TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def server_context(tmp_path, monkeypatch) -> ssl.SSLContext:
    """A certificate for localhost that the client's default context trusts (SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName("localhost")]  # not 127.0.0.1: connecting by that address must fail the name check
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).add_extension(x509.SubjectAlternativeName(alt), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class _Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((session.auth_data.login.decode(), envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == LOGIN
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture(params=["tls", "starttls"])
def secure_server(request, server_context):
    """A server that takes AUTH only over TLS: implicit ("tls") or after STARTTLS."""
    inbox, port = _Inbox(), free_port()
    # aiosmtpd does not see an implicit TLS transport as TLS (it would hide AUTH): the line is TLS from the start
    tls = {"ssl_context": server_context, "auth_require_tls": False} if request.param == "tls" else {
        "tls_context": server_context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_required=True, authenticator=_authenticate,
                            **tls)
    controller.start()
    yield request.param, port, inbox
    controller.stop()


def _config(security: str, port: int, host: str = "localhost") -> smtp.SmtpConfig:
    return smtp.SmtpConfig(host=host, port=port, security=security, username=LOGIN[0], password=LOGIN[1],
                           from_address="reservas@pousada.example", from_name="Pousada Sol", timeout=5)


def test_each_secure_mode_logs_in_and_sends_over_tls(secure_server):
    security, port, inbox = secure_server
    config = _config(security, port)
    smtp.check_login(config)
    smtp.send(config, smtp.build_message(config, to="bia@example.com", subject="Olá", text="Corpo", html="<p>x</p>"))
    [(login, rcpt_tos, content)] = inbox.received
    assert (login, rcpt_tos) == (LOGIN[0], ["bia@example.com"]) and b"Subject: =?utf-8?q?Ol=C3=A1?=" in content


def test_a_name_the_certificate_does_not_carry_is_refused_before_the_login(secure_server):
    security, port, inbox = secure_server
    with pytest.raises(ExternalServiceError) as refused:
        smtp.check_login(_config(security, port, host="127.0.0.1"))  # the same server, by a name not in its cert
    expected = smtp.UNREACHABLE if security == "tls" else "secure connection to the SMTP server failed"
    assert refused.value.message.startswith(expected)
    assert inbox.received == []
