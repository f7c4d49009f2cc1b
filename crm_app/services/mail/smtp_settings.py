"""The SMTP settings a tenant sends with (registry keys `mail.*`: tenant value -> global value -> default), and
the admin's override, saved only after the server accepted a login with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from crm_app.config import get_settings
from crm_app.errors import ValidationError
from crm_app.integrations import smtp
from crm_app.integrations.errors import ExternalServiceError
from crm_app.models import Role
from crm_app.services import settings
from crm_app.services.core.actors import Actor, require_role
from crm_app.services.settings import store

KEYS = ("mail.smtp_host", "mail.smtp_port", "mail.smtp_security", "mail.smtp_username", "mail.smtp_password",
        "mail.from_address", "mail.from_name")
PASSWORD = "mail.smtp_password"
PAGE = "/settings/email"  # the catalog's MAIL_PAGE: the one page that sets a tenant's SMTP values


@dataclass(frozen=True)
class SmtpView:
    """What the settings page shows: the effective values (never the password, only whether one is set)."""

    host: str
    port: int
    security: str
    username: str
    password_set: bool
    from_address: str
    from_name: str
    # Whether the tenant has its own values (else it sends with the platform's).
    overridden: bool


CONNECTION = ("mail.smtp_host", "mail.smtp_port", "mail.smtp_security")


def smtp_config(session: Session | None, *, tenant_id: int) -> smtp.SmtpConfig:
    """The effective SMTP configuration of `tenant_id`.

    A tenant that points mail at its own server (host, port or security of its own) never sends the platform's
    password there: without a password of its own, it has none.
    """
    values = settings.values(session, KEYS, tenant_id=tenant_id)
    own = {key for key in (*CONNECTION, PASSWORD) if settings.source(session, key, tenant_id=tenant_id) == "tenant"}
    if own & set(CONNECTION) and PASSWORD not in own:
        values[PASSWORD] = None
    return _config(values, guarded=bool(own & set(CONNECTION)))  # the tenant's own server: under the URL policy


def _config(values: dict[str, Any], *, guarded: bool) -> smtp.SmtpConfig:
    return smtp.SmtpConfig(host=values["mail.smtp_host"] or "", port=int(values["mail.smtp_port"]),
                           security=values["mail.smtp_security"], username=values["mail.smtp_username"] or "",
                           password=values["mail.smtp_password"] or "",
                           from_address=values["mail.from_address"] or "", from_name=values["mail.from_name"] or "",
                           guarded=guarded)


def view(session: Session, *, actor: Actor) -> SmtpView:
    """The tenant's effective SMTP settings for its admins (the password never leaves the server)."""
    require_role(actor, Role.ADMIN)
    config = smtp_config(session, tenant_id=actor.tenant_id)
    own = any(settings.source(session, key, tenant_id=actor.tenant_id) == "tenant" for key in KEYS)
    return SmtpView(config.host, config.port, config.security, config.username, bool(config.password),
                    config.from_address, config.from_name, own)


def save(session: Session, *, actor: Actor, changes: dict[str, Any], reason: str | None = None) -> SmtpView:
    """Set the tenant's own SMTP values after checking them: connect and log in first; refused -> nothing saved.

    `changes` maps `mail.*` keys to values; a blank password keeps the current one (it is write-only).
    """
    require_role(actor, Role.ADMIN)
    unknown = set(changes) - set(KEYS)
    if unknown:
        raise ValidationError(f"unknown setting {sorted(unknown)[0]}", field=sorted(unknown)[0])
    changes = {k: v for k, v in changes.items() if not (k == PASSWORD and not v)}
    cleaned = store.clean(changes, tenant_id=actor.tenant_id, checked_on=PAGE)  # named before any connection
    current = settings.values(session, KEYS, tenant_id=actor.tenant_id)
    if PASSWORD not in cleaned and settings.source(session, PASSWORD, tenant_id=actor.tenant_id) != "tenant":
        current[PASSWORD] = None  # the platform's password is never tried on (or lent to) the tenant's server
    candidate = _config({**current, **{k: v for k, v in cleaned.items() if v is not settings.INHERIT}}, guarded=True)
    if candidate.username and not candidate.password:
        raise SmtpPasswordNeeded("enter this server's password", field=PASSWORD)
    if not candidate.host:
        raise ValidationError("the SMTP server is required", field="mail.smtp_host")
    if not candidate.from_address:
        raise ValidationError("the sender's e-mail address is required", field="mail.from_address")
    try:
        smtp.check_login(candidate)
    except ExternalServiceError as exc:
        login = exc.code in (530, 534, 535) or "login" in exc.message
        raise SmtpRefused(exc.message, field=PASSWORD if login else "mail.smtp_host",
                          reason="login" if login else "connect", code=exc.code) from None
    settings.update(session, actor=actor, changes=changes, tenant_id=actor.tenant_id, reason=reason,
                    checked_on=PAGE)
    return view(session, actor=actor)


def reset(session: Session, *, actor: Actor) -> SmtpView:
    """Drop the tenant's own SMTP values: it sends with the platform's again."""
    require_role(actor, Role.ADMIN)
    settings.update(session, actor=actor, changes=dict.fromkeys(KEYS), tenant_id=actor.tenant_id,
                    reason="back to the platform's e-mail server")
    return view(session, actor=actor)


class SmtpRefused(ValidationError):
    """The SMTP server could not be reached (`reason` "connect"), or refused the login ("login"), with the values
    about to be saved."""

    code = "smtp_refused"


def seed_demo(session: Session) -> bool:
    """Point the platform's SMTP settings at the sandbox's SMTP server (security "none", the demo login), unless
    an SMTP server is already set globally. Returns whether it changed anything."""
    if settings.source(session, "mail.smtp_host", tenant_id=None) != "default":
        return False
    config = get_settings()
    settings.update(session, actor=None, tenant_id=None, reason="demo: the sandbox's SMTP server", changes={
        "mail.smtp_host": "127.0.0.1", "mail.smtp_port": config.sandbox_smtp_port, "mail.smtp_security": "none",
        "mail.smtp_username": config.sandbox_smtp_username,
        "mail.smtp_password": config.sandbox_smtp_password.get_secret_value(),
        "mail.from_address": "nao-responda@demo.local", "mail.from_name": "Hotel Demonstração"})
    return True


class SmtpPasswordNeeded(ValidationError):
    """A tenant's own SMTP server with a user needs the tenant's own password (the platform's is never lent)."""

    code = "smtp_password_needed"
