"""String catalogues, one per language. Components never inline user-facing text."""

from __future__ import annotations

from crm_app.i18n import (
    area_admin,
    area_ai,
    area_analytics,
    area_assignment,
    area_audit,
    area_bot,
    area_csat,
    area_editor,
    area_exports,
    area_mail,
    area_numbers,
    area_privacy,
    area_security,
    area_settings,
    area_sla,
    area_sla_inbox,
    area_sso,
    area_webhooks,
)
from crm_app.i18n.en import EN as _EN
from crm_app.i18n.pt_br import PT_BR as _PT_BR

# Each product area keeps its strings in its own module, so that areas built side by side do not collide.
_AREAS = (area_admin, area_ai, area_analytics, area_assignment, area_audit, area_bot, area_csat, area_editor,
          area_exports, area_mail, area_numbers, area_privacy, area_security, area_settings, area_sla,
          area_sla_inbox, area_sso, area_webhooks)
PT_BR: dict[str, str] = {**_PT_BR, **{k: v for area in _AREAS for k, v in area.PT_BR.items()}}
EN: dict[str, str] = {**_EN, **{k: v for area in _AREAS for k, v in area.EN.items()}}

DEFAULT_LANGUAGE = "pt-BR"
CATALOGUES: dict[str, dict[str, str]] = {"pt-BR": PT_BR, "en": EN}
LANGUAGES = tuple(CATALOGUES)


def catalogue(lang: str) -> dict[str, str]:
    """The catalogue for `lang`, falling back to pt-BR."""
    return CATALOGUES.get(lang, PT_BR)


def translate(lang: str, key: str) -> str:
    """One string; the key itself if it is missing everywhere."""
    return catalogue(lang).get(key) or PT_BR.get(key, key)
