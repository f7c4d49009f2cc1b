"""One module per page. Importing this package registers them all."""

from pages import (
    account,
    analytics,
    compliance,
    denied,
    inbox,
    invite,
    login,
    platform_settings,
    platform_tenants,
    settings,
    settings_audit,
    settings_bot,
    settings_canned,
    settings_general,
    settings_knowledge,
    settings_security,
    settings_sso,
    settings_teams,
    settings_users,
)

__all__ = ["account", "analytics", "compliance", "denied", "inbox", "login", "settings", "settings_canned",
           "settings_security", "invite", "platform_tenants", "settings_audit", "settings_users",
           "settings_knowledge", "settings_sso", "settings_teams", "settings_bot", "settings_general",
           "platform_settings"]
