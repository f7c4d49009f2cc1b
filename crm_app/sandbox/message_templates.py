"""The WABA's message templates: a seeded pt_BR set for a hotel, parameter counting and rendering."""

from __future__ import annotations

import copy
import re
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
FOOTER = "Hotel Serra Azul · Campos do Jordão"

SEED: list[dict[str, Any]] = [
    {
        "name": "reserva_confirmada",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Reserva confirmada ✅"},
            {"type": "BODY",
             "text": "Olá, {{1}}! Sua reserva no Hotel Serra Azul está confirmada: check-in em {{2}} a partir das "
                     "14h e check-out em {{3}} até as 12h. Código da reserva: {{4}}.",
             "example": {"body_text": [["Maria", "12/07", "15/07", "SA-4821"]]}},
            {"type": "FOOTER", "text": FOOTER},
        ],
        "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "sub_category": "CUSTOM",
        "id": "1387372356726668",
    },
    {
        "name": "lembrete_checkin",
        "parameter_format": "NAMED",
        "components": [
            {"type": "BODY",
             "text": "Oi, {{nome}}! Falta pouco: seu check-in é amanhã, {{data_checkin}}. Se quiser, já pode nos "
                     "contar por aqui o horário previsto de chegada.",
             "example": {"body_text_named_params": [{"param_name": "nome", "example": "Maria"},
                                                    {"param_name": "data_checkin", "example": "12/07"}]}},
            {"type": "FOOTER", "text": FOOTER},
        ],
        "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "sub_category": "CUSTOM",
        "id": "1625063511800527",
    },
    {
        "name": "promocao_inverno",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Inverno na Serra ❄️"},
            {"type": "BODY",
             "text": "{{1}}, nosso pacote de inverno voltou: 3 noites com café colonial e fondue por {{2}}. "
                     "Vagas limitadas!",
             "example": {"body_text": [["Maria", "R$ 1.890"]]}},
            {"type": "FOOTER", "text": "Não quer mais ofertas? Toque em Parar promoções."},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Ver pacote", "url": "https://hotelserraazul.example/inverno"},
                {"type": "QUICK_REPLY", "text": "Parar promoções"},
            ]},
        ],
        "language": "pt_BR", "status": "APPROVED", "category": "MARKETING", "sub_category": "CUSTOM",
        "id": "1304694804498707",
    },
    {
        "name": "pesquisa_satisfacao",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": "Obrigado pela estadia, {{1}}! Como foi sua experiência no Hotel Serra Azul?",
             "example": {"body_text": [["Maria"]]}},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Excelente"},
                {"type": "QUICK_REPLY", "text": "Boa"},
                {"type": "QUICK_REPLY", "text": "Poderia melhorar"},
            ]},
        ],
        "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "sub_category": "CUSTOM",
        "id": "1137051647947973",
    },
    {
        "name": "upgrade_suite",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": "Que tal uma suíte com lareira por apenas {{1}} a mais por noite?",
             "example": {"body_text": [["R$ 150"]]}},
        ],
        "language": "pt_BR", "status": "PENDING", "category": "MARKETING", "sub_category": "CUSTOM",
        "id": "1166414785519855",
    },
]


def seed_templates() -> list[dict[str, Any]]:
    """A fresh copy of the seeded templates (the store mutates nothing, but callers may)."""
    return copy.deepcopy(SEED)


def find_template(templates: list[dict[str, Any]], name: str, language: str) -> dict[str, Any] | None:
    """The template with this name and language code, if any."""
    for template in templates:
        if template["name"] == name and template["language"] == language:
            return template
    return None


def placeholders(text: str) -> list[str]:
    """The distinct `{{x}}` names in `text`, in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def expected_params(template: dict[str, Any]) -> dict[str, list[str]]:
    """Placeholder names per parametrised component ("header", "body")."""
    expected: dict[str, list[str]] = {}
    for component in template["components"]:
        kind = component["type"].lower()
        if kind == "body" or (kind == "header" and component.get("format") == "TEXT"):
            expected[kind] = placeholders(component.get("text", ""))
    return expected


def given_params(components: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """The parameters sent per component type ("header", "body"); buttons are left out."""
    given: dict[str, list[dict[str, Any]]] = {}
    for component in components or []:
        if isinstance(component, dict) and component.get("type") in ("header", "body"):
            params = component.get("parameters")
            given.setdefault(component["type"], []).extend(
                p for p in (params if isinstance(params, list) else []) if isinstance(p, dict))
    return given


def parameter_text(parameter: dict[str, Any]) -> str:
    """What a parameter shows in the rendered message."""
    kind = parameter.get("type")
    if kind == "text":
        return str(parameter.get("text", ""))
    if kind in ("currency", "date_time"):
        value = parameter.get(kind)
        return str(value.get("fallback_value", "") if isinstance(value, dict) else "")
    return f"[{kind}]"


def _substitute(text: str, names: list[str], params: list[dict[str, Any]], named: bool) -> str:
    if named:
        values = {p.get("parameter_name"): parameter_text(p) for p in params}
    else:
        values = {name: parameter_text(p) for name, p in zip(names, params, strict=False)}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render(template: dict[str, Any], components: list[Any]) -> dict[str, Any]:
    """What the customer's phone shows: header, body and footer text, and quick-reply buttons."""
    given = given_params(components)
    named = template.get("parameter_format") == "NAMED"
    shown: dict[str, Any] = {"header": None, "text": "", "footer": None, "buttons": []}
    for component in template["components"]:
        kind = component["type"].lower()
        text = component.get("text", "")
        if kind in ("header", "body"):
            text = _substitute(text, placeholders(text), given.get(kind, []), named)
        if kind == "header" and component.get("format") == "TEXT":
            shown["header"] = text
        elif kind == "body":
            shown["text"] = text
        elif kind == "footer":
            shown["footer"] = text
        elif kind == "buttons":
            shown["buttons"] = _quick_replies(component["buttons"], components)
    return shown


def _quick_replies(buttons: list[dict[str, Any]], components: list[Any]) -> list[dict[str, Any]]:
    """Quick-reply buttons with the payload the sender attached (else the label, as Meta does)."""
    payloads = {}
    for component in components or []:
        if isinstance(component, dict) and component.get("type") == "button":
            params = component.get("parameters")
            first = params[0] if isinstance(params, list) and params else None
            payloads[str(component.get("index", ""))] = first.get("payload") if isinstance(first, dict) else None
    shown = []
    for index, button in enumerate(buttons):
        if button["type"] == "QUICK_REPLY":
            payload = payloads.get(str(index)) or button["text"]
            shown.append({"kind": "quick_reply", "id": payload, "title": button["text"]})
        elif button["type"] == "URL":
            shown.append({"kind": "url", "id": button.get("url", ""), "title": button["text"]})
    return shown
