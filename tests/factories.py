"""Tiny factories: plain functions that commit what they make."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlmodel import Session

from crm_app.db import utcnow
from crm_app.models import User
from crm_app.services.access import tenants, users
from crm_app.services.access.sessions import actor_for
from crm_app.services.channel import numbers
from crm_app.services.core.actors import Actor

PASSWORD = "correct-horse-42"
BROWSER = "pre-login-cookie-of-the-test-browser-0001"  # login tickets are bound to a browser's pre-login cookie


def make_tenant(session: Session, slug: str | None = None):
    slug = slug or f"t-{uuid.uuid4().hex[:8]}"
    tenant, _ = tenants.ensure_tenant(session, name=f"Tenant {slug}", slug=slug)
    session.commit()
    return tenant


def make_user(session: Session, tenant_id: int, role: str = "admin", email: str | None = None) -> Actor:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    row, _ = users.ensure_user(session, actor=None, tenant_id=tenant_id, email=email, name=f"{role} user",
                               role=role, password=PASSWORD)
    session.commit()
    return actor_for(session.get(User, row.id))


def make_inbox(session: Session, tenant_id: int, **overrides):
    values = dict(name="Recepção", phone_number_id=str(10**14 + uuid.uuid4().int % 10**13),
                  waba_id="200000000000099", display_number="+55 11 4000-0099",
                  access_token="EAAG-plain-access-token", app_secret="plain-app-secret",
                  verify_token="plain-verify-token", graph_base_url="http://127.0.0.1:9/graph/v23.0")
    values.update(overrides)
    row, _ = numbers.ensure_inbox(session, actor=None, tenant_id=tenant_id, **values)
    session.commit()
    return row


def make_conversation(session: Session, inbox_id: int, wa_id: str = "5511981234567"):
    """A contact, its identity on the inbox and an open conversation, as inbound processing leaves them."""
    from crm_app.models import Contact, ContactInbox, Conversation, Inbox

    inbox = session.get(Inbox, inbox_id)
    contact = Contact(tenant_id=inbox.tenant_id, phone_e164=f"+{wa_id}", name="Cliente")
    session.add(contact)
    session.flush()
    link = ContactInbox(tenant_id=inbox.tenant_id, contact_id=contact.id, inbox_id=inbox.id, wa_id=wa_id)
    session.add(link)
    session.flush()
    conversation = Conversation(tenant_id=inbox.tenant_id, inbox_id=inbox.id, contact_id=contact.id,
                                contact_inbox_id=link.id)
    session.add(conversation)
    session.flush()
    return conversation


def today_start():
    """Two hours ago, or just after the tenant's local midnight when that was later ("today" must hold the seed;
    between 00:00 and 02:00 in São Paulo two hours ago is yesterday)."""
    now = utcnow()
    midnight = now.astimezone(ZoneInfo("America/Sao_Paulo")).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - dt.timedelta(hours=2), midnight.astimezone(dt.UTC) + dt.timedelta(minutes=1))
