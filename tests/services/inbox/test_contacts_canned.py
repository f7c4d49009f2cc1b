"""Contacts (panel, edits, search) and canned responses (CRUD by role, variables)."""

import pytest
from sqlmodel import select

from crm_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, Contact, Conversation
from crm_app.services import conversations, inbox
from crm_app.services.conversations import contacts
from crm_app.services.inbox import canned
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import (
    Listener,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
    quick_conversation,
)


@pytest.fixture
def tenant(db):
    tenant, box = fresh_tenant(db)
    return tenant, box


def test_contact_panel_shows_labels_and_past_conversations(db, tenant):
    admin = make_user(db, tenant[0].id, "admin")
    customer_writes(body="Primeira conversa")
    first = db.exec(select(Conversation)).one()
    conversations.add_label(db, actor=admin, conversation_id=first.id, name="VIP")
    inbox.close(db, actor=admin, conversation_id=first.id)
    db.commit()
    view = contacts.get_contact(db, actor=admin, contact_id=first.contact_id)
    assert (view.name, view.phone_e164, view.labels) == ("João Silva", "+5511981234567", ["VIP"])
    assert [(c["id"], c["status"], c["preview"]) for c in view.past_conversations] == [
        (first.id, "closed", "Primeira conversa")]
    assert view.past_conversations[0]["closed_at"] is not None


def test_update_contact_refreshes_search_text_and_audits(db, tenant):
    attendant = make_user(db, tenant[0].id, "attendant")
    customer_writes(body="Oi", name=None)
    contact = db.exec(select(Contact)).one()
    assert contact.search_text == "5511981234567" and contact.name is None
    listener = Listener(tenant[0].id)
    try:
        view = contacts.update_contact(db, actor=attendant, contact_id=contact.id, name="Conceição Araújo",
                                       email="Conceicao@Example.com", custom_attributes={"CPF": "123", "plano": "Ouro"})
        db.commit()
        assert [e["kind"] for e in listener.events()] == ["conversation.updated"]
    finally:
        listener.close()
    assert (view.email, view.custom_attributes) == ("conceicao@example.com", {"CPF": "123", "plano": "Ouro"})
    db.refresh(contact)
    assert contact.search_text == "conceicao araujo 5511981234567 conceicao@example.com"
    audit = db.exec(select(AuditLog).where(AuditLog.action == "contact.update")).one()
    assert audit.before["name"] is None and audit.after["name"] == "Conceição Araújo"
    rows, _ = contacts.list_contacts(db, actor=attendant, query="conceicao")
    assert [r["id"] for r in rows] == [contact.id]
    customer_writes(body="De novo", name="Outro Nome")  # a profile name never overwrites a typed one
    db.refresh(contact)
    assert contact.name == "Conceição Araújo"


def test_update_contact_validates(db, tenant):
    admin = make_user(db, tenant[0].id, "admin")
    customer_writes(body="Oi")
    contact_id = db.exec(select(Contact.id)).one()
    with pytest.raises(ValidationError):
        contacts.update_contact(db, actor=admin, contact_id=contact_id, email="not-an-email")
    with pytest.raises(ValidationError):
        contacts.update_contact(db, actor=admin, contact_id=contact_id, custom_attributes={"": "x"})
    stranger = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(NotFound):
        contacts.get_contact(db, actor=stranger, contact_id=contact_id)
    with pytest.raises(NotFound):
        contacts.update_contact(db, actor=stranger, contact_id=contact_id, name="x")


def test_list_contacts_pages_by_id_within_the_tenant(db, tenant):
    _, box = tenant
    admin = make_user(db, tenant[0].id, "admin")
    made = [quick_conversation(db, box.id, phone=f"+55217000000{i:02d}", name=f"Pessoa {i}").contact_id
            for i in range(7)]
    other = make_tenant(db)
    quick_conversation(db, make_inbox(db, other.id).id, phone="+5521700000099", name="Pessoa de fora")
    db.commit()
    seen, cursor = [], None
    while True:
        rows, cursor = contacts.list_contacts(db, actor=admin, query="pessoa", cursor=cursor, limit=3)
        seen += [r["id"] for r in rows]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)
    rows, _ = contacts.list_contacts(db, actor=admin, query="21 70000-0003")
    assert [r["name"] for r in rows] == ["Pessoa 3"]


def test_canned_crud_is_for_supervisors_and_admins(db, tenant):
    tenant_id = tenant[0].id
    supervisor, attendant = make_user(db, tenant_id, "supervisor"), make_user(db, tenant_id, "attendant")
    row = canned.create_canned(db, actor=supervisor, short_code="/Boas-Vindas", content="Olá {{primeiro_nome}}!")
    db.commit()
    assert row.short_code == "boas-vindas"
    with pytest.raises(PermissionDenied):
        canned.create_canned(db, actor=attendant, short_code="x", content="y")
    with pytest.raises(PermissionDenied):
        canned.delete_canned(db, actor=attendant, canned_id=row.id)
    with pytest.raises(Conflict):
        canned.create_canned(db, actor=supervisor, short_code="boas-vindas", content="outra")
    with pytest.raises(ValidationError):
        canned.create_canned(db, actor=supervisor, short_code="com espaço", content="x")
    canned.create_canned(db, actor=supervisor, short_code="preco", content="A diária custa R$ 300,00")
    db.commit()
    assert [c.short_code for c in canned.list_canned(db, actor=attendant)] == ["boas-vindas", "preco"]
    assert [c.short_code for c in canned.list_canned(db, actor=attendant, query="/PRE")] == ["preco"]
    assert [c.short_code for c in canned.list_canned(db, actor=attendant, query="diaria")] == ["preco"]
    updated = canned.update_canned(db, actor=supervisor, canned_id=row.id, short_code="oi", content="Oi!")
    db.commit()
    assert (updated.short_code, updated.content) == ("oi", "Oi!") and updated.updated_at >= row.updated_at
    canned.delete_canned(db, actor=supervisor, canned_id=row.id)
    db.commit()
    assert [c.short_code for c in canned.list_canned(db, actor=attendant)] == ["preco"]
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_type == "canned_response")
                      .order_by(AuditLog.id)).all()
    assert actions == ["canned.create", "canned.create", "canned.update", "canned.delete"]
    stranger = make_user(db, make_tenant(db).id, "admin")
    assert canned.list_canned(db, actor=stranger) == []
    with pytest.raises(NotFound):
        canned.update_canned(db, actor=stranger, canned_id=updated.id, short_code="x", content="y")


def test_render_fills_known_variables_and_keeps_unknown_ones():
    text = canned.render("Olá {{nome}} ({{ primeiro_nome }}), fone {{telefone}}, {{email}}. "
                         "Sou {{atendente}}. {{pedido}}", contact_name="Maria das Dores",
                         contact_phone="+55 11 98123-4567", contact_email=None, attendant_name="Carlos")
    assert text == "Olá Maria das Dores (Maria), fone +55 11 98123-4567, . Sou Carlos. {{pedido}}"
    assert canned.render("{{primeiro_nome}}", contact_name=None, contact_phone=None, contact_email=None,
                         attendant_name=None) == ""
