"""Numbers the way each language reads them: pt-BR "1.234,5" and "12,5%", English "1,234.5" and "12.5%".

Pure: the analytics cards, tables and chart layouts call these with the tab's language.
"""

from __future__ import annotations

# (decimal mark, thousands separator) per language; plotly's layout `separators` takes the same two characters.
SEPARATORS = {"pt-BR": (",", "."), "en": (".", ",")}


def separators(lang: str) -> str:
    """Plotly's `separators` for `lang`: the decimal mark, then the thousands separator (pt-BR ",.")."""
    return "".join(SEPARATORS.get(lang, SEPARATORS["pt-BR"]))


def format_number(value: float, lang: str, digits: int = 0) -> str:
    """`value` with `digits` decimals and the language's marks: 1234.5 → "1.234,5" (pt-BR), "1,234.5" (en)."""
    decimal, thousands = SEPARATORS.get(lang, SEPARATORS["pt-BR"])
    text = f"{value:,.{digits}f}"  # Python's own: "," for thousands, "." for decimals
    return text.translate(str.maketrans({",": thousands, ".": decimal}))


def format_percent(share: float | None, lang: str, digits: int = 1) -> str:
    """A share (0–1) as a percentage: 0.125 → "12,5%" (pt-BR), "12.5%" (en); None → "—"."""
    return "—" if share is None else format_number(share * 100, lang, digits) + "%"


def format_change(change: float, lang: str, digits: int = 0, unit: str = "") -> str:
    """A signed change: +12% or −1,5 p.p.; the sign is always shown, zero as "+0"."""
    sign = "+" if change >= 0 else "−"
    return sign + format_number(abs(change), lang, digits) + unit
