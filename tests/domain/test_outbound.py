import datetime as dt

import pytest

from crm_app.domain.outbound import (
    WINDOW,
    OutboundError,
    build_buttons,
    build_list,
    build_mark_read,
    build_media,
    build_reaction,
    build_template,
    build_text,
    is_window_open,
    window_remaining,
)

TO = "5511912345678"
WAMID = "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQUZCMTY0MDc2MUYwNzBDNTY5MAA="
ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def _code(call, *args, **kwargs) -> str:
    with pytest.raises(OutboundError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def _rows(count: int, prefix: str = "r") -> list[dict]:
    return [{"id": f"{prefix}{i}", "title": f"Row {i}"} for i in range(count)]


def _buttons(count: int) -> list[tuple[str, str]]:
    return [(f"b{i}", f"Button {i}") for i in range(count)]


def test_text_body():
    assert build_text(TO, "Olá!") == {**ENVELOPE, "type": "text", "text": {"body": "Olá!"}}


def test_text_with_preview_and_reply_context():
    body = build_text(TO, "Veja https://example.com", preview_url=True, reply_to=WAMID)
    assert body == {
        **ENVELOPE,
        "type": "text",
        "context": {"message_id": WAMID},
        "text": {"preview_url": True, "body": "Veja https://example.com"},
    }


def test_text_length_limit():
    assert build_text(TO, "a" * 4096)["text"]["body"] == "a" * 4096
    assert _code(build_text, TO, "a" * 4097) == "text_too_long"


@pytest.mark.parametrize("body", ["", "   \n"])
def test_text_refuses_empty_body(body):
    assert _code(build_text, TO, body) == "empty_text"


@pytest.mark.parametrize("raw", ["+55 11 91234-5678", "55-11-91234-5678", " 5511912345678 "])
def test_recipient_keeps_only_digits(raw):
    assert build_text(raw, "oi")["to"] == TO


@pytest.mark.parametrize("raw", ["12345678", "1" * 15])
def test_recipient_digit_count_at_the_limits(raw):
    assert build_text(raw, "oi")["to"] == raw


@pytest.mark.parametrize("raw", [
    "1234567", "1" * 16, "", "+", "55 (11) 91234-5678", "5511912345678a", "55+11912345678", "++5511912345678",
    "٥٥١١٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits are digits to Python, not to Meta
])
def test_recipient_refused(raw):
    assert _code(build_text, raw, "oi") == "invalid_recipient"


def test_reply_to_must_not_be_blank():
    assert _code(build_text, TO, "oi", reply_to=" ") == "invalid_message_id"


def test_image_by_id_with_caption():
    body = build_media(TO, "image", media_id="1479537139650973", caption="The best succulent ever?")
    assert body == {
        **ENVELOPE,
        "type": "image",
        "image": {"id": "1479537139650973", "caption": "The best succulent ever?"},
    }


def test_document_by_link_with_filename_and_reply():
    body = build_media(TO, "document", link="https://www.example.com/DOCUMENT.PDF", caption="CAPTION",
                       filename="FILENAME.PDF", reply_to=WAMID)
    assert body == {
        **ENVELOPE,
        "type": "document",
        "context": {"message_id": WAMID},
        "document": {"link": "https://www.example.com/DOCUMENT.PDF", "caption": "CAPTION", "filename": "FILENAME.PDF"},
    }


@pytest.mark.parametrize("kind", ["audio", "video", "sticker"])
def test_media_kinds_without_extras(kind):
    assert build_media(TO, kind, media_id="42") == {**ENVELOPE, "type": kind, kind: {"id": "42"}}


def test_blank_caption_is_left_out():
    assert build_media(TO, "audio", media_id="42", caption="") == {**ENVELOPE, "type": "audio", "audio": {"id": "42"}}


def test_caption_length_limit():
    assert build_media(TO, "video", media_id="42", caption="c" * 1024)["video"]["caption"] == "c" * 1024
    assert _code(build_media, TO, "video", media_id="42", caption="c" * 1025) == "caption_too_long"


@pytest.mark.parametrize("kwargs, code", [
    ({"kind": "gif", "media_id": "42"}, "invalid_media_kind"),
    ({"kind": "image"}, "missing_media"),
    ({"kind": "image", "media_id": " ", "link": ""}, "missing_media"),
    ({"kind": "image", "media_id": "42", "link": "https://example.com/a.jpg"}, "ambiguous_media"),
    ({"kind": "image", "link": "ftp://example.com/a.jpg"}, "invalid_media_link"),
    ({"kind": "image", "link": "example.com/a.jpg"}, "invalid_media_link"),
    ({"kind": "audio", "media_id": "42", "caption": "hi"}, "caption_not_allowed"),
    ({"kind": "sticker", "media_id": "42", "caption": "hi"}, "caption_not_allowed"),
    ({"kind": "image", "media_id": "42", "filename": "a.jpg"}, "filename_not_allowed"),
])
def test_media_refused(kwargs, code):
    kind = kwargs.pop("kind")
    assert _code(build_media, TO, kind, **kwargs) == code


def test_template_without_params_has_no_components():
    body = build_template(TO, "hello_world", "en_US")
    assert body == {**ENVELOPE, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    assert build_template(TO, "hello_world", "en_US", body_params=[], header_params={}) == body


def test_template_positional_params():
    body = build_template(TO, "order_update", "pt_BR", header_params=["Pedido 12"], body_params=["Ana", "12"],
                          button_params=[("quick_reply", 0, "STOP"), ("url", 1, "track/12")], reply_to=WAMID)
    assert body == {
        **ENVELOPE,
        "type": "template",
        "context": {"message_id": WAMID},
        "template": {
            "name": "order_update",
            "language": {"code": "pt_BR"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "Pedido 12"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "12"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "STOP"}]},
                {"type": "button", "sub_type": "url", "index": "1",
                 "parameters": [{"type": "text", "text": "track/12"}]},
            ],
        },
    }


