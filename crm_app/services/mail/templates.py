"""The e-mails' words and layout: each template renders a subject, a plain-text part and an HTML part.

Pure: no session, no clock. Words come from the catalogues (`crm_app/i18n/area_mail.py`) in the recipient's
language; every value a person typed (names, a tenant's name, a notification's title and body) is escaped in
the HTML part, and a link must be http(s).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from crm_app.errors import ValidationError
from crm_app.i18n import CATALOGUES, DEFAULT_LANGUAGE, translate

# template -> the parameters it needs (besides `tenant`, which every one gets)
TEMPLATES: dict[str, tuple[str, ...]] = {
    "invite": ("name", "inviter", "link"),
    "reset": ("name", "link"),
    "assigned": ("name", "contact", "link"),
    "notification": ("title", "body"),  # `link` optional
    "test": ("sender",),
}
ACCENT = "#0d7c72"


@dataclass(frozen=True)
class Rendered:
    """One e-mail, ready to send."""

    subject: str
    text: str
    html: str


def language_of(*candidates: str | None) -> str:
    """The first of `candidates` we have a catalogue for (the recipient's locale, then the tenant's)."""
    for locale in candidates:
        if locale in CATALOGUES:
            return locale
        if locale and locale.split("-")[0].lower() == "en":
            return "en"
    return DEFAULT_LANGUAGE


def _check(template: str, params: dict[str, Any]) -> None:
    if template not in TEMPLATES:
        raise ValidationError(f"unknown e-mail template {template!r}", field="template")
    missing = [p for p in TEMPLATES[template] if not str(params.get(p) or "").strip()]
    if missing:
        raise ValidationError(f"e-mail template {template!r} needs {', '.join(missing)}", field=missing[0])
    link = params.get("link")
    if link and not str(link).startswith(("https://", "http://")):
        raise ValidationError("an e-mail link must start with http:// or https://", field="link")


def _words(lang: str, template: str, params: dict[str, str]) -> dict[str, str]:
    def say(key: str) -> str:
        return translate(lang, key).format(**params)

    if template == "notification":  # the caller's own words
        title, body = params["title"], params["body"]
    else:
        title, body = say(f"mail.{template}.title"), say(f"mail.{template}.body")
    action = translate(lang, f"mail.{template}.action") if template != "test" else ""  # the test has no link
    extra = say("mail.assigned.optout") if template == "assigned" else say("mail.ignore")
    return {"subject": say(f"mail.{template}.subject"), "title": title, "body": body, "action": action,
            "extra": extra, "footer": say("mail.footer"), "fallback": translate(lang, "mail.link_fallback")}


def render(template: str, *, locale: str | None, params: dict[str, Any]) -> Rendered:
    """Render `template` in `locale` (falling back to pt-BR); ValidationError for missing or bad params."""
    _check(template, params)
    lang = language_of(locale)
    values = {k: " ".join(str(v).split()) if k != "body" else str(v).strip() for k, v in params.items()}
    values.setdefault("product", translate(lang, "app.name"))
    values.setdefault("tenant", values["product"])
    words = _words(lang, template, values)
    link = values.get("link") or ""
    subject = " ".join(words["subject"].split())[:250]
    return Rendered(subject=subject, text=_text(words, link), html=_html(words, link, values["product"], lang))


def _text(words: dict[str, str], link: str) -> str:
    lines = [words["title"], "", words["body"], ""]
    if link:
        lines += [f"{words['action']}: {link}", ""]
    lines += [words["extra"], "", "--", words["footer"]]
    return "\n".join(lines) + "\n"


def _html(words: dict[str, str], link: str, product: str, lang: str) -> str:
    e = html.escape
    body = "<br>".join(e(line) for line in words["body"].splitlines())
    button = ""
    if link:
        button = (f'<p style="margin:24px 0"><a href="{e(link, quote=True)}" style="background:{ACCENT};'
                  f'color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;display:inline-block;'
                  f'font-weight:600">{e(words["action"])}</a></p>'
                  f'<p style="color:#60646c;font-size:13px">{e(words["fallback"])}<br>'
                  f'<a href="{e(link, quote=True)}" style="color:{ACCENT};word-break:break-all">{e(link)}</a></p>')
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(words["subject"])}</title>'
        f'</head><body style="margin:0;padding:0;background:#f4f5f6;font-family:Helvetica,Arial,sans-serif;'
        f'color:#1c2024"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="background:#f4f5f6;padding:24px 0"><tr><td align="center">'
        f'<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="max-width:560px;'
        f'width:100%;background:#ffffff;border-radius:8px;border:1px solid #e0e1e6">'
        f'<tr><td style="padding:16px 24px;border-bottom:3px solid {ACCENT};font-weight:700;font-size:16px;'
        f'color:{ACCENT}">{e(product)}</td></tr>'
        f'<tr><td style="padding:24px"><h1 style="font-size:20px;margin:0 0 16px">{e(words["title"])}</h1>'
        f'<p style="font-size:15px;line-height:1.5;margin:0">{body}</p>{button}'
        f'<p style="color:#60646c;font-size:13px;margin:16px 0 0">{e(words["extra"])}</p></td></tr>'
        f'<tr><td style="padding:16px 24px;border-top:1px solid #e0e1e6;color:#80838d;font-size:12px">'
        f'{e(words["footer"])}</td></tr></table></td></tr></table></body></html>'
    )
