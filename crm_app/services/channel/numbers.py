"""Inboxes: a tenant's WhatsApp numbers and their (encrypted) credentials."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import after_commit, session_scope, utcnow
from crm_app.domain.phone_numbers import (
    VERIFY_FIELDS,
    is_numeric_id,
    messaging_limit_of,
    parse_quality,
    token_hint,
    webhook_url,
)
from crm_app.errors import Conflict, ValidationError
from crm_app.integrations import meta_graph
from crm_app.integrations.errors import ExternalServiceError
from crm_app.models import Inbox, Role
from crm_app.models.inboxes import DEFAULT_GRAPH_BASE_URL
from crm_app.services.channel.ingest import forget_routes
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_admin_of, require_role

SECRET_FIELDS = ("access_token", "app_secret", "verify_token")
_DISPLAY_NUMBER = re.compile(r"^\+?[\d\s().-]{8,32}$")
_SECRET_SHAPE = re.compile(r"^\S{1,1024}$")
# One answer for "already connected here" and "already connected to another company": the install's other
# tenants must not be discoverable from a settings form.
TAKEN = "this phone_number_id is already connected in this installation"


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


def _check(ok: bool, field: str, message: str, reason: str = "invalid") -> None:
    if not ok:
        raise ValidationError(message, field=field, reason=reason)


def _validate_ids(phone_number_id: str, waba_id: str) -> None:
    _check(bool(phone_number_id), "phone_number_id", "the phone_number_id is required", "required")
    _check(is_numeric_id(phone_number_id), "phone_number_id", "the phone_number_id must be Meta's numeric id")
    _check(bool(waba_id), "waba_id", "the WABA id is required", "required")
    _check(is_numeric_id(waba_id), "waba_id", "the WABA id must be Meta's numeric id")


def _validate_secrets(secrets_: dict[str, str], *, required: bool) -> None:
    for field, value in secrets_.items():
        if not value:
            _check(not required, field, f"{field} is required", "required")
            continue
        _check(bool(_SECRET_SHAPE.match(value)), field, f"{field} must be 1 to 1024 characters without spaces")


def _validate_graph_url(graph_base_url: str) -> None:
    _check(graph_base_url.startswith(("http://", "https://")) and len(graph_base_url) <= 255, "graph_base_url",
           "graph base URL must start with http:// or https://")


def _validate(phone_number_id: str, waba_id: str, secrets_: dict[str, str], graph_base_url: str) -> None:
    _validate_ids(phone_number_id, waba_id)
    _validate_secrets(secrets_, required=True)
    _validate_graph_url(graph_base_url)


def _check_graph_url_allowed(actor: Actor | None, graph_base_url: str, current: str) -> None:
    if actor is not None and not actor.is_platform_operator and graph_base_url != current:
        # Our workers fetch whatever this server points at; only operators may aim them elsewhere.
        raise ValidationError("only a platform operator may change the Graph API address", field="graph_base_url",
                              reason="operator_only")


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
    _check_graph_url_allowed(actor, graph_base_url, DEFAULT_GRAPH_BASE_URL)
    secrets_ = {"access_token": access_token, "app_secret": app_secret, "verify_token": verify_token}
    _validate(phone_number_id, waba_id, secrets_, graph_base_url)
    existing = find_inbox_by_phone_number_id(session, phone_number_id)
    if existing is not None:
        _check(existing.tenant_id == tenant_id, "phone_number_id", TAKEN, "taken")
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


@dataclass(frozen=True)
class NumberRow:
    """One number as /settings/numbers shows it: ids, state and the last verification, never a secret.

    `verify_token_hint` is the verify token's last characters (to recognise it in Meta's dashboard).
    """

    id: int
    name: str
    display_number: str
    phone_number_id: str
    waba_id: str
    graph_base_url: str
    is_active: bool
    verify_token_hint: str
    verified_name: str | None
    quality_rating: str | None
    messaging_limit: str | None
    last_verified_at: dt.datetime | None
    last_verify_ok: bool | None
    last_verify_error_code: int | None
    last_verify_error: str | None


@dataclass(frozen=True)
class NumbersPage:
    """What /settings/numbers shows: the tenant's numbers and the callback URL to paste into Meta."""

    numbers: list[NumberRow]
    webhook_url: str
    default_graph_base_url: str