def test_template_named_params():
    body = build_template(TO, "booking", "pt_BR", body_params={"day": "sábado", "name": "Ana"})
    assert body["template"]["components"] == [
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "day", "text": "sábado"},
            {"type": "text", "parameter_name": "name", "text": "Ana"},
        ]},
    ]


def test_template_name_limits():
    assert build_template(TO, "a" * 512, "pt_BR")["template"]["name"] == "a" * 512
    assert _code(build_template, TO, "a" * 513, "pt_BR") == "invalid_template_name"


@pytest.mark.parametrize("name", ["", "Hello", "hello world", "olá"])
def test_template_name_pattern(name):
    assert _code(build_template, TO, name, "pt_BR") == "invalid_template_name"


def test_template_language_required():
    assert _code(build_template, TO, "hello_world", " ") == "empty_template_language"


def test_template_param_spaces_limit():
    value = "a    b"  # four spaces in a row are still accepted
    assert build_template(TO, "t", "pt_BR", body_params=[value])["template"]["components"][0]["parameters"][0] == {
        "type": "text", "text": value}
    assert _code(build_template, TO, "t", "pt_BR", body_params=["a     b"]) == "invalid_template_param"


@pytest.mark.parametrize("kwargs, code", [
    ({"body_params": ["ok", ""]}, "empty_template_param"),
    ({"header_params": {"name": " "}}, "empty_template_param"),
    ({"body_params": {"": "Ana"}}, "empty_template_param_name"),
    ({"body_params": ["linha 1\nlinha 2"]}, "invalid_template_param"),
    ({"body_params": ["a\tb"]}, "invalid_template_param"),
    ({"button_params": [("copy_code", 0, "X")]}, "invalid_button_sub_type"),
    ({"button_params": [("quick_reply", -1, "X")]}, "invalid_button_index"),
    ({"button_params": [("quick_reply", 10, "X")]}, "invalid_button_index"),
    ({"button_params": [("quick_reply", True, "X")]}, "invalid_button_index"),
    ({"button_params": [("quick_reply", 0, "X"), ("url", 0, "y")]}, "duplicate_button_index"),
    ({"button_params": [("url", 0, "")]}, "empty_button_param"),
])
def test_template_refused(kwargs, code):
    assert _code(build_template, TO, "t", "pt_BR", **kwargs) == code


