"""The e-mail templates: both languages, every template, user text escaped in the HTML part."""

import pytest

from crm_app.errors import ValidationError
from crm_app.services.mail import templates

EVIL = '<script>alert("x")</script> & Cia'
LINK = "https://crm.example/invite#tok-123"


@pytest.mark.parametrize(("locale", "words"), [("pt-BR", "Escolher minha senha"), ("en", "Choose my password")])
def test_the_invitation_in_both_languages_escapes_what_people_typed(locale, words):
    mail = templates.render("invite", locale=locale, params={"name": EVIL, "inviter": "Ana <b>", "tenant": EVIL,
                                                             "link": LINK})
    assert words in mail.html and words in mail.text
    assert "<script>" not in mail.html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cia" in mail.html
    assert "Ana &lt;b&gt;" in mail.html and "Ana <b>" not in mail.html
    assert EVIL in mail.text and LINK in mail.text  # the plain part is plain: nothing to escape
    assert f'href="{LINK}"' in mail.html
    assert "\n" not in mail.subject and "Ana <b>" in mail.subject


def test_every_template_renders_in_both_languages_and_the_languages_differ():
    params = {"name": "Bia", "inviter": "Ana", "link": LINK, "contact": "Maria", "title": "Alerta",
              "body": "Linha 1\nLinha <2>", "sender": "Ana"}
    for template in templates.TEMPLATES:
        pt = templates.render(template, locale="pt-BR", params=params)
        en = templates.render(template, locale="en", params=params)
        assert pt.subject and en.subject and pt.text != en.text, template
        assert '<html lang="pt-BR">' in pt.html and '<html lang="en">' in en.html
        assert "Atende CRM" in pt.html


def test_the_generic_notification_keeps_lines_and_escapes_them():
    mail = templates.render("notification", locale="pt-BR",
                            params={"title": "Fila <cheia>", "body": "Linha 1\nLinha <2>", "link": LINK})
    assert mail.subject == "Fila <cheia>"
    assert "Linha 1<br>Linha &lt;2&gt;" in mail.html and "Fila &lt;cheia&gt;" in mail.html
    assert "Linha 1\nLinha <2>" in mail.text
    without_link = templates.render("notification", locale="en", params={"title": "T", "body": "B"})
    assert "href" not in without_link.html


def test_language_falls_back_from_recipient_to_tenant_to_portuguese():
    assert templates.language_of("en-US", "pt-BR") == "en"
    assert templates.language_of(None, "en") == "en"
    assert templates.language_of("fr", None) == "pt-BR"


def test_bad_params_are_refused():
    with pytest.raises(ValidationError) as unknown:
        templates.render("nope", locale="en", params={})
    assert unknown.value.params["field"] == "template"
    with pytest.raises(ValidationError) as missing:
        templates.render("invite", locale="en", params={"name": "A", "inviter": "B"})
    assert missing.value.params["field"] == "link"
    with pytest.raises(ValidationError):
        templates.render("reset", locale="en", params={"name": "A", "link": "javascript:alert(1)"})
