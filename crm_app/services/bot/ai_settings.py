"""The tenant's AI settings (model, key, limits, budget) as the knowledge page edits them, and the demo's AI.

They are settings of the registry (`ai.*`, crm_app/services/settings): read with `settings.values`, saved with
`settings.update`, so every change lands in the settings history. The API key is a secret setting (encrypted at
rest, masked in the history); the page only learns whether one is set, and the audit trail only whether it was
kept, replaced or cleared.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_app.errors import ValidationError
from crm_app.services import settings
from crm_app.services.bot import ai, knowledge
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role

# The page's fields and the settings behind them.
FIELDS = {name: f"ai.{name}" for name in (
    "enabled", "base_url", "model", "timeout_seconds", "min_confidence", "input_cost_per_mtok",
    "output_cost_per_mtok", "monthly_budget_usd")}
API_KEY = "ai.api_key"
MAX_KEY_LENGTH = 500

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
    return _view(session, actor.tenant_id)


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
    """Save the AI settings through the settings registry (one history row per changed value).

    `api_key` None keeps the stored key; `clear_key` removes it. `actor` None is the system (the demo seed),
    which must name `tenant_id`. The key is a secret setting: encrypted at rest, never in the audit trail.
    """
    if actor is not None:
        require_role(actor, "admin")
        tenant_id = actor.tenant_id
    cleaned = _clean_settings(values)
    new_key = (api_key or "").strip()
    if len(new_key) > MAX_KEY_LENGTH:
        raise ValidationError(f"the API key has up to {MAX_KEY_LENGTH} characters", field="api_key")
    before = _view(session, tenant_id)
    changes = {FIELDS[name]: value for name, value in cleaned.items()}
    if clear_key:
        changes[API_KEY] = settings.INHERIT
    elif new_key:
        changes[API_KEY] = new_key
    try:
        settings.update(session, actor=actor, changes=changes, tenant_id=tenant_id)
    except ValidationError as exc:  # the registry's checks (the outbound-URL policy among them), in the page's names
        field = str(exc.params.get("field", ""))
        name = field.removeprefix("ai.")
        message = exc.params.get("errors", {}).get(field, exc.message)
        raise ValidationError(f"{name.replace('_', ' ')}: {message}", field=name) from None
    key_change = "cleared" if clear_key else ("replaced" if new_key else "kept")
    audit.record(session, actor=actor, tenant_id=tenant_id, action="ai_settings.update", target_type="ai_settings",
                 target_id=tenant_id, before={k: getattr(before, k) for k in cleaned} | {"key_set": before.key_set},
                 after=cleaned | {"key": key_change})
    return _view(session, tenant_id)


def seed_demo(session: Session, *, tenant_id: int, base_url: str, api_key: str) -> None:
    """The demo tenant's AI (on, pointing at the sandbox's fake OpenAI) and its hotel FAQ; idempotent.

    Settings an admin already saved are left alone.
    """
    if settings.source(session, FIELDS["enabled"], tenant_id=tenant_id) != "tenant":
        save_ai_settings(session, actor=None, tenant_id=tenant_id, api_key=api_key, enabled=True,
                         base_url=base_url, model="gpt-4o-mini", timeout_seconds=10, min_confidence=0.6,
                         input_cost_per_mtok=0.15, output_cost_per_mtok=0.60, monthly_budget_usd=5)
    for title, content, tags in DEMO_KNOWLEDGE:
        knowledge.ensure_entry(session, tenant_id=tenant_id, title=title, content=content, tags=tags)


def _view(session: Session, tenant_id: int) -> AiSettingsView:
    found = settings.values(session, [*FIELDS.values(), API_KEY], tenant_id=tenant_id)
    return AiSettingsView(found["ai.enabled"], found["ai.base_url"], found["ai.model"], bool(found[API_KEY]),
                          found["ai.timeout_seconds"], found["ai.min_confidence"], found["ai.input_cost_per_mtok"],
                          found["ai.output_cost_per_mtok"], found["ai.monthly_budget_usd"])


def _number(value: object, name: str, low: float, high: float) -> float:
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number", field=name) from None
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", field=name)
    return number


def _base_url(value: object) -> str:
    """The AI base URL's shape; the outbound-URL policy (our workers call it with the tenant's key) is the
    setting's own check (`ai.base_url` in the catalog), made once when `settings.update` validates it."""
    base_url = str(value or "").strip()
    if len(base_url) > 255:
        raise ValidationError("the base URL has up to 255 characters", field="base_url")
    if not base_url:
        raise ValidationError("base URL: the address is missing", field="base_url")
    return base_url


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