def _number_row(inbox: Inbox) -> NumberRow:
    return NumberRow(
        id=inbox.id, name=inbox.name, display_number=inbox.display_number, phone_number_id=inbox.phone_number_id,
        waba_id=inbox.waba_id, graph_base_url=inbox.graph_base_url, is_active=inbox.is_active,
        verify_token_hint=token_hint(inbox.verify_token), verified_name=inbox.verified_name,
        quality_rating=inbox.quality_rating, messaging_limit=inbox.messaging_limit,
        last_verified_at=inbox.last_verified_at, last_verify_ok=inbox.last_verify_ok,
        last_verify_error_code=inbox.last_verify_error_code, last_verify_error=inbox.last_verify_error)


def numbers_page(session: Session, *, actor: Actor) -> NumbersPage:
    """The tenant's numbers for the admin's settings page (admins only: they carry the verify token hint)."""
    require_role(actor, Role.ADMIN)
    query = select(Inbox).where(Inbox.tenant_id == actor.tenant_id).order_by(Inbox.name, Inbox.id)
    return NumbersPage(numbers=[_number_row(i) for i in session.exec(query)],
                       webhook_url=webhook_url(get_settings().app_url), default_graph_base_url=DEFAULT_GRAPH_BASE_URL)


@dataclass(frozen=True)
class NumberForm:
    """What an admin typed for a number. Empty secrets mean "keep the stored one" on an edit.

    `graph_base_url` None keeps the current address (the default one for a new number); only platform
    operators may give another.
    """

    name: str
    display_number: str
    phone_number_id: str
    waba_id: str
    access_token: str = ""
    app_secret: str = ""
    verify_token: str = ""
    is_active: bool = True
    graph_base_url: str | None = None

    def cleaned(self) -> NumberForm:
        """The same form with surrounding spaces removed (a pasted token often ends with a newline)."""
        return NumberForm(self.name.strip(), self.display_number.strip(), self.phone_number_id.strip(),
                          self.waba_id.strip(), self.access_token.strip(), self.app_secret.strip(),
                          self.verify_token.strip(), bool(self.is_active),
                          None if self.graph_base_url is None else self.graph_base_url.strip().rstrip("/"))

    @property
    def secrets(self) -> dict[str, str]:
        return {"access_token": self.access_token, "app_secret": self.app_secret, "verify_token": self.verify_token}


def _validate_form(form: NumberForm, *, creating: bool) -> None:
    _check(len(form.name) <= 120, "name", "the name must have at most 120 characters")
    _check(bool(form.display_number), "display_number", "the display number is required", "required")
    digits = sum(ch.isdigit() for ch in form.display_number)
    _check(bool(_DISPLAY_NUMBER.match(form.display_number)) and 8 <= digits <= 15, "display_number",
           "the display number must be a phone number with 8 to 15 digits")
    _validate_ids(form.phone_number_id, form.waba_id)
    _validate_secrets(form.secrets, required=creating)
    if form.graph_base_url is not None:
        _validate_graph_url(form.graph_base_url)


def _claim_phone_number_id(session: Session, phone_number_id: str, inbox_id: int | None) -> None:
    owner = find_inbox_by_phone_number_id(session, phone_number_id)
    _check(owner is None or owner.id == inbox_id, "phone_number_id", TAKEN, "taken")


def _audit_view(inbox: Inbox) -> dict[str, object]:
    return {"name": inbox.name, "display_number": inbox.display_number, "phone_number_id": inbox.phone_number_id,
            "waba_id": inbox.waba_id, "graph_base_url": inbox.graph_base_url, "is_active": inbox.is_active}


def save_number(session: Session, *, actor: Actor, inbox_id: int | None, form: NumberForm) -> NumberRow:
    """Create (`inbox_id` None) or edit one of the tenant's numbers; admins only.

    Secrets are write-only: on an edit an empty one keeps what is stored. A bad field raises
    `ValidationError` with `field` and `reason` ("required", "invalid", "taken", "operator_only"), and
    nothing is written. The audit row names which secrets changed, never their values.
    """
    require_role(actor, Role.ADMIN)
    form = form.cleaned()
    inbox = access_inbox(session, actor=actor, inbox_id=inbox_id) if inbox_id is not None else None
    current_url = inbox.graph_base_url if inbox is not None else DEFAULT_GRAPH_BASE_URL
    graph_base_url = form.graph_base_url or current_url
    _validate_form(form, creating=inbox is None)
    _check_graph_url_allowed(actor, graph_base_url, current_url)
    _claim_phone_number_id(session, form.phone_number_id, inbox_id)
    before = _audit_view(inbox) if inbox is not None else None
    if inbox is None:
        inbox = Inbox(tenant_id=actor.tenant_id, name="", phone_number_id="", waba_id="", display_number="",
                      **form.secrets)
    identity_changed = (inbox.phone_number_id, inbox.graph_base_url) != (form.phone_number_id, graph_base_url)
    inbox.name, inbox.display_number = form.name or form.display_number, form.display_number
    inbox.phone_number_id, inbox.waba_id, inbox.graph_base_url = form.phone_number_id, form.waba_id, graph_base_url
    inbox.is_active = form.is_active
    changed = list(SECRET_FIELDS) if before is None else [
        field for field, value in form.secrets.items() if value and value != getattr(inbox, field)]
    for field in changed:
        setattr(inbox, field, form.secrets[field])
    if identity_changed or "access_token" in changed:
        _forget_verification(inbox)  # what Meta said was about another number or token
    _store(session, inbox)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id,
                 action="inbox.create" if before is None else "inbox.update", target_type="inbox",
                 target_id=inbox.id, before=before, after={**_audit_view(inbox), "secrets_changed": changed})
    after_commit(session, forget_routes)
    return _number_row(inbox)


