"""The one question everything that sends asks: may this contact receive messages for this purpose?

It lives in `core` so that every context that sends (the channel's outbound path, campaigns, the bot) may ask
it without importing upward; the consent ledger itself (recording, listing, opt-outs) is
`crm_app.services.compliance.consent`, which re-exports these.
"""

from __future__ import annotations

from sqlmodel import Session, select

from crm_app.domain import consent as rules
from crm_app.models import ConsentEvent, Contact


def state(session: Session, contact_id: int) -> dict[str, bool | None]:
    """Per purpose, the latest answer of the contact (None: never asked)."""
    rows = session.exec(select(ConsentEvent.purpose, ConsentEvent.granted, ConsentEvent.created_at)
                        .where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)).all()
    return rules.current_state(rules.ConsentFact(p, g, at) for p, g, at in rows)


def may_send(session: Session, contact: Contact | int, purpose: str = "marketing") -> bool:
    """Whether `contact` may receive messages for `purpose`: only after a grant that was not withdrawn.

    `atendimento` (answering the customer who wrote) rests on the contract, not on consent: it is allowed
    unless withdrawn. Marketing and surveys need an explicit grant.
    """
    contact_id = contact if isinstance(contact, int) else contact.id
    current = state(session, contact_id).get(purpose)
    return current is not False if purpose == "atendimento" else current is True
