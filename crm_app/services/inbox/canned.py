"""Canned responses: texts attendants insert by typing /code, with a few contact variables."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain.inbox import render_variables
from crm_app.domain.search import fold
from crm_app.errors import Conflict, ValidationError
from crm_app.models import CannedResponse
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role

MAX_CONTENT = 4096
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CannedRow:
    id: int
    short_code: str
    content: str
    updated_at: dt.datetime


def _row(canned: CannedResponse) -> CannedRow:
    return CannedRow(canned.id, canned.short_code, canned.content, canned.updated_at)


def _clean(short_code: str, content: str) -> tuple[str, str]:
    code = (short_code or "").strip().lstrip("/").lower()
    if not _CODE.match(code):
        raise ValidationError("the shortcut has 1 to 40 letters, digits, - or _", field="short_code")
    text = (content or "").strip()
    if not text or len(text) > MAX_CONTENT:
        raise ValidationError(f"the text has 1 to {MAX_CONTENT} characters", field="content")
    return code, text


def _ensure_free(session: Session, tenant_id: int, code: str, except_id: int | None = None) -> None:
    query = select(CannedResponse.id).where(CannedResponse.tenant_id == tenant_id, CannedResponse.short_code == code)
    found = session.exec(query).first()
    if found is not None and found != except_id:
        raise Conflict("another canned response already uses this shortcut")


def list_canned(session: Session, *, actor: Actor, query: str | None = None) -> list[CannedRow]:
    """The tenant's canned responses by shortcut; `query` matches shortcut or text, accents and case aside."""
    require_role(actor, "admin", "supervisor", "attendant")
    rows = session.exec(select(CannedResponse).where(CannedResponse.tenant_id == actor.tenant_id)
                        .order_by(CannedResponse.short_code)).all()
    needle = fold((query or "").lstrip("/"))
    return [_row(c) for c in rows if not needle or needle in c.short_code or needle in fold(c.content)]


def create_canned(session: Session, *, actor: Actor, short_code: str, content: str) -> CannedRow:
    """Add a canned response; supervisors and admins only."""
    require_role(actor, "admin", "supervisor")
    code, text = _clean(short_code, content)
    _ensure_free(session, actor.tenant_id, code)
    canned = CannedResponse(tenant_id=actor.tenant_id, short_code=code, content=text,
                            created_by_user_id=actor.user_id)
    session.add(canned)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="canned.create",
                 target_type="canned_response", target_id=canned.id, after={"short_code": code})
    return _row(canned)


def update_canned(session: Session, *, actor: Actor, canned_id: int, short_code: str, content: str) -> CannedRow:
    """Change a canned response's shortcut and text; supervisors and admins only."""
    require_role(actor, "admin", "supervisor")
    canned = fetch_owned(session, CannedResponse, canned_id, actor=actor, what="canned response")
    code, text = _clean(short_code, content)
    _ensure_free(session, actor.tenant_id, code, except_id=canned.id)
    before = {"short_code": canned.short_code, "content": canned.content}
    canned.short_code, canned.content, canned.updated_at = code, text, utcnow()
    session.add(canned)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="canned.update",
                 target_type="canned_response", target_id=canned.id, before=before,
                 after={"short_code": code, "content": text})
    return _row(canned)


def delete_canned(session: Session, *, actor: Actor, canned_id: int) -> None:
    """Remove a canned response; supervisors and admins only."""
    require_role(actor, "admin", "supervisor")
    canned = fetch_owned(session, CannedResponse, canned_id, actor=actor, what="canned response")
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="canned.delete",
                 target_type="canned_response", target_id=canned.id,
                 before={"short_code": canned.short_code, "content": canned.content})
    session.delete(canned)


def render(content: str, *, contact_name: str | None, contact_phone: str | None, contact_email: str | None,
           attendant_name: str | None) -> str:
    """Fill {{nome}}, {{primeiro_nome}}, {{telefone}}, {{email}} and {{atendente}}; others stay as typed."""
    first = (contact_name or "").split()[0] if (contact_name or "").strip() else ""
    values = {"nome": contact_name, "primeiro_nome": first, "telefone": contact_phone, "email": contact_email,
              "atendente": attendant_name,
              # the same in English, for teams that write their shortcuts in English
              "name": contact_name, "first_name": first, "phone": contact_phone, "attendant": attendant_name}
    return render_variables(content, values)
