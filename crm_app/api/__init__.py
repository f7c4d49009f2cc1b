"""Our own HTTP routes, mounted in front of Reflex's. Never imports Reflex."""
