"""The tenant's AI settings (model, key, limits, budget) as the knowledge page edits them, and the demo's AI.

The API key is encrypted at rest by its column type; the page only learns whether one is set, and the
audit trail only whether it was kept, replaced or cleared.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.errors import ValidationError
from crm_app.integrations import outbound_urls
from crm_app.models import AiSettings
from crm_app.services.bot import ai, knowledge
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role

DEMO_KNOWLEDGE = (
    ("Horário de check-in e check-out",
     "O check-in é a partir das 14h e o check-out até as 12h. Early check-in e late check-out dependem da "
     "disponibilidade e podem ter custo adicional: peça na recepção.", ["check-in", "check-out", "horário"]),
    ("Wi-Fi", "O Wi-Fi é gratuito em todo o hotel. Rede: HotelDemo-Hospedes, senha: praia2025.",
     ["internet", "wifi", "senha"]),
    ("Estacionamento",
     "Temos estacionamento coberto no próprio hotel, com manobrista, por R$ 45 a diária. Vagas sujeitas à "
     "disponibilidade; veículos grandes precisam de reserva antecipada.", ["garagem", "carro", "vaga"]),
    ("Formas de pagamento",
     "Aceitamos Pix, cartões de crédito (Visa, Mastercard, Elo e American Express, em até 3x sem juros) e "
     "débito. Não aceitamos cheque.", ["pagamento", "pix", "cartão", "parcelamento"]),
    ("Café da manhã", "O café da manhã está incluído na diária e é servido das 6h30 às 10h no restaurante do "
     "térreo.", ["café", "refeição"]),
    ("Animais de estimação", "Aceitamos pets de pequeno porte (até 10 kg), com taxa de R$ 60 por estadia. "
     "Avise na hora da reserva.", ["pet", "cachorro", "gato"]),
    ("Cancelamento", "Cancelamentos sem custo até 48 horas antes do check-in. Depois disso, cobramos a "
     "primeira diária.", ["cancelar", "reembolso"]),
)


@dataclass(frozen=True)
class AiSettingsView:
    """The settings as the page shows them: whether a key is set, never the key."""

    enabled: bool
    base_url: str
    model: str
    key_set: bool
    timeout_seconds: float
    min_confidence: float
    input_cost_per_mtok: float
    output_cost_per_mtok: float
    monthly_budget_usd: float


def get_ai_settings(session: Session, *, actor: Actor) -> AiSettingsView:
    """The tenant's AI settings (defaults when never saved); admins only."""
    require_role(actor, "admin")
    return _view(_settings_row(session, actor.tenant_id))


@dataclass(frozen=True)
class KnowledgeOverview:
    """The /settings/knowledge page: the AI settings, this month's usage and the entries."""

    settings: AiSettingsView
    usage: ai.UsageSummary
    entries: list[knowledge.KnowledgeRow]


def knowledge_overview(session: Session, *, actor: Actor, query: str | None = None) -> KnowledgeOverview:
    """The knowledge page's read model, from one snapshot; admins only.

    Args:
        session: The caller's session.
        actor: An admin; everything is of their tenant.
        query: Filters the entries (as `knowledge.list_entries` does); None for all.

    Returns:
        The settings (never the key), the month's usage and the matching entries.
    """
    return KnowledgeOverview(get_ai_settings(session, actor=actor), ai.month_usage(session, actor=actor),
                             knowledge.list_entries(session, actor=actor, query=query))


def save_ai_settings(session: Session, *, actor: Actor | None, tenant_id: int | None = None,
                     api_key: str | None = None, clear_key: bool = False, **values: object) -> AiSettingsView:
    """Save the AI settings. `api_key` None keeps the stored key; `clear_key` removes it.

    `actor` None is the system (the demo seed), which must name `tenant_id`. The key is encrypted at
    rest by its column type and never written to the audit trail.
    """
    if actor is not None:
        require_role(actor, "admin")
        tenant_id = actor.tenant_id
    cleaned = _clean_settings(values)
    row = _settings_row(session, tenant_id)
    before = {k: getattr(row, k) for k in cleaned} | {"key_set": bool(row.api_key)}
    for name, value in cleaned.items():
        setattr(row, name, value)
    if clear_key:
        row.api_key = None
    elif api_key is not None and api_key.strip():
        row.api_key = api_key.strip()
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    key_change = "cleared" if clear_key else ("replaced" if api_key and api_key.strip() else "kept")
    audit.record(session, actor=actor, tenant_id=tenant_id, action="ai_settings.update", target_type="ai_settings",
                 target_id=row.id, before=before, after=cleaned | {"key": key_change})
    return _view(row)


def seed_demo(session: Session, *, tenant_id: int, base_url: str, api_key: str) -> None:
    """The demo tenant's AI (on, pointing at the sandbox's fake OpenAI) and its hotel FAQ; idempotent.

    Settings an admin already saved are left alone.
    """
    if session.exec(select(AiSettings.id).where(AiSettings.tenant_id == tenant_id)).first() is None:
        save_ai_settings(session, actor=None, tenant_id=tenant_id, api_key=api_key, enabled=True,
                         base_url=base_url, model="gpt-4o-mini", timeout_seconds=10, min_confidence=0.6,
                         input_cost_per_mtok=0.15, output_cost_per_mtok=0.60, monthly_budget_usd=5)
    for title, content, tags in DEMO_KNOWLEDGE:
        knowledge.ensure_entry(session, tenant_id=tenant_id, title=title, content=content, tags=tags)


def _view(settings: AiSettings) -> AiSettingsView:
    return AiSettingsView(settings.enabled, settings.base_url, settings.model, bool(settings.api_key),
                          settings.timeout_seconds, settings.min_confidence, settings.input_cost_per_mtok,
                          settings.output_cost_per_mtok, settings.monthly_budget_usd)


def _settings_row(session: Session, tenant_id: int) -> AiSettings:
    row = session.exec(select(AiSettings).where(AiSettings.tenant_id == tenant_id)).first()
    return row or AiSettings(tenant_id=tenant_id)


def _number(value: object, name: str, low: float, high: float) -> float:
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number", field=name) from None
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", field=name)
    return number


def _base_url(value: object) -> str:
    """The AI base URL, once it passes the outbound-URL policy (our workers call it with the tenant's key)."""
    base_url = str(value or "").strip()
    if len(base_url) > 255:
        raise ValidationError("the base URL has up to 255 characters", field="base_url")
    try:
        return outbound_urls.check_url(base_url)
    except outbound_urls.UrlNotAllowed as exc:
        raise ValidationError(f"base URL: {exc}", field="base_url") from None


def _clean_settings(values: dict) -> dict:
    base_url = _base_url(values.get("base_url"))
    model = str(values.get("model") or "").strip()
    if not model or len(model) > 120:
        raise ValidationError("the model has 1 to 120 characters", field="model")
    return {"enabled": bool(values.get("enabled")), "base_url": base_url, "model": model,
            "timeout_seconds": _number(values.get("timeout_seconds"), "timeout_seconds", 1, 120),
            "min_confidence": _number(values.get("min_confidence"), "min_confidence", 0, 1),
            "input_cost_per_mtok": _number(values.get("input_cost_per_mtok"), "input_cost_per_mtok", 0, 1000),
            "output_cost_per_mtok": _number(values.get("output_cost_per_mtok"), "output_cost_per_mtok", 0, 1000),
            "monthly_budget_usd": _number(values.get("monthly_budget_usd"), "monthly_budget_usd", 0, 1_000_000)}
