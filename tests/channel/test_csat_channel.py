"""CSAT as `make run` shows it: the sandbox's customer writes, a person closes, the customer taps a row of the
list in the simulator and comments; every hop is real (the sandbox's signed webhooks to our API server, the
production workers, the fake Graph API that validates the list)."""

from __future__ import annotations

from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import Conversation, CsatSurvey
from crm_app.services import inbox, settings
from tests.channel.conftest import wait_for
from tests.factories import make_user

WA = "5511981234567"


def _sent(channel) -> list[dict]:
    return sorted((c for c in channel.sent(to=WA) if c["kind"] == "message"), key=lambda c: c["seq"])


def _survey() -> CsatSurvey | None:
    with session_scope() as s:
        return s.exec(select(CsatSurvey)).first()


def _conversation() -> Conversation | None:
    with session_scope() as s:
        return s.exec(select(Conversation)).first()


def test_a_customer_rates_and_comments_in_the_simulator_and_the_conversation_stays_closed(channel, db):
    attendant = make_user(db, channel.tenant_id, "attendant")
    settings.update(db, actor=None, tenant_id=channel.tenant_id, changes={"csat.enabled": True})
    db.commit()
    channel.customer_says("Quero reservar para sábado")
    cid = wait_for(_conversation).id
    with session_scope() as s:
        inbox.take_over(s, actor=attendant, conversation_id=cid)
    with session_scope() as s:
        inbox.close(s, actor=attendant, conversation_id=cid)
    listed = wait_for(lambda: [c for c in _sent(channel) if c["type"] == "interactive"])[0]
    assert listed["http_status"] == 200, listed["response"]
    row = listed["body"]["interactive"]["action"]["sections"][0]["rows"][4]
    tapped = channel.sandbox("POST", "/customer/messages", json={
        "from": WA, "type": "list_reply", "reply_to": listed["wamid"], "row_id": row["id"], "title": row["title"]})
    assert tapped.status_code == 200 and tapped.json()["webhook_status"] == 200, tapped.text
    assert wait_for(lambda: (_survey().rating == 5) and len(_sent(channel)) == 2)
    channel.customer_says("Recepção muito atenciosa")
    assert wait_for(lambda: _survey().comment == "Recepção muito atenciosa" and len(_sent(channel)) == 3)
    assert [c["http_status"] for c in _sent(channel)] == [200, 200, 200]
    assert _sent(channel)[-1]["body"]["text"]["body"] == "Obrigado pela sua avaliação!"
    conversation = _conversation()
    assert conversation.status == "closed" and conversation.assignee_id == attendant.user_id
