"""One module per page. Importing this package registers them all."""

from pages import analytics, compliance, denied, inbox, login, settings, settings_canned

__all__ = ["analytics", "compliance", "denied", "inbox", "login", "settings", "settings_canned"]
