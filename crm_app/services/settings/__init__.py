"""Settings with a source and a history: the registry, tenant overrides, rollback."""
