"""Inboxes: a tenant's WhatsApp numbers and their (encrypted) credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.errors import ValidationError
from crm_app.models import Inbox, Role
from crm_app.models.inboxes import DEFAULT_GRAPH_BASE_URL
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_admin_of, require_role

_NUMERIC_ID = re.compile(r"^\d{5,30}$")


@dataclass(frozen=True)
class InboxRow:
    """What the UI may see of an inbox: never its secrets."""

    id: int
    name: str
    phone_number_id: str
    waba_id: str
    display_number: str
    graph_base_url: str
    is_active: bool


def _row(inbox: Inbox) -> InboxRow:
    return InboxRow(inbox.id, inbox.name, inbox.phone_number_id, inbox.waba_id, inbox.display_number,
                    inbox.graph_base_url, inbox.is_active)


def access_inbox(session: Session, *, actor: Actor, inbox_id: int) -> Inbox:
    """The inbox `inbox_id` of the actor's tenant; NotFound otherwise."""
    return fetch_owned(session, Inbox, inbox_id, actor=actor, what="inbox")


def find_inbox_by_phone_number_id(session: Session, phone_number_id: str) -> Inbox | None:
    """The inbox that owns a Meta phone_number_id, across tenants (webhook routing)."""
    return session.exec(select(Inbox).where(Inbox.phone_number_id == phone_number_id)).first()


def _validate(phone_number_id: str, waba_id: str, secrets_: dict[str, str], graph_base_url: str) -> None:
    if not _NUMERIC_ID.match(phone_number_id) or not _NUMERIC_ID.match(waba_id):
        raise ValidationError("phone_number_id and WABA id must be Meta's numeric ids")
    for field, value in secrets_.items():
        if not value or len(value) > 1024:
            raise ValidationError(f"{field} is required")
    if not graph_base_url.startswith(("http://", "https://")):
        raise ValidationError("graph base URL must start with http:// or https://")


def ensure_inbox(
    session: Session,
    *,
    actor: Actor | None,
    tenant_id: int,
    name: str,
    phone_number_id: str,
    waba_id: str,
    display_number: str,
    access_token: str,
    app_secret: str,
    verify_token: str,
    graph_base_url: str = DEFAULT_GRAPH_BASE_URL,
) -> tuple[InboxRow, bool]:
    """Create the inbox for a number unless it exists. Returns (inbox, created)."""
    require_admin_of(actor, tenant_id)
    if actor is not None and not actor.is_platform_operator and graph_base_url != DEFAULT_GRAPH_BASE_URL:
        # Our workers fetch whatever this server points at; only operators may aim them elsewhere.
        raise ValidationError("only a platform operator may change the Graph API address")
    secrets_ = {"access token": access_token, "app secret": app_secret, "verify token": verify_token}
    _validate(phone_number_id, waba_id, secrets_, graph_base_url)
    existing = find_inbox_by_phone_number_id(session, phone_number_id)
    if existing is not None:
        if existing.tenant_id != tenant_id:
            raise ValidationError("this phone_number_id belongs to another tenant")
        return _row(existing), False
    inbox = Inbox(tenant_id=tenant_id, name=name.strip() or display_number, phone_number_id=phone_number_id,
                  waba_id=waba_id, display_number=display_number, graph_base_url=graph_base_url.rstrip("/"),
                  access_token=access_token, app_secret=app_secret, verify_token=verify_token)
    session.add(inbox)
    session.flush()
    audit.record(session, actor=actor, tenant_id=tenant_id, action="inbox.create", target_type="inbox",
                 target_id=inbox.id, after={"phone_number_id": phone_number_id, "waba_id": waba_id})
    return _row(inbox), True


def list_inboxes(session: Session, *, actor: Actor) -> list[InboxRow]:
    """The actor's tenant's inboxes."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR, Role.ATTENDANT)
    query = select(Inbox).where(Inbox.tenant_id == actor.tenant_id).order_by(Inbox.name)
    return [_row(i) for i in session.exec(query)]


def get_inbox(session: Session, *, actor: Actor, inbox_id: int) -> InboxRow:
    """One inbox of the actor's tenant."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR, Role.ATTENDANT)
    return _row(access_inbox(session, actor=actor, inbox_id=inbox_id))


def rename_inbox(session: Session, *, actor: Actor, inbox_id: int, name: str) -> InboxRow:
    """Rename an inbox; admins only."""
    require_role(actor, Role.ADMIN)
    inbox = access_inbox(session, actor=actor, inbox_id=inbox_id)
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationError("name must have 1 to 120 characters")
    before = {"name": inbox.name}
    inbox.name = name
    session.add(inbox)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="inbox.rename",
                 target_type="inbox", target_id=inbox.id, before=before, after={"name": name})
    return _row(inbox)


def all_verify_tokens() -> list[str]:
    """Every inbox's verify token, decrypted, for Meta's GET handshake (one callback URL for all)."""
    from crm_app.db import session_scope

    with session_scope() as session:
        return [inbox.verify_token for inbox in session.exec(select(Inbox).where(Inbox.is_active))]
