"""The laptop's SQLite (`make run` with no DATABASE_URL): the bot's handoff, and the SLA clock it starts, work there
too. The assignment lock is PostgreSQL's advisory lock; SQLite has one writer at a time and takes none."""

from __future__ import annotations

import pytest
from alembic import command
from sqlmodel import Session, select

from crm_app.db import make_engine
from crm_app.migrations import alembic_config
from crm_app.models import Conversation, ConversationSla, SlaClock, SlaPolicy
from crm_app.services.routing import handoff
from tests.factories import make_conversation, make_inbox, make_tenant


@pytest.fixture
def laptop(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_a_handoff_on_sqlite_queues_the_conversation_and_keeps_its_sla_milestone(laptop):
    tenant = make_tenant(laptop)
    laptop.add(SlaPolicy(tenant_id=tenant.id, name="Padrão", is_default=True, first_response_minutes=15,
                         business_hours_only=False))
    inbox = make_inbox(laptop, tenant.id)
    conversation = make_conversation(laptop, inbox.id)
    laptop.commit()
    result = handoff.handoff(laptop, tenant_id=tenant.id, conversation_id=conversation.id, team_id=None,
                             reason="exit_keyword")
    laptop.commit()
    assert (result.assignee_id, result.queue_position) == (None, 1)  # nobody online: it waits, first in line
    row = laptop.get(Conversation, conversation.id)
    assert (row.bot_active, row.queued_at is not None) == (False, True)
    assert [kind for _, kind, _ in laptop.get(ConversationSla, conversation.id).events] == ["handoff"]
    assert laptop.exec(select(SlaClock)).all() == []  # the job evaluates it (on PostgreSQL in the other tests)
