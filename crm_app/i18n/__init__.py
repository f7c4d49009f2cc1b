"""String catalogues, one per language. Components never inline user-facing text."""

from __future__ import annotations

from crm_app.i18n.en import EN
from crm_app.i18n.pt_br import PT_BR

DEFAULT_LANGUAGE = "pt-BR"
CATALOGUES: dict[str, dict[str, str]] = {"pt-BR": PT_BR, "en": EN}
LANGUAGES = tuple(CATALOGUES)


def catalogue(lang: str) -> dict[str, str]:
    """The catalogue for `lang`, falling back to pt-BR."""
    return CATALOGUES.get(lang, PT_BR)


def translate(lang: str, key: str) -> str:
    """One string; the key itself if it is missing everywhere."""
    return catalogue(lang).get(key) or PT_BR.get(key, key)