def test_template_button_index_at_the_limit():
    button = build_template(TO, "t", "pt_BR", button_params=[("quick_reply", 9, "X")])["template"]["components"][0]
    assert button["index"] == "9"


def test_reply_buttons():
    body = build_buttons(TO, "Hi Pablo!", [("change-button", "Change"), ("cancel-button", "Cancel")],
                         header="Workshop", footer="Lucky Shrub", reply_to=WAMID)
    assert body == {
        **ENVELOPE,
        "type": "interactive",
        "context": {"message_id": WAMID},
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Workshop"},
            "body": {"text": "Hi Pablo!"},
            "footer": {"text": "Lucky Shrub"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
            ]},
        },
    }


def test_buttons_without_header_or_footer():
    interactive = build_buttons(TO, "Hi", [("yes", "Sim")], header="", footer=None)["interactive"]
    assert interactive == {"type": "button", "body": {"text": "Hi"},
                           "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Sim"}}]}}


def test_buttons_at_their_limits():
    buttons = [("i" * 256, "t" * 20), ("j", "u"), ("k", "v")]
    body = build_buttons(TO, "b" * 1024, buttons, header="h" * 60, footer="f" * 60)
    assert [b["reply"] for b in body["interactive"]["action"]["buttons"]] == [
        {"id": "i" * 256, "title": "t" * 20}, {"id": "j", "title": "u"}, {"id": "k", "title": "v"}]


@pytest.mark.parametrize("kwargs, code", [
    ({"buttons": []}, "no_buttons"),
    ({"buttons": _buttons(4)}, "too_many_buttons"),
    ({"buttons": [("i" * 257, "t")]}, "button_id_too_long"),
    ({"buttons": [("", "t")]}, "empty_button_id"),
    ({"buttons": [("i", "t" * 21)]}, "button_title_too_long"),
    ({"buttons": [("i", " ")]}, "empty_button_title"),
    ({"buttons": [("a", "Sim"), ("a", "Não")]}, "duplicate_button_id"),
    ({"buttons": [("a", "Sim"), ("b", "Sim")]}, "duplicate_button_title"),
    ({"body": "b" * 1025}, "body_too_long"),
    ({"body": ""}, "empty_body"),
    ({"header": "h" * 61}, "header_too_long"),
    ({"footer": "f" * 61}, "footer_too_long"),
])
def test_buttons_refused(kwargs, code):
    args = {"body": "Escolha", "buttons": _buttons(2)} | kwargs
    assert _code(build_buttons, TO, args.pop("body"), args.pop("buttons"), **args) == code


def test_list():
    sections = [
        {"title": "I want it ASAP!", "rows": [
            {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
            {"id": "priority_mail", "title": "Priority Mail", "description": ""},
        ]},
        {"title": "I can wait a bit", "rows": [{"id": "media_mail", "title": "Media Mail"}]},
    ]
    body = build_list(TO, "Which shipping option do you prefer?", "Shipping Options", sections,
                      header="Choose Shipping Option", footer="Lucky Shrub")
    assert body == {
        **ENVELOPE,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Choose Shipping Option"},
            "body": {"text": "Which shipping option do you prefer?"},
            "footer": {"text": "Lucky Shrub"},
            "action": {
                "button": "Shipping Options",
                "sections": [
                    {"title": "I want it ASAP!", "rows": [
                        {"id": "priority_express", "title": "Priority Mail Express",
                         "description": "Next Day to 2 Days"},
                        {"id": "priority_mail", "title": "Priority Mail"},
                    ]},
                    {"title": "I can wait a bit", "rows": [{"id": "media_mail", "title": "Media Mail"}]},
                ],
            },
        },
    }


