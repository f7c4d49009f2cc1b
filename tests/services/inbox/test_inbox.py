"""The inbox reads: tabs per role, tenant isolation, search, keyset pagination, detail and message views."""

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import Contact, Conversation, Message
from crm_app.services.conversations import access, labels
from crm_app.services.inbox import listing
from crm_app.services.inbox import views as inbox_views
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import (
    add_text,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
    quick_conversation,
)

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def world(db):
    """One tenant with an admin, a supervisor, two attendants and one conversation per tab."""
    tenant, box = fresh_tenant(db, webhook_inbox=False)
    admin, supervisor = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "supervisor")
    ana, bia = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    rows = {
        "ana_open": quick_conversation(db, box.id, phone="+5511900000001", name="Ana Cliente",
                                       assignee_id=ana.user_id, last_message_at=NOW - dt.timedelta(minutes=1)),
        "bia_open": quick_conversation(db, box.id, phone="+5511900000002", name="Bia Cliente",
                                       assignee_id=bia.user_id, last_message_at=NOW - dt.timedelta(minutes=2)),
        "unassigned": quick_conversation(db, box.id, phone="+5511900000003", name="Sem Dono",
                                         last_message_at=NOW - dt.timedelta(minutes=3)),
        "bot": quick_conversation(db, box.id, phone="+5511900000004", name="Robô", bot_active=True,
                                  last_message_at=NOW - dt.timedelta(minutes=4)),
        "ana_closed": quick_conversation(db, box.id, phone="+5511900000005", name="Fechada Ana", status="closed",
                                         assignee_id=ana.user_id, last_message_at=NOW - dt.timedelta(minutes=5)),
        "bia_closed": quick_conversation(db, box.id, phone="+5511900000006", name="Fechada Bia", status="closed",
                                         assignee_id=bia.user_id, last_message_at=NOW - dt.timedelta(minutes=6)),
    }
    db.commit()
    return {"tenant": tenant, "inbox": box, "admin": admin, "supervisor": supervisor, "ana": ana, "bia": bia,
            "rows": {k: v.id for k, v in rows.items()}}


def ids(page) -> list[int]:
    return [r.id for r in page.rows]


def test_each_tab_for_an_attendant(db, world):
    r, ana = world["rows"], world["ana"]
    assert ids(listing.list_conversations(db, actor=ana, tab="mine")) == [r["ana_open"]]
    assert ids(listing.list_conversations(db, actor=ana, tab="unassigned")) == [r["unassigned"]]
    assert ids(listing.list_conversations(db, actor=ana, tab="bot")) == [r["bot"]]
    assert ids(listing.list_conversations(db, actor=ana, tab="closed")) == [r["ana_closed"]]
    with pytest.raises(PermissionDenied):
        listing.list_conversations(db, actor=ana, tab="all")
    with pytest.raises(ValidationError):
        listing.list_conversations(db, actor=ana, tab="everything")


def test_supervisors_and_admins_see_all_and_every_closed_one(db, world):
    r = world["rows"]
    for actor in (world["supervisor"], world["admin"]):
        every = listing.list_conversations(db, actor=actor, tab="all")
        assert ids(every) == [r["ana_open"], r["bia_open"], r["unassigned"], r["bot"]] and every.total == 4
        assert ids(listing.list_conversations(db, actor=actor, tab="closed")) == [r["ana_closed"], r["bia_closed"]]
        assert ids(listing.list_conversations(db, actor=actor, tab="mine")) == []


def test_tab_counts_follow_the_role(db, world):
    assert listing.tab_counts(db, actor=world["ana"]) == {"mine": 1, "unassigned": 1, "bot": 1, "closed": 1}
    assert listing.tab_counts(db, actor=world["supervisor"]) == {"mine": 0, "unassigned": 1, "bot": 1, "all": 4,
                                                                "closed": 2}


