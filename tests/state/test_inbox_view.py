"""The inbox's pure presentation helpers."""

import datetime as dt
from types import SimpleNamespace

from crm_app.state.inbox import view

NOW = dt.datetime(2025, 7, 10, 15, 0, tzinfo=dt.UTC)  # 12:00 in São Paulo
TZ = "America/Sao_Paulo"


def test_window_levels_follow_the_ui_rules():
    assert view.window_state(None, NOW) == ("closed", "")
    assert view.window_state(NOW - dt.timedelta(seconds=1), NOW) == ("closed", "")
    assert view.window_state(NOW + dt.timedelta(hours=3, minutes=12), NOW) == ("ok", "3h12")
    assert view.window_state(NOW + dt.timedelta(minutes=119), NOW) == ("warn", "1h59")
    assert view.window_state(NOW + dt.timedelta(minutes=25), NOW) == ("danger", "0h25")


def test_times_and_day_labels_are_local_and_translated():
    assert view.short_time(NOW, NOW, TZ, "pt-BR") == "12:00"
    assert view.short_time(NOW - dt.timedelta(days=1), NOW, TZ, "pt-BR") == "Ontem"
    assert view.short_time(NOW - dt.timedelta(days=1), NOW, TZ, "en") == "Yesterday"
    assert view.short_time(NOW - dt.timedelta(days=30), NOW, TZ, "pt-BR") == "10/06"
    assert view.day_label(NOW, NOW, TZ, "pt-BR") == "Hoje"
    assert view.day_label(NOW - dt.timedelta(days=3), NOW, TZ, "pt-BR") == "07/07/2025"


def test_map_links_only_from_plain_coordinates():
    assert view.map_url({"latitude": -23.55, "longitude": -46.63}).startswith("https://www.openstreetmap.org/?mlat=-23.55")
    assert view.map_url({"latitude": "javascript:alert(1)", "longitude": 1}) == ""
    assert view.map_url({"latitude": 91, "longitude": 0}) == ""
    assert view.map_url({"latitude": float("nan"), "longitude": 0}) == ""
    assert view.map_url(None) == ""


def test_media_sources_are_only_our_own_route():
    assert view.media_url("/api/media/12") == "/api/media/12"
    assert view.media_url("javascript:alert(1)") == ""
    assert view.media_url("https://evil.example/x.png") == ""


def _message(**kw):
    base = dict(id=1, direction="inbound", sender_type="customer", sender_name="Maria", kind="text", body="oi",
                media_url=None, media_mime=None, file_name=None, location=None, contacts=[], status="received",
                error_code=None, error_reason=None, reply_to=None, reactions=[], created_at=NOW, client_key=None,
                edited=False, earlier_texts=[], deleted=False)
    base.update(kw)
    return SimpleNamespace(**base)


def test_bubbles_sides_ticks_and_separators():
    items = [view.message_item(_message(id=1, created_at=NOW - dt.timedelta(days=1)), TZ, "pt-BR"),
             view.message_item(_message(id=2, direction="outbound", sender_type="attendant", status="read"), TZ,
                               "pt-BR"),
             view.message_item(_message(id=3, direction="outbound", sender_type="note", status="received"), TZ,
                               "pt-BR"),
             view.message_item(_message(id=4, sender_type="system", direction="outbound"), TZ, "pt-BR")]
    assert [i["side"] for i in items] == ["left", "right", "right", "center"]
    assert [i["tick"] for i in items] == ["", "read", "", ""]
    marked = view.with_separators(items, NOW, TZ, "pt-BR")
    assert [i["separator"] for i in marked] == ["Ontem", "Hoje", "", ""]


def test_pending_bubbles_stay_until_the_stored_message_arrives():
    pending = view.pending_item("olá", "key-1", False, "Ana", NOW, TZ)
    loaded = [view.message_item(_message(id=5), TZ, "pt-BR"), pending]
    newest = [view.message_item(_message(id=5), TZ, "pt-BR")]
    assert [m["id"] for m in view.merge_messages(loaded, newest)] == ["5", "pending-key-1"]
    stored = view.message_item(_message(id=6, direction="outbound", sender_type="attendant", status="queued",
                                        client_key="key-1"), TZ, "pt-BR")
    merged = view.merge_messages(loaded, newest + [stored])
    assert [m["id"] for m in merged] == ["5", "6"] and merged[-1]["tick"] == "pending"