def test_single_section_needs_no_title():
    action = build_list(TO, "Escolha", "Ver opções", [{"rows": _rows(1)}])["interactive"]["action"]
    assert action == {"button": "Ver opções", "sections": [{"rows": [{"id": "r0", "title": "Row 0"}]}]}


def test_list_at_its_limits():
    sections = [{"title": "s" * 24, "rows": [{"id": f"{i}" + "i" * 199, "title": "t" * 24, "description": "d" * 72}]}
                for i in range(10)]
    body = build_list(TO, "b" * 4096, "l" * 20, sections, header="h" * 60, footer="f" * 60)
    assert len(body["interactive"]["action"]["sections"]) == 10
    assert body["interactive"]["action"]["sections"][9]["rows"][0]["id"] == "9" + "i" * 199


@pytest.mark.parametrize("kwargs, code", [
    ({"sections": []}, "no_sections"),
    ({"sections": [{"title": f"S{i}", "rows": _rows(1, f"s{i}-")} for i in range(11)]}, "too_many_sections"),
    ({"sections": [{"title": "A", "rows": _rows(6, "a")}, {"title": "B", "rows": _rows(5, "b")}]}, "too_many_rows"),
    ({"sections": [{"title": "A", "rows": []}]}, "empty_section"),
    ({"sections": [{"title": "A"}]}, "empty_section"),
    ({"sections": [{"rows": _rows(1, "a")}, {"title": "B", "rows": _rows(1, "b")}]}, "section_title_required"),
    ({"sections": [{"title": "s" * 25, "rows": _rows(1)}]}, "section_title_too_long"),
    ({"sections": [{"title": "A", "rows": _rows(1)}, {"title": "B", "rows": _rows(1)}]}, "duplicate_row_id"),
    ({"sections": [{"rows": [{"id": "i" * 201, "title": "t"}]}]}, "row_id_too_long"),
    ({"sections": [{"rows": [{"title": "t"}]}]}, "empty_row_id"),
    ({"sections": [{"rows": [{"id": "i", "title": "t" * 25}]}]}, "row_title_too_long"),
    ({"sections": [{"rows": [{"id": "i", "title": ""}]}]}, "empty_row_title"),
    ({"sections": [{"rows": [{"id": "i", "title": "t", "description": "d" * 73}]}]}, "row_description_too_long"),
    ({"button_label": "l" * 21}, "list_button_too_long"),
    ({"button_label": ""}, "empty_list_button"),
    ({"body": "b" * 4097}, "body_too_long"),
    ({"body": " "}, "empty_body"),
    ({"header": "h" * 61}, "header_too_long"),
    ({"footer": "f" * 61}, "footer_too_long"),
])
def test_list_refused(kwargs, code):
    args = {"body": "Escolha", "button_label": "Opções", "sections": [{"rows": _rows(2)}]} | kwargs
    assert _code(build_list, TO, args.pop("body"), args.pop("button_label"), args.pop("sections"), **args) == code


def test_reaction():
    assert build_reaction("+55 11 91234-5678", WAMID, "\U0001F600") == {
        **ENVELOPE,
        "type": "reaction",
        "reaction": {"message_id": WAMID, "emoji": "😀"},
    }


def test_empty_emoji_removes_the_reaction():
    assert build_reaction(TO, WAMID, "")["reaction"] == {"message_id": WAMID, "emoji": ""}


def test_reaction_needs_a_message_id():
    assert _code(build_reaction, TO, "", "😀") == "invalid_message_id"


def test_mark_read():
    assert build_mark_read(WAMID) == {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID}


def test_mark_read_with_typing_indicator():
    assert build_mark_read(WAMID, typing=True) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": WAMID,
        "typing_indicator": {"type": "text"},
    }