def test_rows_carry_names_labels_and_window(db, world):
    conversation = db.get(Conversation, world["rows"]["ana_open"])
    conversation.last_customer_message_at = NOW - dt.timedelta(hours=1)
    db.add(conversation)
    db.commit()
    labels.add_label(db, actor=world["ana"], conversation_id=conversation.id, name="VIP")
    labels.add_label(db, actor=world["ana"], conversation_id=conversation.id, name="Atrasado")
    db.commit()
    row = listing.list_conversations(db, actor=world["ana"], tab="mine").rows[0]
    assert (row.contact_name, row.contact_phone, row.assignee_name) == ("Ana Cliente", "+5511900000001",
                                                                        "attendant user")
    assert row.labels == ["Atrasado", "VIP"]
    assert row.window_expires_at == conversation.last_customer_message_at + dt.timedelta(hours=24)
    nameless = quick_conversation(db, world["inbox"].id, phone="+5511987654321", assignee_id=world["ana"].user_id)
    db.commit()
    assert listing.get_conversation(db, actor=world["ana"], conversation_id=nameless.id).row.contact_name == \
        "+55 11 98765-4321"


def test_another_tenant_is_not_found_and_another_attendant_is_forbidden(db, world):
    other_tenant = make_tenant(db)
    other_box = make_inbox(db, other_tenant.id)
    foreign = quick_conversation(db, other_box.id, phone="+5511911111111", name="Alheio")
    db.commit()
    stranger = make_user(db, other_tenant.id, "admin")
    assert world["rows"]["ana_open"] not in ids(listing.list_conversations(db, actor=stranger, tab="all"))
    for actor in (world["admin"], world["ana"]):
        with pytest.raises(NotFound):
            listing.get_conversation(db, actor=actor, conversation_id=foreign.id)
        with pytest.raises(NotFound):
            inbox_views.list_messages(db, actor=actor, conversation_id=foreign.id)
    with pytest.raises(PermissionDenied):
        listing.get_conversation(db, actor=world["ana"], conversation_id=world["rows"]["bia_open"])
    detail = listing.get_conversation(db, actor=world["supervisor"], conversation_id=world["rows"]["bia_open"])
    assert detail.row.id == world["rows"]["bia_open"]


def test_search_ignores_accents_and_case_on_name_phone_and_message_text(db, world):
    box, admin = world["inbox"], world["admin"]
    joao = quick_conversation(db, box.id, phone="+5521998877665", name="João Ávila", last_message_at=NOW)
    maria = quick_conversation(db, box.id, phone="+5531987654321", name="Maria", last_message_at=NOW)
    add_text(db, maria, "Quero a promoção de CORAÇÃO")
    db.commit()

    def found(query):
        return set(ids(listing.list_conversations(db, actor=admin, tab="all", query=query)))

    assert found("joao avila") == {joao.id}
    assert found("JOÃO") == {joao.id}
    assert found("(21) 99887-7665") == {joao.id}
    assert found("998877") == {joao.id}
    assert found("coracao") == {maria.id}
    assert found("promocao de cor") == {maria.id}
    assert found("100%") == set()  # LIKE wildcards are literal
    assert found("cliente") == {world["rows"]["ana_open"], world["rows"]["bia_open"]}


def test_search_does_not_leak_another_tenants_messages(db, world):
    other_tenant = make_tenant(db)
    foreign = quick_conversation(db, make_inbox(db, other_tenant.id).id, phone="+5511922222222", name="X")
    add_text(db, foreign, "segredo exclusivo")
    db.commit()
    assert listing.list_conversations(db, actor=world["admin"], tab="all", query="segredo").rows == []


def test_keyset_pages_have_no_duplicates_or_gaps(db, world):
    box, admin = world["inbox"], world["admin"]
    same_moment = NOW - dt.timedelta(hours=1)
    made = []
    for i in range(23):  # several rows share one timestamp: the id breaks the tie
        at = same_moment if i % 3 == 0 else NOW - dt.timedelta(hours=2, minutes=i)
        made.append(quick_conversation(db, box.id, phone=f"+55118{i:08d}", name=f"Pag {i}", last_message_at=at).id)
    db.commit()
    seen, cursor, pages = [], None, 0
    while True:
        page = listing.list_conversations(db, actor=admin, tab="all", query="pag", cursor=cursor, limit=5)
        assert (page.total == 23) if cursor is None else page.total is None
        seen += ids(page)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 5 and len(seen) == len(set(seen)) == 23 and set(seen) == set(made)
    expected = [c.id for c in sorted((db.get(Conversation, i) for i in made),
                                     key=lambda c: (c.last_message_at, c.id), reverse=True)]
    assert seen == expected
    with pytest.raises(ValidationError):
        listing.list_conversations(db, actor=admin, tab="all", cursor="not-a-cursor")