def test_attributes_round_trip_and_template_params():
    assert view.parse_attributes("quarto: 12\n\nsem dois pontos\nvip : sim") == {"quarto": "12", "vip": "sim"}
    assert view.attributes_text({"quarto": "12"}) == "quarto: 12"
    assert view.template_params("Olá {{1}}, check-in {{2}} e {{1}}") == ["1", "2"]
    assert view.template_body_params(["1", "2"], ["Ana", "12/07"]) == ["Ana", "12/07"]
    assert view.template_body_params(["nome"], ["Ana"]) == {"nome": "Ana"}
    assert view.template_preview("Oi {{nome}}, {{x}}", ["nome", "x"], ["Ana", ""]) == "Oi Ana, {{x}}"


def test_edited_and_deleted_bubbles_carry_their_mark_and_the_hover_text():
    from crm_app.services.inbox.views import MessageView

    edited = view.message_item(_message(body="3 pizzas", edited=True, earlier_texts=["<b>2</b> pizzas", "1"]),
                               TZ, "pt-BR")
    assert (edited["body"], edited["edited"], edited["deleted"]) == ("3 pizzas", "1", "")
    assert edited["history"] == "Texto anterior:\n<b>2</b> pizzas\n1"  # plain text: the page never parses it
    deleted = MessageView(**{**vars(_message(kind="image", body="foto do RG", media_url="/api/media/tok",
                                             reply_to={"body": "x", "sender_type": "bot"})), "deleted": True})
    item = view.message_item(deleted, TZ, "en")
    assert (item["deleted"], item["body"], item["media_url"], item["reply_body"]) == ("1", "", "", "")
    assert item["history"] == "Deleted text, kept for audit:\nfoto do RG"
    blanked = view.message_item(MessageView(**{**vars(_message(body=None)), "deleted": True}), TZ, "pt-BR")
    assert (blanked["deleted"], blanked["history"]) == ("1", "")
    assert set(view.pending_item("oi", "k", False, "Ana", NOW, TZ)) == set(edited)


def test_the_sla_chip_is_first_drawn_with_its_words_colour_and_local_deadline():
    start = NOW - dt.timedelta(minutes=100)
    assert view.sla_chip(None, None, NOW, TZ, "pt-BR")["sla_level"] == ""
    chip = view.sla_chip(NOW + dt.timedelta(hours=2, minutes=5), start, NOW, TZ, "pt-BR")
    assert (chip["sla_level"], chip["sla_text"], chip["sla_title"]) == ("ok", "2 h 5 min", "Prazo do SLA: 14:05")
    assert chip["sla_due"] == str(int((NOW + dt.timedelta(hours=2, minutes=5)).timestamp() * 1000))
    assert chip["sla_start"] == str(int(start.timestamp() * 1000))
    assert view.sla_chip(NOW + dt.timedelta(minutes=12), start, NOW, TZ, "pt-BR")["sla_level"] == "risk"
    late = view.sla_chip(NOW - dt.timedelta(minutes=3), start, NOW, TZ, "pt-BR")
    assert (late["sla_level"], late["sla_text"], late["sla_overdue"]) == ("late", "estourado há 3 min",
                                                                          "estourado há {x}")
    assert late["sla_title"] == "Prazo do SLA estourado: era 11:57"
    tomorrow = view.sla_chip(NOW + dt.timedelta(days=1), start, NOW, TZ, "en")
    assert (tomorrow["sla_text"], tomorrow["sla_title"]) == ("1 d", "SLA deadline: 11/07 12:00")
    assert [view.priority_name(n) for n in (0, 3, 4, None, 9)] == ["none", "high", "urgent", "none", "none"]
