"""The sandbox's SMTP server: a real one (aiosmtpd) that captures every message instead of delivering it.

It speaks ESMTP with AUTH PLAIN and LOGIN, over a plain connection or after STARTTLS with a self-signed
certificate made at start. The demo's security is "none": the app verifies certificates, as it must with a real
server, so it refuses this one (which shows that it checks). Only the demo user and password log in; a wrong
login gets the real `535 5.7.8` reply, and MAIL before a login gets `530`. Two switches let tests drive
failures: `mode` ("up"; "421": every connection is greeted with `421` and closed; "refuse": the port stops
listening) and `refuse_logins` (every login gets 535).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import itertools
import logging
import ssl
import tempfile
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MODES = ("up", "421", "refuse")
# aiosmtpd logs a warning per connection for AUTH without TLS and per login for a deprecated attribute.
logging.getLogger("mail.log").setLevel(logging.ERROR)
MAX_MESSAGES = 500


@dataclass
class CapturedMail:
    """One message as the server received it."""

    id: int
    received_at: str
    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    subject: str
    from_header: str
    to_header: str
    date: str
    text: str
    html: str
    headers: dict[str, str]

    def summary(self) -> dict[str, Any]:
        """What the list shows."""
        return {"id": self.id, "received_at": self.received_at, "subject": self.subject,
                "from": self.from_header, "to": self.to_header, "rcpt_tos": self.rcpt_tos}

    def full(self) -> dict[str, Any]:
        """Everything, for the JSON API and the message view."""
        return {**self.summary(), "mail_from": self.mail_from, "login": self.login, "date": self.date,
                "text": self.text, "html": self.html, "headers": self.headers}


def _part(message: email.message.EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    return body.get_content() if body is not None else ""


def parse_mail(mail_id: int, envelope: Envelope, login: str | None, now: dt.datetime) -> CapturedMail:
    """A received envelope as a `CapturedMail` (subject, parts and headers decoded)."""
    raw = envelope.original_content or b""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return CapturedMail(
        id=mail_id, received_at=now.isoformat(), mail_from=envelope.mail_from or "",
        rcpt_tos=list(envelope.rcpt_tos), login=login, subject=str(message.get("subject", "")),
        from_header=str(message.get("from", "")), to_header=str(message.get("to", "")),
        date=str(message.get("date", "")), text=_part(message, "plain"), html=_part(message, "html"),
        headers={k: str(v) for k, v in message.items()})


@dataclass
class Mailbox:
    """The server's state: the captured messages and the failure switches."""

    username: str
    password: str
    mode: str = "up"
    refuse_logins: bool = False
    messages: deque[CapturedMail] = field(default_factory=lambda: deque(maxlen=MAX_MESSAGES))
    logins: dict[str, int] = field(default_factory=lambda: {"ok": 0, "refused": 0})
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def capture(self, envelope: Envelope, login: str | None) -> CapturedMail:
        """Store one message; returns it."""
        mail = parse_mail(next(self._ids), envelope, login, dt.datetime.now(dt.UTC))
        self.messages.append(mail)
        return mail

    def find(self, mail_id: int) -> CapturedMail | None:
        """The message `mail_id`, or None."""
        return next((m for m in self.messages if m.id == mail_id), None)

    def clear(self) -> None:
        """Forget every message."""
        self.messages.clear()

    def check_login(self, login: bytes, password: bytes) -> bool:
        """Whether `login`/`password` are the demo user's (and logins are not switched off)."""
        ok = not self.refuse_logins and login.decode(errors="replace") == self.username \
            and password.decode(errors="replace") == self.password
        self.logins["ok" if ok else "refused"] += 1
        return ok


def self_signed_context(hostname: str = "sandbox.smtp.local") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for `hostname`, localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName(hostname), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:  # the ssl module loads a chain only from files
        cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context.load_cert_chain(cert_path, key_path)
    return context


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = self.mailbox.capture(envelope, login)
        return f"250 2.0.0 OK queued as {mail.id}"


class SandboxSMTP(SMTP):
    """aiosmtpd's server, greeting with 421 and hanging up while the mailbox is switched to "421"."""

    def __init__(self, mailbox: Mailbox, tls_context: ssl.SSLContext | None = None) -> None:
        # AUTH over a plain connection is the point here (a local fake); aiosmtpd warns about it per connection.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            super().__init__(_Handler(mailbox), hostname="sandbox.smtp.local", auth_required=True,
                             auth_require_tls=False, authenticator=self._authenticate_login,
                             tls_context=tls_context)
        self.mailbox = mailbox

    def _authenticate_login(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        return AuthResult(success=self.mailbox.check_login(auth_data.login, auth_data.password), handled=False,
                          auth_data=auth_data)

    async def _handle_client(self) -> None:
        if self.mailbox.mode == "421":
            await self.push("421 4.3.2 Service not available, closing transmission channel")
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()


class SmtpServer:
    """The listening socket, which the "refuse" mode closes and "up" opens again."""

    def __init__(self, mailbox: Mailbox, host: str, port: int) -> None:
        self.mailbox, self.host, self.port = mailbox, host, port
        self._server: asyncio.Server | None = None
        self._tls = self_signed_context()

    async def start(self) -> None:
        """Listen (no-op when already listening)."""
        if self._server is None:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(lambda: SandboxSMTP(self.mailbox, self._tls), self.host, self.port,
                                                    reuse_address=True)

    async def stop(self) -> None:
        """Stop listening (open connections end on their own)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def set_mode(self, mode: str) -> None:
        """Switch to "up", "421" or "refuse"."""
        self.mailbox.mode = mode
        await (self.stop() if mode == "refuse" else self.start())