def test_window_sort_lists_open_windows_closing_soonest_first(db, world):
    box, admin = world["inbox"], world["admin"]
    hours = {"closing": 23, "fresh": 1, "middle": 12, "expired": 30}
    made = {k: quick_conversation(db, box.id, phone=f"+55119777000{i}", name=k, last_message_at=NOW,
                                  last_customer_message_at=NOW - dt.timedelta(hours=h)).id
            for i, (k, h) in enumerate(hours.items())}
    db.commit()
    first = listing.list_conversations(db, actor=admin, tab="all", sort="window", limit=2)
    second = listing.list_conversations(db, actor=admin, tab="all", sort="window", limit=2, cursor=first.next_cursor)
    assert ids(first) + ids(second) == [made["closing"], made["middle"], made["fresh"]]
    assert second.next_cursor is None


def test_filters_by_label_status_and_inbox(db, world):
    admin, r = world["admin"], world["rows"]
    labels.add_label(db, actor=admin, conversation_id=r["bia_open"], name="Financeiro")
    db.commit()
    label_id = labels.list_labels(db, actor=admin)[0]["id"]
    assert ids(listing.list_conversations(db, actor=admin, tab="all", label_id=label_id)) == [r["bia_open"]]
    assert ids(listing.list_conversations(db, actor=admin, tab="all", status="pending")) == []
    assert len(listing.list_conversations(db, actor=admin, tab="all", inbox_id=world["inbox"].id).rows) == 4
    assert listing.list_conversations(db, actor=admin, tab="all", inbox_id=world["inbox"].id + 999).rows == []


def test_detail_says_why_the_composer_is_locked(db, world):
    r, ana, supervisor = world["rows"], world["ana"], world["supervisor"]
    cases = {"ana_open": (True, None), "unassigned": (False, "inbox.blocked.unassigned"),
             "bot": (False, "inbox.blocked.bot"), "ana_closed": (False, "inbox.blocked.closed")}
    for key, (can_reply, reason) in cases.items():
        detail = listing.get_conversation(db, actor=ana, conversation_id=r[key])
        assert (detail.can_reply, detail.blocked_reason) == (can_reply, reason), key
    bot = listing.get_conversation(db, actor=supervisor, conversation_id=r["bot"])
    assert (bot.can_reply, bot.blocked_reason) == (False, "inbox.blocked.bot")  # take over first, staff too
    conversation = db.get(Conversation, r["bia_open"])
    assert not access.can_send(conversation, ana) and access.can_send(conversation, supervisor)


def test_messages_of_every_kind_render_with_reactions_replies_and_reasons(db):
    tenant, _ = fresh_tenant(db)
    customer_writes(body="Primeira")
    conversation = db.exec(select(Conversation)).one()
    first = db.exec(select(Message)).one()
    admin = make_user(db, tenant.id, "admin")
    en_admin = admin.__class__(**{**admin.__dict__, "locale": "en"})
    cases = {k: fixture_message(k) for k in ("image", "document", "chosen_location", "contacts", "voice", "referral",
                                              "forwarded")}
    for raw in cases.values():
        customer_writes(raw)
    customer_writes({"type": "reaction", "reaction": {"message_id": first.wa_message_id, "emoji": "👍"}})
    customer_writes({"type": "text", "text": {"body": "Respondendo"}, "context": {"id": first.wa_message_id}})
    failed = add_text(db, conversation, "Falhou", direction="outbound", sender_type="attendant", status="failed",
                      error_code=131047, sender_user_id=admin.user_id)
    db.commit()
    views = inbox_views.list_messages(db, actor=admin, conversation_id=conversation.id)
    by_kind = {v.kind: v for v in views}
    assert "reaction" not in by_kind and views[0].reactions == ["👍"] and views[0].sender_name == "João Silva"
    assert by_kind["document"].file_name == "filename.pdf" and by_kind["document"].body == "caption"
    assert by_kind["location"].location == {"latitude": 37.4611978, "longitude": -122.2164385,
                                            "name": "Facebook HQ", "address": "1 Hacker Way, Menlo Park, CA 94025"}
    assert by_kind["contacts"].contacts[0] == {"name": "Chandler Bing", "phones": ["+1 555-555-5555"]}
    assert by_kind["voice"].media_url is None and by_kind["voice"].media_mime.startswith("audio/ogg")
    reply = next(v for v in views if v.body == "Respondendo")
    assert reply.reply_to == {"id": first.id, "body": "Primeira", "sender_type": "customer", "kind": "text"}
    assert any(v.referral and v.referral["headline"] == "AD_TITLE" for v in views)
    assert any(v.forwarded for v in views) and not views[0].forwarded
    pt = next(v for v in views if v.id == failed.id)
    en = next(v for v in inbox_views.list_messages(db, actor=en_admin, conversation_id=conversation.id)
              if v.id == failed.id)
    assert "24 horas" in pt.error_reason and "24 hours" in en.error_reason and pt.sender_name == "admin user"
    older = inbox_views.list_messages(db, actor=admin, conversation_id=conversation.id, before_id=views[2].id, limit=10)
    assert [v.id for v in older] == [views[0].id, views[1].id]


