"""Every action code the code base writes reads as a sentence in both languages."""

from __future__ import annotations

import datetime as dt

from crm_app.i18n import EN, PT_BR
from crm_app.services.audit.trail import TrailRow, sentence
from tests.support.audit_codes import scan

READS = {"conversation.view", "contact.view", "contact.search", "export.download"}


def _row(action: str, **kw) -> TrailRow:
    values = dict(id=1, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), actor_user_id=3, actor_name="Ana",
                  action=action, target_type="conversation", target_id="12", object_name="Maria Souza", ip=None,
                  sealed=True, erased=False)
    return TrailRow(**{**values, **kw})


def test_every_code_written_has_a_sentence_in_both_languages():
    codes, unreadable = scan()
    assert unreadable == [], "an audit call whose code the scan cannot read: teach tests/support/audit_codes.py"
    assert len(codes) > 60
    for catalogue, name in ((PT_BR, "pt-BR"), (EN, "en")):
        missing = sorted(c for c in codes | READS if f"audit.sentence.{c}" not in catalogue)
        assert missing == [], f"no {name} sentence for {missing}"


def test_the_scan_sees_a_new_code():
    codes, _ = scan()
    assert {"conversation.close", "team.rename", "auth.login_throttled", "user.deactivate",
            "conversation.label_add"} <= codes


def test_sentences_read_like_people_write():
    assert sentence("pt-BR", _row("conversation.close")) == "Ana encerrou a conversa com Maria Souza"
    assert sentence("en", _row("conversation.close")) == "Ana closed the conversation with Maria Souza"
    assert sentence("pt-BR", _row("conversation.close", actor_name="")) == \
        "O sistema encerrou a conversa com Maria Souza"
    erased = _row("conversation.view", object_name="", erased=True)
    assert sentence("pt-BR", erased) == "Ana abriu a conversa com um contato apagado"
    assert sentence("en", _row("brand.new_code", target_type="thing", object_name="")) == \
        "Ana did brand.new_code on #12"


def test_every_sentence_fills_with_actor_and_object_only():
    for catalogue in (PT_BR, EN):
        for key, text in catalogue.items():
            if key.startswith("audit.sentence."):
                text.format(actor="A", object="B", code="c")  # no other placeholder
