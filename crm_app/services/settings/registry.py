"""What a setting is: its key, type, default, category, scope, secrecy and who may change it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

CATEGORIES = ("system", "channel", "notification", "backup", "compliance", "security", "ai")
SCOPES = ("global", "tenant", "both")


@dataclass(frozen=True)
class SettingSpec:
    """One setting of the registry.

    Attributes:
        key: Dotted, category first, e.g. "security.session_idle_minutes".
        type: Anything `pydantic.TypeAdapter` accepts (int, bool, list[str], Literal[...], Annotated[...]).
        default: The value when neither the tenant nor the install set one; a zero-arg callable is called at
            each read (e.g. to read process config).
        category: One of CATEGORIES.
        scope: "global" (install only), "tenant" (tenants only) or "both" (a global value tenants override).
        secret: Stored encrypted, never sent to a browser or the API, masked in the history.
        tenant_roles: Tenant roles that may change the tenant's value; global values are for platform
            operators only. Labels are the i18n keys "setting.<key>" and "setting.<key>.help".
        check: Run on a value being written, after its type (never on a stored value being read): for checks
            that may fail for reasons outside the value, such as a DNS lookup. Returns the value to store;
            raises ValueError with the message.
        tenant_page: The page through which alone a tenant sets this value, because that page checks more than
            the value's type (the SMTP values: a login to the server). Elsewhere (the general page, the API,
            rollback, templates) a tenant may only drop its value, never set one.
    """

    key: str
    type: Any
    default: Any
    category: str
    scope: str
    secret: bool = False
    tenant_roles: tuple[str, ...] = ("admin",)
    tenant_page: str | None = None
    check: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.key}: unknown category {self.category!r}")
        if self.scope not in SCOPES:
            raise ValueError(f"{self.key}: unknown scope {self.scope!r}")
        if "." not in self.key:
            raise ValueError(f"{self.key}: keys are dotted, e.g. security.session_idle_minutes")

    @property
    def adapter(self) -> TypeAdapter:
        """The pydantic adapter that validates and dumps this setting's values."""
        adapter = self.__dict__.get("_adapter")
        if adapter is None:
            adapter = TypeAdapter(self.type)
            object.__setattr__(self, "_adapter", adapter)  # a cache, not state: the spec stays frozen
        return adapter

    @property
    def label_key(self) -> str:
        return f"setting.{self.key}"

    @property
    def help_key(self) -> str:
        return f"setting.{self.key}.help"

    def default_value(self) -> Any:
        """The default, calling it when it is a callable."""
        return self.default() if callable(self.default) else self.default

    def allows_tenant(self) -> bool:
        return self.scope in ("tenant", "both")

    def allows_global(self) -> bool:
        return self.scope in ("global", "both")


class ValueProblem(ValueError):
    """A `check`'s refusal of a kind the pages word ("settings_general.problem.<kind>"); the message stays the
    English text the API answers."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Inherit:
    """The value that removes a setting at a scope, so that it inherits again."""

    _instance: _Inherit | None = None

    def __new__(cls) -> _Inherit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INHERIT"

    def __bool__(self) -> bool:
        return False


INHERIT = _Inherit()