def _forget_verification(inbox: Inbox) -> None:
    inbox.verified_name = inbox.quality_rating = inbox.messaging_limit = None
    inbox.last_verified_at = inbox.last_verify_ok = None
    inbox.last_verify_error_code = inbox.last_verify_error = None


def _store(session: Session, inbox: Inbox) -> None:
    """Flush the row; two admins racing for one phone_number_id get the same "taken" answer."""
    try:
        with session.begin_nested():
            session.add(inbox)
            session.flush()
    except IntegrityError:
        raise ValidationError(TAKEN, field="phone_number_id", reason="taken") from None


class NumberChanged(Conflict):
    """Someone changed the number's id or Graph address while Meta was being asked about the old one."""

    code = "number_changed"


@dataclass(frozen=True)
class _Target:
    inbox_id: int
    tenant_id: int
    account: meta_graph.GraphAccount


def _verify_target(actor: Actor, inbox_id: int) -> _Target:
    with session_scope() as session:
        inbox = access_inbox(session, actor=require_role(actor, Role.ADMIN), inbox_id=inbox_id)
        account = meta_graph.GraphAccount(inbox.graph_base_url, inbox.phone_number_id, inbox.waba_id,
                                          inbox.access_token)
        return _Target(inbox.id, inbox.tenant_id, account)


def verify_number(*, actor: Actor, inbox_id: int, now: dt.datetime | None = None) -> NumberRow:
    """The "Verificar" button: ask Graph about the number with its stored token, and keep the answer.

    Reads the number in one transaction, calls `GET /{phone_number_id}` outside any transaction, then
    stores the verified name, quality rating and messaging limit (or Meta's error code and text) with an
    audit row. A refused token (code 190) is a result to show, not an exception.

    Returns:
        The number as the page shows it after the check.
    """
    target = _verify_target(actor, inbox_id)
    try:
        data = meta_graph.phone_number_info(target.account, VERIFY_FIELDS)
        outcome: dict[str, object] = {"ok": True, "data": data}
    except ExternalServiceError as exc:
        outcome = {"ok": False, "code": exc.code, "error": (exc.details or exc.message)[:500]}
    with session_scope() as session:
        inbox = access_inbox(session, actor=actor, inbox_id=target.inbox_id)
        if (inbox.phone_number_id, inbox.graph_base_url) != (target.account.phone_number_id,
                                                             target.account.base_url):
            raise NumberChanged("the number changed while it was being verified; verify it again")
        _apply_verification(inbox, outcome, now or utcnow())
        audit.record(session, actor=actor, tenant_id=target.tenant_id, action="inbox.verify", target_type="inbox",
                     target_id=inbox.id, after={"ok": inbox.last_verify_ok, "error_code": inbox.last_verify_error_code,
                                                "quality_rating": inbox.quality_rating,
                                                "messaging_limit": inbox.messaging_limit})
        session.add(inbox)
        return _number_row(inbox)


def _apply_verification(inbox: Inbox, outcome: dict, now: dt.datetime) -> None:
    inbox.last_verified_at, inbox.last_verify_ok = now, bool(outcome["ok"])
    if outcome["ok"]:
        data = outcome["data"]
        inbox.verified_name = str(data.get("verified_name") or "")[:255] or None
        inbox.quality_rating = parse_quality(data.get("quality_rating"))
        inbox.messaging_limit = messaging_limit_of(data)
        inbox.last_verify_error_code = inbox.last_verify_error = None
    else:  # keep the last known quality and tier: they are still Meta's latest word on the number
        inbox.last_verify_error_code = outcome["code"] if isinstance(outcome["code"], int) else None
        inbox.last_verify_error = str(outcome["error"])