def fixture_message(case: str) -> dict:
    from tests.support.whatsapp import fixture, messages_of

    raw = messages_of(fixture("message", case))[0]
    return {k: v for k, v in raw.items() if k not in ("from", "id", "timestamp")}


def test_an_unreaction_takes_the_emoji_back(db):
    tenant, _ = fresh_tenant(db)
    customer_writes(body="Oi")
    first = db.exec(select(Message)).one()
    for emoji in ("😮", "❤️", ""):
        customer_writes({"type": "reaction", "reaction": {"message_id": first.wa_message_id, "emoji": emoji}})
    admin = make_user(db, tenant.id, "admin")
    views = inbox_views.list_messages(db, actor=admin, conversation_id=first.conversation_id)
    assert [v.reactions for v in views] == [[]]
    customer_writes({"type": "reaction", "reaction": {"message_id": first.wa_message_id, "emoji": "❤️"}})
    assert inbox_views.list_messages(db, actor=admin, conversation_id=first.conversation_id)[0].reactions == ["❤️"]
    assert db.exec(select(Contact)).one().search_text == "joao silva 5511981234567"


def test_open_conversation_reads_the_detail_and_the_newest_messages_together(db, world):
    conversation = db.get(Conversation, world["rows"]["ana_open"])
    for n in range(3):
        add_text(db, conversation, f"msg {n}")
    db.commit()
    opened = inbox_views.open_conversation(db, actor=world["ana"], conversation_id=conversation.id, limit=2)
    assert opened.detail.row.id == conversation.id and opened.detail.can_reply
    assert [m.body for m in opened.messages] == ["msg 1", "msg 2"]
    stranger = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(NotFound):
        inbox_views.open_conversation(db, actor=stranger, conversation_id=conversation.id)
    with pytest.raises(PermissionDenied):
        inbox_views.open_conversation(db, actor=world["bia"], conversation_id=conversation.id)


def test_summary_holds_the_tab_counts_and_my_unread_total(db, world):
    db.get(Conversation, world["rows"]["ana_open"]).unread_count = 4
    db.commit()
    summary = listing.summarize(db, actor=world["ana"])
    assert summary.counts == listing.tab_counts(db, actor=world["ana"]) and "all" not in summary.counts
    assert summary.unread_total == 4
    assert listing.summarize(db, actor=world["bia"]).unread_total == 0


def test_find_conversation_row_stays_inside_the_tenant(db, world):
    conversation_id = world["rows"]["bot"]
    assert listing.find_conversation_row(db, conversation_id, tenant_id=world["tenant"].id).id == conversation_id
    assert listing.find_conversation_row(db, conversation_id, tenant_id=world["tenant"].id + 1) is None


def test_options_offer_staff_every_active_colleague_and_attendants_those_online(db, world):
    from crm_app.services.inbox import options
    from crm_app.services.routing import presence, teams

    admin, ana, bia = world["admin"], world["ana"], world["bia"]
    teams.create_team(db, actor=admin, name="Vendas")
    labels.add_label(db, actor=admin, conversation_id=world["rows"]["ana_open"], name="vip")
    db.commit()
    staff = options.list_options(db, actor=admin)
    assert {p.id for p in staff.people} == {world["supervisor"].user_id, ana.user_id, bia.user_id}
    assert [t.name for t in staff.teams] == ["Vendas"] and [i.id for i in staff.inboxes] == [world["inbox"].id]
    assert [(label.name, bool(label.color)) for label in staff.labels] == [("vip", True)]
    presence.heartbeat(world["tenant"].id, bia.user_id, "away")
    presence.heartbeat(world["tenant"].id, ana.user_id, "away")
    assert [p.id for p in options.list_options(db, actor=ana).people] == [bia.user_id]
