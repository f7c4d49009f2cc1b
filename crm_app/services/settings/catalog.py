"""THE list of every setting (`SPECS`), grouped by category.

Ranges are the ones the code validated before the registry (security policy, AI settings); defaults of
install-wide options come from `crm_app.config`, so an environment variable still sets the default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from crm_app.config import get_settings
from crm_app.domain.proxies import parse_networks
from crm_app.services.settings.registry import SettingSpec, ValueProblem

RoleName = Literal["admin", "supervisor", "attendant"]


def _sorted_unique(roles: list[str]) -> list[str]:
    return sorted(set(roles))


def _outbound_url(url: str) -> str:
    from crm_app.integrations import outbound_urls

    try:
        return outbound_urls.check_url(url)
    except outbound_urls.UrlNotAllowed as exc:
        raise ValueError(str(exc)) from None


def _one_line(text: str) -> str:
    """Text that goes into a mail header or an SMTP command: no control characters (CR/LF would break it)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("line breaks and control characters are not allowed")
    return text


def _one_word(text: str) -> str:
    """A key that goes into an HTTP header: a space, tab or line break inside it is a mistyped key. A write-time
    check (`SettingSpec.check`), so a key stored before it is still read. The message never repeats the key."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueProblem("one_word", "no spaces or line breaks inside the key")
    return text


def _networks(text: str) -> str:
    parse_networks(text)  # raises ValueError naming the bad entry
    return text.strip()


def _origins(text: str) -> str:
    origins = [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
    for origin in origins:
        if not origin.startswith(("https://", "http://")) or "/" in origin.split("://", 1)[1]:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin}")
    return ",".join(origins)


def _cfg(name: str):
    """A default read from the process config when asked (tests and operators may change the environment)."""
    return lambda: getattr(get_settings(), name)


Text120 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]

SECURITY = (
    SettingSpec("security.require_2fa_roles", Annotated[list[RoleName], AfterValidator(_sorted_unique)], list,
                "security", "tenant"),
    SettingSpec("security.session_idle_minutes", Annotated[int, Field(ge=5, le=24 * 60)],
                _cfg("session_idle_minutes"), "security", "both"),
    SettingSpec("security.session_absolute_hours", Annotated[int, Field(ge=1, le=7 * 24)],
                _cfg("session_absolute_hours"), "security", "both"),
    SettingSpec("security.attendants_edit_any_contact", bool, False, "security", "tenant"),
    SettingSpec("security.api_rate_limit_per_minute", Annotated[int, Field(ge=1, le=100_000)],
                _cfg("api_rate_limit_per_minute"), "security", "global"),
)

CsatText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
CHANNEL = (
    SettingSpec("channel.keep_deleted_message_text", bool, True, "channel", "both"),
    # CSAT after a person closes a conversation (crm_app/services/channel/csat.py). Empty texts are the
    # catalogue's, in the survey's language.
    SettingSpec("csat.enabled", bool, False, "channel", "tenant"),
    SettingSpec("csat.min_gap_days", Annotated[int, Field(ge=0, le=365)], 7, "channel", "tenant"),
    SettingSpec("csat.comment_minutes", Annotated[int, Field(ge=0, le=24 * 60)], 10, "channel", "tenant"),
    SettingSpec("csat.language", Literal["pt-BR", "en"], "pt-BR", "channel", "tenant"),
    SettingSpec("csat.question", CsatText, "", "channel", "tenant"),
    SettingSpec("csat.comment_prompt", CsatText, "", "channel", "tenant"),
    SettingSpec("csat.thanks", CsatText, "", "channel", "tenant"),
)

AI = (
    SettingSpec("ai.enabled", bool, False, "ai", "tenant"),
    # The URL policy resolves the name: checked when written (`check`), never when read (a DNS hiccup at a
    # read would otherwise drop the tenant's URL and send its key to the default one). Every call is checked
    # again at its own connection by the AI client.
    SettingSpec("ai.base_url", Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)],
                "https://api.openai.com/v1", "ai", "tenant", check=_outbound_url),
    SettingSpec("ai.model", Text120, "gpt-4o-mini", "ai", "tenant"),
    SettingSpec("ai.api_key", Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)],
                None, "ai", "tenant", secret=True, check=_one_word),
    SettingSpec("ai.timeout_seconds", Annotated[float, Field(ge=1, le=120)], 15.0, "ai", "tenant"),
    SettingSpec("ai.min_confidence", Annotated[float, Field(ge=0, le=1)], 0.6, "ai", "tenant"),
    SettingSpec("ai.input_cost_per_mtok", Annotated[float, Field(ge=0, le=1000)], 0.15, "ai", "tenant"),
    SettingSpec("ai.output_cost_per_mtok", Annotated[float, Field(ge=0, le=1000)], 0.60, "ai", "tenant"),
    SettingSpec("ai.monthly_budget_usd", Annotated[float, Field(ge=0, le=1_000_000)], 0.0, "ai", "tenant"),
    SettingSpec("ai.system_prompt", Annotated[str, StringConstraints(max_length=4000)], "", "ai", "tenant"),
)

SYSTEM = (
    # A cap that protects the other tenants: an operator may give one tenant more, its admins may not.
    SettingSpec("system.bot_tenant_concurrency", Annotated[int, Field(ge=1, le=100)],
                _cfg("bot_tenant_concurrency"), "system", "both", tenant_roles=()),
    SettingSpec("system.allow_private_outbound_urls", bool, _cfg("effective_allow_private_outbound_urls"),
                "system", "global"),
    SettingSpec("system.sso_endpoint_origins", Annotated[str, StringConstraints(max_length=2000),
                                                         AfterValidator(_origins)],
                _cfg("sso_endpoint_origins"), "system", "global"),
    SettingSpec("system.trusted_proxies", Annotated[str, StringConstraints(max_length=2000),
                                                    AfterValidator(_networks)],
                _cfg("trusted_proxies"), "system", "global"),
)

def _host(text: str) -> str:
    if text and not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]", text):
        raise ValueError(f"not a host name or IP address: {text}")
    return text


def _email_or_blank(text: str) -> str:
    from crm_app.domain.text import is_email, normalize_email

    if text and not is_email(text):
        raise ValueError(f"not an e-mail address: {text}")
    return normalize_email(text) if text else ""


Line255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]

# The SMTP server mail is sent through: the platform's (global), which a tenant may replace with its own, on its
# own page only (the page logs in to the server before it saves).
MAIL_PAGE = "/settings/email"
NOTIFICATION = (
    SettingSpec("mail.smtp_host", Annotated[Line255, AfterValidator(_host)], "", "notification", "both",
                tenant_page=MAIL_PAGE),
    SettingSpec("mail.smtp_port", Annotated[int, Field(ge=1, le=65535)], 587, "notification", "both",
                tenant_page=MAIL_PAGE),
    SettingSpec("mail.smtp_security", Literal["starttls", "tls", "none"], "starttls", "notification", "both",
                tenant_page=MAIL_PAGE),
    SettingSpec("mail.smtp_username", Annotated[Line255, AfterValidator(_one_line)], "", "notification", "both",
                tenant_page=MAIL_PAGE),
    SettingSpec("mail.smtp_password", Annotated[str, StringConstraints(min_length=1, max_length=500)], None,
                "notification", "both", secret=True, tenant_page=MAIL_PAGE),
    SettingSpec("mail.from_address", Annotated[Line255, AfterValidator(_email_or_blank)], "", "notification",
                "both", tenant_page=MAIL_PAGE),
    SettingSpec("mail.from_name", Annotated[str, StringConstraints(strip_whitespace=True, max_length=120),
                                            AfterValidator(_one_line)], "",
                "notification", "both",
                tenant_page=MAIL_PAGE),
)

def _calendar_days(days: list[str]) -> list[str]:
    from crm_app.domain.calendar import parse_entry

    cleaned = []
    for entry in days:
        year, month, day, name = parse_entry(entry)  # raises ValueError naming the entry
        when = f"{year:04d}-{month:02d}-{day:02d}" if year else f"{month:02d}-{day:02d}"
        cleaned.append(f"{when} {name}".strip() if name != "municipal" else when)
    return sorted(set(cleaned))


# The business-day calendar (crm_app.domain.calendar): teams' hours, due dates and SLA read it.
CALENDAR = (
    SettingSpec("system.calendar_state", Literal["", "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA",
                                                 "MG", "MS", "MT", "PA", "PB", "PE", "PI", "PR", "RJ", "RN", "RO",
                                                 "RR", "RS", "SC", "SE", "SP", "TO"], "", "system", "tenant"),
    SettingSpec("system.calendar_optional_closed", bool, False, "system", "tenant"),
    SettingSpec("system.calendar_municipal_days",
                Annotated[list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                                                max_length=120)]],
                          Field(max_length=100), AfterValidator(_calendar_days)], list, "system", "tenant"),
)


OptOutWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
PRIVACY = (
    SettingSpec("privacy.opt_out_keywords", Annotated[list[OptOutWord], Field(min_length=1, max_length=30)],
                lambda: ["SAIR", "PARAR", "CANCELAR", "STOP", "BAJA"], "compliance", "tenant"),
    SettingSpec("privacy.opt_out_reply", Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                                          max_length=500)],
                "Pronto: você não receberá mais mensagens de marketing. / Listo: ya no recibirás mensajes de "
                "marketing.", "compliance", "tenant"),
    SettingSpec("privacy.request_due_days", Annotated[int, Field(ge=1, le=90)], 15, "compliance", "tenant"),
    SettingSpec("privacy.due_in_business_days", bool, False, "compliance", "tenant"),
    SettingSpec("privacy.email_audit_anchor", bool, False, "compliance", "tenant"),
    SettingSpec("privacy.policy_version", Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)],
                "v1", "compliance", "tenant"),
)


SPECS: tuple[SettingSpec, ...] = SYSTEM + CALENDAR + CHANNEL + NOTIFICATION + SECURITY + AI + PRIVACY


@dataclass(frozen=True)
class Rule:
    """A check across settings: `check` gets the effective values of `keys` after a change and returns
    (the key to blame, a message) when they do not fit together, else None."""

    keys: tuple[str, ...]
    check: Callable[[dict[str, Any]], tuple[str, str] | None]
    code: str  # the problem's type, for the pages' wording

def _idle_within_absolute(v: dict[str, Any]) -> tuple[str, str] | None:
    if v["security.session_idle_minutes"] > v["security.session_absolute_hours"] * 60:
        return "security.session_idle_minutes", "the idle timeout is longer than the maximum session length"
    return None


RULES: tuple[Rule, ...] = (
    Rule(("security.session_idle_minutes", "security.session_absolute_hours"), _idle_within_absolute,
         "idle_over_absolute"),
)

BY_KEY: dict[str, SettingSpec] = {spec.key: spec for spec in SPECS}
if len(BY_KEY) != len(SPECS):
    raise RuntimeError("two settings share a key")