def test_mark_read_needs_a_message_id():
    assert _code(build_mark_read, "") == "invalid_message_id"


def test_error_carries_code_and_message():
    with pytest.raises(ValueError) as caught:
        build_buttons(TO, "Escolha", _buttons(4))
    assert caught.value.code == "too_many_buttons"
    assert caught.value.message == str(caught.value) == "A message can have at most 3 buttons."


def test_window_is_24_hours():
    assert WINDOW == dt.timedelta(hours=24)


def test_window_open_at_23h59m():
    last = NOW - dt.timedelta(hours=23, minutes=59)
    assert is_window_open(last, NOW) is True
    assert window_remaining(last, NOW) == dt.timedelta(minutes=1)


def test_window_closed_at_exactly_24h():
    last = NOW - dt.timedelta(hours=24)
    assert is_window_open(last, NOW) is False
    assert window_remaining(last, NOW) == dt.timedelta(0)


def test_window_never_negative_after_it_closed():
    last = NOW - dt.timedelta(days=3)
    assert is_window_open(last, NOW) is False
    assert window_remaining(last, NOW) == dt.timedelta(0)


def test_window_closed_without_customer_message():
    assert is_window_open(None, NOW) is False
    assert window_remaining(None, NOW) == dt.timedelta(0)


def test_window_full_right_after_a_message_and_capped_under_clock_skew():
    assert window_remaining(NOW, NOW) == WINDOW
    assert window_remaining(NOW + dt.timedelta(minutes=5), NOW) == WINDOW
    assert is_window_open(NOW + dt.timedelta(minutes=5), NOW) is True


def test_the_composer_builds_reply_buttons_and_lists_that_meta_accepts():
    from crm_app.domain.outbound_content import build_body, interactive_content, interactive_problem

    assert interactive_problem("buttons", "Qual quarto?", ["Casal", "Solteiro"]) is None
    body = build_body(interactive_content("buttons", " Qual quarto? ", [" Casal", "Solteiro "]), "5511981234567")
    assert body["interactive"]["body"] == {"text": "Qual quarto?"}
    assert [b["reply"] for b in body["interactive"]["action"]["buttons"]] == [
        {"id": "opcao-1", "title": "Casal"}, {"id": "opcao-2", "title": "Solteiro"}]
    rows = [f"Opção {i}" for i in range(1, 11)]
    assert interactive_problem("list", "Escolha", rows, "Ver opções") is None
    listed = build_body(interactive_content("list", "Escolha", rows, "Ver opções"), "5511981234567")
    assert listed["interactive"]["action"]["button"] == "Ver opções"
    assert [r["title"] for r in listed["interactive"]["action"]["sections"][0]["rows"]] == rows


@pytest.mark.parametrize(("kind", "body", "options", "button", "problem"), [
    ("buttons", "", ["Sim"], "", "empty_body"),
    ("buttons", "x" * 1025, ["Sim"], "", "body_too_long"),
    ("buttons", "Ok?", [], "", "empty_option"),
    ("buttons", "Ok?", ["Sim", " "], "", "empty_option"),
    ("buttons", "Ok?", ["A", "B", "C", "D"], "", "too_many_buttons"),
    ("buttons", "Ok?", ["x" * 21], "", "option_too_long"),
    ("buttons", "Ok?", ["Sim", "sim"], "", "duplicate_option"),
    ("list", "Ok?", [str(i) for i in range(11)], "Ver", "too_many_rows"),
    ("list", "Ok?", ["x" * 25], "Ver", "option_too_long"),
    ("list", "Ok?", ["Um"], "", "empty_list_button"),
    ("list", "Ok?", ["Um"], "x" * 21, "list_button_too_long"),
    ("carousel", "Ok?", ["Um"], "", "unknown_kind"),
])
def test_the_composer_says_what_to_fix_before_queueing(kind, body, options, button, problem):
    from crm_app.domain.outbound_content import interactive_problem

    assert interactive_problem(kind, body, options, button) == problem
