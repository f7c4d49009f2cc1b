"""Message templates, synced from each inbox's WhatsApp Business Account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.integrations import meta_graph
from crm_app.models import Inbox, MessageTemplate
from crm_app.services.channel.media import account_for
from crm_app.services.core import jobs
from crm_app.services.core.actors import Actor, require_role

MAX_PAGES = 50


@dataclass(frozen=True)
class TemplateRow:
    id: int
    inbox_id: int
    name: str
    language: str
    category: str
    status: str
    body_text: str
    param_count: int


def _body_text(components: list[dict]) -> str:
    return next((str(c.get("text", "")) for c in components if str(c.get("type", "")).upper() == "BODY"), "")


def _row(t: MessageTemplate) -> TemplateRow:
    body = _body_text(t.components)
    return TemplateRow(t.id, t.inbox_id, t.name, t.language, t.category, t.status, body, body.count("{{"))


def sync_inbox_templates(inbox_id: int) -> int:
    """Fetch every page of the inbox's templates and mirror them. Returns how many exist now."""
    with session_scope() as session:
        inbox = session.get(Inbox, inbox_id)
        if inbox is None:
            return 0
        account, tenant_id = account_for(inbox), inbox.tenant_id
    fetched, after = [], None
    for _ in range(MAX_PAGES):
        page, after = meta_graph.list_templates(account, after=after)
        fetched.extend(page)
        if not after:
            break
    with session_scope() as session:
        _mirror(session, tenant_id, inbox_id, fetched)
    return len(fetched)


def _mirror(session: Session, tenant_id: int, inbox_id: int, fetched: list[dict]) -> None:
    existing = {(t.name, t.language): t for t in
                session.exec(select(MessageTemplate).where(MessageTemplate.inbox_id == inbox_id))}
    seen = set()
    for data in fetched:
        key = (str(data.get("name", "")), str(data.get("language", "")))
        seen.add(key)
        row = existing.get(key) or MessageTemplate(tenant_id=tenant_id, inbox_id=inbox_id, name=key[0],
                                                   language=key[1], wa_template_id="", category="", status="")
        row.wa_template_id = str(data.get("id", ""))
        row.category, row.status = str(data.get("category", "")), str(data.get("status", ""))
        row.components, row.synced_at = list(data.get("components") or []), utcnow()
        session.add(row)
    for key, row in existing.items():
        if key not in seen:  # deleted on Meta's side
            session.delete(row)


def enqueue_all_syncs() -> int:
    """Queue one sync per active inbox (the periodic job)."""
    with session_scope() as session:
        ids = session.exec(select(Inbox.id).where(Inbox.is_active)).all()
    for inbox_id in ids:
        jobs.enqueue("sync_templates", inbox_id)
    return len(ids)


def list_templates(session: Session, *, actor: Actor, inbox_id: int | None = None,
                   approved_only: bool = True) -> list[TemplateRow]:
    """The actor's tenant's templates, approved ones by default."""
    require_role(actor, "admin", "supervisor", "attendant")
    query = select(MessageTemplate).where(MessageTemplate.tenant_id == actor.tenant_id)
    if inbox_id is not None:
        query = query.where(MessageTemplate.inbox_id == inbox_id)
    if approved_only:
        query = query.where(MessageTemplate.status == "APPROVED")
    return [_row(t) for t in session.exec(query.order_by(MessageTemplate.name))]
