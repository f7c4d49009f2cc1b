"""Settings with a source and a history: the registry, tenant overrides, rollback.

`value(session, key, tenant_id=...)` is how code reads a setting: the tenant's value, else the install's global
value, else the default of its spec in `catalog.SPECS`. `update` changes values (validated, all or nothing,
with history); the cache of every process learns of it within a second.
"""

from crm_app.integrations import outbound_urls
from crm_app.services.settings.cache import publish_change
from crm_app.services.settings.catalog import BY_KEY, SPECS
from crm_app.services.settings.changes import history, rollback
from crm_app.services.settings.registry import INHERIT, SettingSpec
from crm_app.services.settings.store import MASK, ChangeRow, source, update, value, values
from crm_app.services.settings.views import SettingView, change, describe, platform_settings_page, settings_page

# The outbound-URL guard (integrations sit below services) reads the install's choice through the registry.
outbound_urls.use_private_policy(lambda: value(None, "system.allow_private_outbound_urls", tenant_id=None))

__all__ = ["BY_KEY", "INHERIT", "MASK", "SPECS", "ChangeRow", "SettingSpec", "SettingView", "change", "describe",
           "history", "platform_settings_page", "publish_change", "rollback", "settings_page", "source", "update",
           "value", "values"]
