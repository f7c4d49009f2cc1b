"""A thin SMTP client (smtplib): connect with a timeout, secure the line if asked, log in, send.

Every failure becomes an `ExternalServiceError` whose message is the server's reply code and text (never the
password). `retryable` follows SMTP: 4xx replies, timeouts and refused connections may pass on a later try;
5xx replies (a refused login, an unknown recipient) will not.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from crm_app.integrations.errors import ExternalServiceError

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. `password` is kept out of `repr`."""

    host: str
    port: int
    security: str
    username: str
    password: str
    from_address: str
    from_name: str = ""
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r}, " \
               f"username={self.username!r}, from_address={self.from_address!r})"


def build_message(config: SmtpConfig, *, to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML), From the configured sender."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((config.from_name, config.from_address)) if config.from_name \
        else config.from_address
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=config.from_address.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.security not in SECURITY_MODES:
        raise ExternalServiceError(f"unknown SMTP security {config.security!r}", retryable=False)
    if not config.host:
        raise ExternalServiceError("no SMTP server is configured", retryable=False)
    context = ssl.create_default_context()
    if config.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        client.ehlo()
        if config.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.username:
            client.login(config.username, config.password)
    except BaseException:
        client.close()
        raise
    return client


def _wrapped(exc: Exception) -> ExternalServiceError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ExternalServiceError(f"the SMTP server refused the login ({exc.smtp_code})", retryable=False,
                                    code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return ExternalServiceError(f"the SMTP server refused the recipient: {code} {_text(reply)}",
                                    retryable=400 <= code < 500, code=code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return ExternalServiceError(f"the SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                    retryable=400 <= exc.smtp_code < 500, code=exc.smtp_code)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ExternalServiceError("the SMTP server did not answer in time", retryable=True)
    if isinstance(exc, ssl.SSLError):
        return ExternalServiceError(f"secure connection to the SMTP server failed: {exc.reason}", retryable=False)
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return ExternalServiceError(f"could not reach the SMTP server: {exc.__class__.__name__} {exc}",
                                    retryable=True)
    raise exc


def _text(reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


def check_login(config: SmtpConfig) -> None:
    """Connect and log in (nothing sent); ExternalServiceError says why not."""
    try:
        client = _connect(config)
    except Exception as exc:
        raise _wrapped(exc) from None
    with client:
        pass


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Send one message; ExternalServiceError says why not and whether to try again."""
    try:
        with _connect(config) as client:
            client.send_message(message)
    except ExternalServiceError:
        raise
    except Exception as exc:
        raise _wrapped(exc) from None
