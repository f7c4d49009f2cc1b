"""Issue 15, point 4: media follows the conversation's access rule, and media URLs cannot be enumerated.

The attack: an attendant got 403 for another attendant's conversation but 200 and the bytes for its media at
`/api/media/{id}`, with sequential ids. Here a file is stored and sent through the real services, its URL taken
from what the inbox renders, and fetched over HTTP through the real app with each user's session cookie.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.errors import PermissionDenied
from crm_app.models import Conversation, Message, User
from crm_app.services.access import sessions
from crm_app.services.channel import media, outbound
from crm_app.services.inbox import listing, views
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import quick_conversation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"marker-of-the-file"


@pytest.fixture
def clinic(db):
    """A tenant with an admin, a supervisor and two attendants; a conversation of each attendant and an
    unassigned one, each with a stored image sent by someone who may write there."""
    tenant = make_tenant(db)
    people = {role: make_user(db, tenant.id, role=role) for role in ("admin", "supervisor")}
    people["ana"], people["bia"] = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    inbox = make_inbox(db, tenant.id)
    now = dt.datetime.now(dt.UTC)
    owners = {"ana": people["ana"].user_id, "bia": people["bia"].user_id, "nobody": None}
    chats = {name: quick_conversation(db, inbox.id, phone=f"+5511990000{i:03d}", name=f"Cliente {name}",
                                      assignee_id=owner, last_customer_message_at=now)
             for i, (name, owner) in enumerate(owners.items())}
    db.commit()
    cookies = {who: sessions.open_session(db, user=db.get(User, actor.user_id), ip="127.0.0.1")
               for who, actor in people.items()}
    db.commit()
    urls = {}
    for name, chat in chats.items():
        sender = people[name] if name in people else people["admin"]
        content = media.store_outbound_file(actor=sender, kind="image", data=PNG, mime="image/png",
                                            filename="foto.png")
        outbound.send_message(db, actor=sender, conversation_id=chat.id, content=content)
        db.commit()
        rendered = views.list_messages(db, actor=people["admin"], conversation_id=chat.id)
        urls[name] = next(m.media_url for m in rendered if m.media_url)
    return people, chats, cookies, urls


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://127.0.0.1")


async def _get(client: httpx.AsyncClient, url: str, cookie: str | None) -> httpx.Response:
    client.cookies.clear()
    if cookie:
        client.cookies.set(sessions.COOKIE_NAME, cookie)
    return await client.get(url)


async def test_an_attendant_gets_no_media_of_another_attendants_conversation(db, clinic):
    people, chats, cookies, urls = clinic
    async with _client() as client:
        stolen = await _get(client, urls["ana"], cookies["bia"])
        assert stolen.status_code == 403, stolen.status_code
        assert b"marker-of-the-file" not in stolen.content
        own = await _get(client, urls["ana"], cookies["ana"])
        assert own.status_code == 200 and own.content == PNG
        assert own.headers["cache-control"] == "private, no-store"


async def test_media_answers_exactly_as_the_conversation_access_check(db, clinic):
    """Every user against every conversation's file: 200 where the conversation opens, refused where not."""
    people, chats, cookies, urls = clinic
    async with _client() as client:
        for who, actor in people.items():
            for name, chat in chats.items():
                try:
                    listing.get_conversation(db, actor=actor, conversation_id=chat.id)
                    expected = 200
                except PermissionDenied:
                    expected = 403
                db.rollback()
                response = await _get(client, urls[name], cookies[who])
                assert response.status_code == expected, (who, name, response.status_code)
                assert (b"marker-of-the-file" in response.content) == (expected == 200)


async def test_media_urls_are_random_tokens_and_sequential_ids_are_refused(db, clinic):
    people, chats, cookies, urls = clinic
    ids = db.exec(select(Message.id).where(Message.media_storage_key.is_not(None))).all()
    tokens = {url.rsplit("/", 1)[-1] for url in urls.values()}
    assert len(tokens) == 3 and all(len(t) >= 32 for t in tokens)
    assert not any(str(i) in tokens for i in ids)
    async with _client() as client:
        # The admin may open every conversation, yet walking the old sequential path yields nothing.
        for message_id in range(1, max(ids) + 5):
            response = await _get(client, f"/api/media/{message_id}", cookies["admin"])
            assert response.status_code == 404, (message_id, response.status_code)
            assert b"marker-of-the-file" not in response.content
        almost = next(iter(tokens))
        guessed = await _get(client, f"/api/media/{almost[:-1]}{'A' if almost[-1] != 'A' else 'B'}",
                             cookies["admin"])
        assert guessed.status_code == 404
        assert (await _get(client, urls["nobody"], None)).status_code == 401


async def test_another_tenant_cannot_use_a_leaked_media_url(db, clinic):
    people, chats, cookies, urls = clinic
    other = make_tenant(db)
    stranger = make_user(db, other.id, "admin")
    cookie = sessions.open_session(db, user=db.get(User, stranger.user_id), ip="127.0.0.1")
    db.commit()
    async with _client() as client:
        response = await _get(client, urls["nobody"], cookie)
    assert response.status_code == 404 and b"marker-of-the-file" not in response.content
    assert db.get(Conversation, chats["nobody"].id).tenant_id != other.id
