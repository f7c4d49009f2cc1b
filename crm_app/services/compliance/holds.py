"""Legal holds: a contact whose data must be kept (a lawsuit, an inquiry). Erasure and retention skip it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.errors import Conflict, NotFound, ValidationError
from crm_app.models import Contact, LegalHold
from crm_app.services.compliance.consent import PRIVACY_ROLES
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role


@dataclass(frozen=True)
class HoldRow:
    """One hold in force, as the overview lists it."""

    id: int
    contact_id: int
    contact_name: str | None
    reason: str
    created_at: dt.datetime


def place_hold(session: Session, *, actor: Actor, contact_id: int, reason: str) -> HoldRow:
    """Put the contact under legal hold, with the reason everyone who tries to erase it will read."""
    require_role(actor, *PRIVACY_ROLES)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != actor.tenant_id:
        raise NotFound("contact not found")
    reason = reason.strip()
    if not reason:
        raise ValidationError("say why the data must be kept", field="reason")
    if session.exec(select(LegalHold.id).where(LegalHold.contact_id == contact_id,
                                               LegalHold.released_at.is_(None))).first():
        raise Conflict("contact is already under legal hold")
    hold = LegalHold(tenant_id=actor.tenant_id, contact_id=contact_id, reason=reason[:500],
                     created_by_id=actor.user_id)
    session.add(hold)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="privacy.hold.placed",
                 target_type="contact", target_id=contact_id)
    session.flush()
    return HoldRow(hold.id, contact_id, contact.name, hold.reason, hold.created_at)


def release_hold(session: Session, *, actor: Actor, hold_id: int) -> None:
    """End a hold; the contact may be erased again."""
    require_role(actor, *PRIVACY_ROLES)
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.tenant_id != actor.tenant_id or hold.released_at is not None:
        raise NotFound("legal hold not found")
    hold.released_at = utcnow()
    session.add(hold)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="privacy.hold.released",
                 target_type="contact", target_id=hold.contact_id)


def list_holds(session: Session, *, actor: Actor) -> list[HoldRow]:
    """The holds in force in the actor's tenant, newest first."""
    require_role(actor, *PRIVACY_ROLES)
    rows = session.exec(select(LegalHold, Contact.name).join(Contact, Contact.id == LegalHold.contact_id).where(
        LegalHold.tenant_id == actor.tenant_id, LegalHold.released_at.is_(None)).order_by(LegalHold.id.desc())).all()
    return [HoldRow(h.id, h.contact_id, name, h.reason, h.created_at) for h, name in rows]
