"""A thin SMTP client (smtplib): connect with a timeout, secure the line if asked, log in, send.

Every failure becomes an `ExternalServiceError` whose message is the server's reply code and text (never the
password). `retryable` follows SMTP: 4xx replies, timeouts and refused connections may pass on a later try;
5xx replies (a refused login, an unknown recipient) will not.

A whole call has a total deadline: smtplib's timeout is per read, so a server that answers a byte every few
seconds would otherwise hold a worker (or a page's save) as long as it likes. When the time is up the socket
is shut down and the call fails as a timeout.

A server a tenant configured (`SmtpConfig.guarded`) is reached under the outbound-URL policy
(`outbound_urls`): its name is resolved once, every address must be allowed (no loopback, private,
link-local or metadata address unless the install allows private ones), the connection goes to the checked
address (TLS still checks the certificate against the name), only the usual submission ports are accepted
where private addresses are not, and a failure to reach it or a greeting that is not SMTP reads the same
whatever the cause, so that a "save" cannot be used to scan our network.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from crm_app.integrations import outbound_urls
from crm_app.integrations.errors import ExternalServiceError

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_TIMEOUT = 15.0
LOGIN_DEADLINE = 20.0  # seconds a login check may take in all (a page waits for it)
SEND_DEADLINE = 60.0  # seconds one send may take in all (below the send job's timeout)
# Where private addresses are not allowed, a tenant's server must listen on a mail port.
SUBMISSION_PORTS = frozenset({25, 465, 587, 2525})
UNREACHABLE = "could not reach the SMTP server, or it did not answer as an SMTP server"


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
    guarded: bool = False  # a tenant's own server: reached under the outbound-URL policy

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r}, " \
               f"username={self.username!r}, from_address={self.from_address!r})"


def build_message(config: SmtpConfig, *, to: str, subject: str, text: str, html: str,
                  message_id: str | None = None) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML), From the configured sender.

    `message_id` (without brackets' domain part) makes the Message-ID stable, so that a message sent twice
    after an interrupted attempt carries the same id both times.
    """
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((config.from_name, config.from_address)) if config.from_name \
        else config.from_address
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    domain = config.from_address.rpartition("@")[2] or None
    message["Message-ID"] = f"<{message_id}@{domain or 'localhost'}>" if message_id else make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class _Sockets:
    """The sockets of one call, shut down when its total deadline passes (a blocked read then returns)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Sockets:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def add(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _open(address: str | None, host: str, port: int, timeout: float, source, sockets: _Sockets) -> socket.socket:
    if sockets.expired:
        raise TimeoutError("the SMTP call's deadline passed")
    return sockets.add(socket.create_connection((address or host, port), timeout, source))


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP connecting to a checked address (if any), its socket under the call's deadline."""

    def __init__(self, host: str, port: int, *, address: str | None, sockets: _Sockets, timeout: float) -> None:
        self._address, self._sockets = address, sockets
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host, port, timeout):
        return _open(self._address, host, port, timeout, self.source_address, self._sockets)


class _SMTPSSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL likewise; TLS checks the certificate against the host's name, not the address."""

    def __init__(self, host: str, port: int, *, address: str | None, sockets: _Sockets, timeout: float,
                 context: ssl.SSLContext) -> None:
        self._address, self._sockets = address, sockets
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host, port, timeout):
        sock = _open(self._address, host, port, timeout, self.source_address, self._sockets)
        return self.context.wrap_socket(sock, server_hostname=self._host)


def _checked_address(config: SmtpConfig) -> str | None:
    """The address to connect to: for a tenant's server, its name resolved once and checked by the policy."""
    if not config.guarded:
        return None
    if config.port not in SUBMISSION_PORTS and not outbound_urls.private_allowed():
        raise ExternalServiceError("the SMTP port is not allowed: use 25, 465, 587 or 2525", retryable=False)
    try:
        return outbound_urls.checked_addresses(config.host, config.port)[0]
    except outbound_urls.UrlNotAllowed:
        raise ExternalServiceError(UNREACHABLE, retryable=False) from None


def _connect(config: SmtpConfig, sockets: _Sockets) -> smtplib.SMTP:
    if config.security not in SECURITY_MODES:
        raise ExternalServiceError(f"unknown SMTP security {config.security!r}", retryable=False)
    if not config.host:
        raise ExternalServiceError("no SMTP server is configured", retryable=False)
    address = _checked_address(config)
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            client: smtplib.SMTP = _SMTPSSL(config.host, config.port, address=address, sockets=sockets,
                                            timeout=config.timeout, context=context)
        else:
            client = _SMTP(config.host, config.port, address=address, sockets=sockets, timeout=config.timeout)
    except smtplib.SMTPConnectError as exc:
        if 400 <= exc.smtp_code < 600:  # an SMTP server that does not take mail now (421) or at all (554)
            raise ExternalServiceError(f"the SMTP server answered {exc.smtp_code}", code=exc.smtp_code,
                                       retryable=exc.smtp_code < 500) from None
        log.info("SMTP: %s:%s did not greet as SMTP", config.host, config.port)
        raise ExternalServiceError(UNREACHABLE, retryable=False) from None
    except OSError as exc:  # nothing SMTP was said: one text, whatever the cause (closed, filtered, TLS, deadline)
        log.info("SMTP: %s:%s unreachable (%s: %s)", config.host, config.port, type(exc).__name__, exc)
        raise ExternalServiceError(UNREACHABLE, retryable=True) from None
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


def _wrapped(exc: Exception, sockets: _Sockets) -> ExternalServiceError:
    if isinstance(exc, ExternalServiceError):
        return exc
    if sockets.expired:
        return ExternalServiceError("the SMTP server did not answer in time", retryable=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ExternalServiceError(f"the SMTP server does not support this message: {exc}", retryable=False)
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


def check_login(config: SmtpConfig, *, deadline: float = LOGIN_DEADLINE) -> None:
    """Connect and log in (nothing sent), within `deadline` seconds; ExternalServiceError says why not."""
    with _Sockets(deadline) as sockets:
        try:
            with _connect(config, sockets):
                pass
        except Exception as exc:
            raise _wrapped(exc, sockets) from None


def send(config: SmtpConfig, message: EmailMessage, *, deadline: float = SEND_DEADLINE) -> None:
    """Send one message within `deadline` seconds; ExternalServiceError says why not and whether to try again."""
    with _Sockets(deadline) as sockets:
        try:
            with _connect(config, sockets) as client:
                client.send_message(message)
        except Exception as exc:
            raise _wrapped(exc, sockets) from None
